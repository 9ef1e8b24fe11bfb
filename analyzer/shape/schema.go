package shape

// Schema renders the JSON values seen as a JSON Schema 2020-12 object, as
// used by OpenAPI 3.1: "type" (an array such as ["string","null"] when
// several types were seen; "integer" only when no number had a fraction or
// exponent), "format" on strings when every string matched one,
// "properties" and "required" for objects, "items" for arrays, and
// "additionalProperties" for the property names past MaxProperties or not
// kept by MaxNodes (their types only). Nothing seen gives {}, which accepts
// anything. The result is a fresh map the caller may change.
func (s *Shape) Schema() map[string]any {
	if s.root == nil || s.root.n == 0 {
		return map[string]any{}
	}
	return s.schema(s.root)
}

// typeOrder is the order of "type" arrays: containers, scalars, null last.
var typeOrder = [...]string{"object", "array", "string", "number", "integer", "boolean", "null"}

func flatSchema(st *stats) map[string]any {
	m := map[string]any{}
	var types []string
	for _, t := range typeOrder {
		var c uint64
		switch t {
		case "object":
			c = st.object
		case "array":
			c = st.array
		case "string":
			c = st.str
		case "number":
			c = st.number
		case "integer":
			if st.number == 0 { // an integer is a number: one type covers both
				c = st.integer
			}
		case "boolean":
			c = st.boolean
		case "null":
			c = st.null
		}
		if c > 0 {
			types = append(types, t)
		}
	}
	switch len(types) {
	case 0:
		return m
	case 1:
		m["type"] = types[0]
	default:
		a := make([]any, len(types))
		for i, t := range types {
			a[i] = t
		}
		m["type"] = a
	}
	if st.str > 0 {
		for _, f := range formatNames {
			if st.notFormats&f.f == 0 {
				m["format"] = f.name
				break
			}
		}
	}
	return m
}

func (s *Shape) schema(n *node) map[string]any {
	m := flatSchema(&n.stats)
	if n.object > 0 {
		ps := sortedProps(n)
		rest := n.over
		if max := s.limit(s.MaxProperties, DefaultMaxProperties); len(ps) > max {
			for _, p := range ps[max:] {
				rest.add(&p.stats)
			}
			ps = ps[:max]
		}
		ratio := s.RequiredRatio
		if ratio <= 0 {
			ratio = DefaultRequiredRatio
		}
		if len(ps) > 0 {
			props := make(map[string]any, len(ps))
			var req []any
			for _, p := range ps {
				props[p.name] = s.schema(p)
				// The epsilon keeps 19 of 20 at 0.95 required despite rounding.
				if n.closed > 0 && float64(p.present)/float64(n.closed) >= ratio-1e-9 {
					req = append(req, p.name)
				}
			}
			m["properties"] = props
			if len(req) > 0 {
				m["required"] = req
			}
		}
		if rest.n > 0 {
			m["additionalProperties"] = flatSchema(&rest)
		}
	}
	if n.array > 0 && n.elems != nil && n.elems.n > 0 {
		m["items"] = s.schema(n.elems)
	}
	return m
}
