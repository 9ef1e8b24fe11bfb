package shape

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func schemaJSON(t *testing.T, s *Shape) string {
	t.Helper()
	b, err := json.Marshal(s.Schema())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func observe(t *testing.T, s *Shape, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if !s.ObserveJSON([]byte(b)) {
			t.Fatalf("ObserveJSON(%q) = false", b)
		}
	}
}

func TestSchema(t *testing.T) {
	for _, tc := range []struct {
		bodies []string
		want   string
	}{
		{[]string{`1`, `2`}, `{"type":"integer"}`},
		{[]string{`1`, `2.5`}, `{"type":"number"}`},
		{[]string{`1e3`}, `{"type":"number"}`},
		{[]string{`"a"`, `null`}, `{"type":["string","null"]}`},
		{[]string{`true`, `"x"`, `{}`, `[]`, `null`, `3`}, `{"type":["object","array","string","integer","boolean","null"]}`},
		{[]string{`[]`}, `{"type":"array"}`},
		{[]string{`[1,"a",null]`}, `{"items":{"type":["string","integer","null"]},"type":"array"}`},
		{[]string{`{"a":{"b":[{"c":1}]}}`}, `{"properties":{"a":{"properties":{"b":{"items":{"properties":{"c":{"type":"integer"}},"required":["c"],"type":"object"},"type":"array"}},"required":["b"],"type":"object"}},"required":["a"],"type":"object"}`},
		{[]string{`{"a":1}`, `{"b":"x"}`}, `{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}`},
		{[]string{`{"a":1}`, `[1]`}, `{"items":{"type":"integer"},"properties":{"a":{"type":"integer"}},"required":["a"],"type":["object","array"]}`},
		// escapes in names and strings are decoded before use
		{[]string{`{"a\u00e9\"":"http:\/\/example.com\/x"}`}, `{"properties":{"aé\"":{"format":"uri","type":"string"}},"required":["aé\""],"type":"object"}`},
		// a key given twice in one object is present once
		{[]string{`{"a":1,"a":2}`, `{"b":1}`}, `{"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"type":"object"}`},
	} {
		var s Shape
		observe(t, &s, tc.bodies...)
		if got := schemaJSON(t, &s); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.bodies, got, tc.want)
		}
		if s.Count() != uint64(len(tc.bodies)) {
			t.Errorf("%q: Count %d", tc.bodies, s.Count())
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   string // "" for none
	}{
		{[]string{"2024-02-29T23:59:60Z", "2024-01-01t00:00:00.123456+05:30"}, "date-time"},
		{[]string{"2023-02-29T00:00:00Z"}, ""}, // no such day
		{[]string{"2024-01-01 00:00:00Z"}, ""},
		{[]string{"2024-01-01T00:00:00"}, ""}, // no offset
		{[]string{"2024-12-31", "2000-02-29"}, "date"},
		{[]string{"2024-13-01"}, ""},
		{[]string{"1900-02-29"}, ""},
		{[]string{"a@b.co", "first.last+tag@mail.example.org"}, "email"},
		{[]string{"a@b"}, ""},
		{[]string{"a..b@c.com"}, ""},
		{[]string{"a@b.com", "x"}, ""}, // every string must match
		{[]string{"123e4567-e89b-12d3-a456-426614174000", "ABCDEF01-2345-6789-ABCD-EF0123456789"}, "uuid"},
		{[]string{"123e4567e89b12d3a456426614174000"}, ""},
		{[]string{"https://example.com/a?b=c#d", "http://10.0.0.1:8080/", "s3://bucket/k%20ey"}, "uri"},
		{[]string{"status:ok"}, ""},
		{[]string{"http://exa mple.com"}, ""},
		{[]string{"file:///etc"}, ""},
		{[]string{"http://x/%zz"}, ""},
		{[]string{"10.0.0.1", "255.255.255.255", "0.0.0.0"}, "ipv4"},
		{[]string{"10.0.0.256"}, ""},
		{[]string{"10.0.0.01"}, ""},
		{[]string{"1.2.3"}, ""},
		{[]string{"::1", "2001:db8::8a2e:370:7334", "::ffff:10.0.0.1"}, "ipv6"},
		{[]string{"fe80::1%eth0"}, ""},
		{[]string{"12:30"}, ""},
		{[]string{""}, ""},
	} {
		var s Shape
		for _, v := range tc.values {
			b, _ := json.Marshal(v)
			observe(t, &s, string(b))
		}
		got, _ := s.Schema()["format"].(string)
		if got != tc.want {
			t.Errorf("%q: format %q, want %q", tc.values, got, tc.want)
		}
	}
}

func TestRequiredRatio(t *testing.T) {
	var s Shape
	for i := 0; i < 20; i++ {
		switch {
		case i < 19:
			observe(t, &s, `{"a":1,"b":2,"c":3}`)
		default:
			observe(t, &s, `{"a":1}`)
		}
	}
	observe(t, &s, `{"b":2}`)
	// a: 20/21 (0.952) required; b: 20/21; c: 19/21 (0.905) not.
	if got := s.Schema()["required"]; !reflect.DeepEqual(got, []any{"a", "b"}) {
		t.Errorf("required %v", got)
	}
	s.RequiredRatio = 0.9
	if got := s.Schema()["required"]; !reflect.DeepEqual(got, []any{"a", "b", "c"}) {
		t.Errorf("ratio 0.9: required %v", got)
	}
	s.RequiredRatio = 1
	if got := s.Schema()["required"]; got != nil {
		t.Errorf("ratio 1: required %v", got)
	}

	// Exactly 19 of 20 is 0.95: required despite float rounding.
	var e Shape
	for i := 0; i < 19; i++ {
		observe(t, &e, `{"a":1}`)
	}
	observe(t, &e, `{}`)
	if got := e.Schema()["required"]; !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("19/20: required %v", got)
	}
}

func TestNotJSON(t *testing.T) {
	for _, b := range []string{
		``, `   `, `hello`, `{"a":1}}`, `{"a" 1}`, `{a:1}`, `[1,]`, `{"a":1,}`, `01`, `1.`, `-`, `.5`, `tru`,
		`"abc`, `"a\x"`, "\"a\x01\"", `{"a":1} {"b":2}`, `{"a":[1,2}`, `nul`, `[1 2]`, `{"a":1.e5}`,
		`<?xml version="1.0"?><a/>`, `{"a":"\u12G4"}`, `[-]`, `[1e+]x`,
	} {
		var s Shape
		if s.ObserveJSON([]byte(b)) {
			t.Errorf("ObserveJSON(%q) = true", b)
		}
		if s.Count() != 0 || schemaJSON(t, &s) != `{}` {
			t.Errorf("%q: recorded something: %d %s", b, s.Count(), schemaJSON(t, &s))
		}
	}
}

func TestTruncated(t *testing.T) {
	var s Shape
	observe(t, &s, `{"a":1,"b":"x","c":[1,2]}`, `{"a":1,"b":"y","c":[3]}`)
	// Cut bodies: what parsed counts, the cut object does not lower the
	// required ratio of b and c, and the cut number 12 is dropped.
	for _, b := range []string{`{"a":1,"b":"z`, `{"a":1,"b":"z","c":[12`, `{"a":1,"b"`, `{"a":1,"b":`, `{"a":tr`, `[{"a":1},{"a":`} {
		if !s.ObserveJSON([]byte(b)) {
			t.Fatalf("ObserveJSON(%q) = false", b)
		}
	}
	want := `{"items":{"properties":{"a":{"type":"integer"}},"required":["a"],"type":"object"},"properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"items":{"type":"integer"},"type":"array"}},"required":["a","b","c"],"type":["object","array"]}`
	if got := schemaJSON(t, &s); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	a := s.root.props[0]
	if a.name != "a" || a.n != 6 || a.integer != 6 {
		t.Errorf("a: %+v", a.stats)
	}
	if c := s.root.props[2]; c.array != 3 || c.elems.n != 3 {
		t.Errorf("c: %+v items %+v", c.stats, c.elems.stats)
	}
}

func TestLimits(t *testing.T) {
	t.Run("properties", func(t *testing.T) {
		s := Shape{MaxProperties: 3}
		observe(t, &s, `{"e":1,"d":"x","c":1,"b":1,"a":1}`, `{"f":null}`)
		want := `{"additionalProperties":{"type":["string","integer","null"]},"properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"type":"object"}`
		if got := schemaJSON(t, &s); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("depth", func(t *testing.T) {
		s := Shape{MaxDepth: 2}
		observe(t, &s, `{"a":{"b":{"c":{"d":1}},"l":[[1]]}}`)
		want := `{"properties":{"a":{"properties":{"b":{"type":"object"},"l":{"type":"array"}},"required":["b","l"],"type":"object"}},"required":["a"],"type":"object"}`
		if got := schemaJSON(t, &s); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("items", func(t *testing.T) {
		s := Shape{MaxItems: 2}
		observe(t, &s, `[1,2,"x",null]`, `[[]]`)
		if got, want := schemaJSON(t, &s), `{"items":{"type":["array","integer"]},"type":"array"}`; got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if e := s.root.elems; e.n != 3 {
			t.Errorf("sampled %d elements, want 3", e.n)
		}
	})
	t.Run("nodes", func(t *testing.T) {
		s := Shape{MaxNodes: 4}
		// Paths in key order: a, b, c, d, e (depth 1), then b[] and d.x
		// (depth 2): d.x is kept until a and b come, then its count moves to
		// d's overflow; b[] and e never fit.
		observe(t, &s, `{"d":{"x":1},"c":1}`, `{"b":[1],"a":"s"}`, `{"e":true,"a":"t"}`)
		if s.nodes != 4 || len(s.heap) != 4 {
			t.Fatalf("%d nodes, heap %d", s.nodes, len(s.heap))
		}
		want := `{"additionalProperties":{"type":"boolean"},"properties":{"a":{"type":"string"},"b":{"type":"array"},"c":{"type":"integer"},"d":{"additionalProperties":{"type":"integer"},"type":"object"}},"type":"object"}`
		if got := schemaJSON(t, &s); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		// A wide dictionary body: bounded, and the smallest names win.
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < 5000; i++ {
			fmt.Fprintf(&b, `"k%05d":{"v":%d},`, 4999-i, i)
		}
		b.WriteString(`"z":1}`)
		var w Shape
		observe(t, &w, b.String())
		if w.nodes != DefaultMaxNodes {
			t.Fatalf("%d nodes", w.nodes)
		}
		ps := sortedProps(w.root)
		if ps[0].name != "k00000" || ps[len(ps)-1].name != "k00999" {
			t.Errorf("kept %s..%s", ps[0].name, ps[len(ps)-1].name)
		}
		add := w.Schema()["additionalProperties"].(map[string]any)
		if !reflect.DeepEqual(add["type"], []any{"object", "integer"}) {
			t.Errorf("additionalProperties %v", add)
		}
		if got := len(w.Schema()["properties"].(map[string]any)); got != DefaultMaxProperties {
			t.Errorf("%d properties", got)
		}
		if w.root.n != 1 || w.root.over.n != 4001 {
			t.Errorf("root n %d over %d", w.root.n, w.root.over.n)
		}
	})
	t.Run("names", func(t *testing.T) {
		var s Shape
		long := strings.Repeat("n", maxName+1)
		observe(t, &s, `{"`+long+`":1,"\udc00x":"a","ok":"b"}`)
		if got, want := schemaJSON(t, &s), `{"additionalProperties":{"type":"integer"},"properties":{"ok":{"type":"string"},"�x":{"type":"string"}},"required":["ok","�x"],"type":"object"}`; got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		var r Shape
		observe(t, &r, "{\"\xff\":1}")
		if got, want := schemaJSON(t, &r), `{"additionalProperties":{"type":"integer"},"type":"object"}`; got != want {
			t.Errorf("invalid UTF-8 name: got %s", got)
		}
	})
}

func TestXML(t *testing.T) {
	var s Shape
	for _, b := range []string{
		`<?xml version="1.0" encoding="ISO-8859-1"?><!-- c --><!DOCTYPE x><order id="1"><a/></order>`,
		`<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>`,
		`<order>`, // cut: the root started
	} {
		if !s.ObserveXML([]byte(b)) {
			t.Errorf("ObserveXML(%q) = false", b)
		}
	}
	for _, b := range []string{``, `{"a":1}`, `hello`, `<`, `<?xml version="1.0"?>`} {
		if s.ObserveXML([]byte(b)) {
			t.Errorf("ObserveXML(%q) = true", b)
		}
	}
	want := []string{"order", "{http://www.w3.org/2003/05/soap-envelope}Envelope"}
	if got := s.XMLRoots(); !reflect.DeepEqual(got, want) {
		t.Errorf("XMLRoots %q", got)
	}
	if s.Count() != 3 || schemaJSON(t, &s) != `{}` {
		t.Errorf("Count %d, schema %s", s.Count(), schemaJSON(t, &s))
	}
	// Bounded: the smallest names are kept, the rest counted.
	var m Shape
	for i := 40; i > 0; i-- {
		m.ObserveXML([]byte(fmt.Sprintf("<r%02d/>", i)))
	}
	if got := m.XMLRoots(); len(got) != maxXMLRoots || got[0] != "r01" || got[maxXMLRoots-1] != "r16" || m.Count() != 40 {
		t.Errorf("XMLRoots %q, Count %d", got, m.Count())
	}
}

// dump is the whole recorded state, canonically ordered: two Shapes with the
// same dump render the same schema under any settings.
func dump(s *Shape) string {
	var b strings.Builder
	fmt.Fprintf(&b, "json %d xml %v other %d nodes %d\n", s.json, s.XMLRoots(), s.xml.other, s.nodes)
	roots := s.XMLRoots()
	for _, r := range roots {
		fmt.Fprintf(&b, "xml %s %d\n", r, s.xml.names[r])
	}
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		fmt.Fprintf(&b, "%s %+v over %+v present %d closed %d\n", path, n.stats, n.over, n.present, n.closed)
		if n.elems != nil {
			walk(n.elems, path+"[]")
		}
		for _, p := range sortedProps(n) {
			walk(p, path+"."+p.name)
		}
	}
	if s.root != nil {
		walk(s.root, "$")
	}
	return b.String()
}

// randomBody makes JSON bodies of a few recurring shapes with variations:
// shared names, optional and nullable properties, mixed types, formats,
// deep nesting and long arrays (past the default limits), and now and then
// a body cut short or broken.
func randomBody(r *rand.Rand) []byte {
	var b strings.Builder
	var value func(depth int)
	names := []string{"id", "name", "email", "created", "tags", "items", "meta", "next", "a", "b", "c", "ip", "price", "ok"}
	value = func(depth int) {
		k := r.IntN(10)
		if depth > 9 {
			k = r.IntN(5)
		}
		switch k {
		case 0:
			b.WriteString("null")
		case 1:
			fmt.Fprintf(&b, "%d", r.IntN(1000)-500)
		case 2:
			fmt.Fprintf(&b, "%.2f", r.Float64()*100)
		case 3:
			b.WriteString([]string{"true", "false"}[r.IntN(2)])
		case 4:
			s := []string{
				`"2024-05-06T07:08:09Z"`, `"2024-05-06"`, `"x@y.org"`, `"123e4567-e89b-12d3-a456-426614174000"`,
				`"https://example.com/p"`, `"10.1.2.3"`, `"::1"`, `"plain"`, `""`, `"caf\u00e9"`,
			}
			b.WriteString(s[r.IntN(len(s))])
		case 5, 6:
			n := r.IntN(3)
			if r.IntN(8) == 0 {
				n = 30 + r.IntN(10)
			}
			b.WriteByte('[')
			for i := 0; i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				value(depth + 1)
			}
			b.WriteByte(']')
		default:
			n := r.IntN(6)
			b.WriteByte('{')
			for i := 0; i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				name := names[r.IntN(len(names))]
				if r.IntN(6) == 0 {
					name = fmt.Sprintf("k%d", r.IntN(300))
				}
				fmt.Fprintf(&b, "%q:", name)
				value(depth + 1)
			}
			b.WriteByte('}')
		}
	}
	if r.IntN(3) == 0 {
		value(0)
	} else {
		value(8) // mostly containers near the root
	}
	out := []byte(b.String())
	switch r.IntN(10) {
	case 0:
		out = out[:r.IntN(len(out)+1)] // cut short
	case 1:
		if len(out) > 2 {
			out[r.IntN(len(out))] = '}' // most likely broken
		}
	}
	return out
}

// TestMergeOrder checks that the same observations give the same Shape in
// any order and merge tree, with default limits and with limits so small
// that evictions, overflow and sampling happen all the time.
func TestMergeOrder(t *testing.T) {
	limits := []Shape{
		{},
		{MaxNodes: 12, MaxProperties: 3, MaxDepth: 3, MaxItems: 2},
		{MaxNodes: 3, MaxDepth: 1, MaxItems: 1},
		{MaxNodes: 40, MaxProperties: 5, MaxItems: 4},
	}
	for li, lim := range limits {
		for seed := uint64(0); seed < 25; seed++ {
			r := rand.New(rand.NewPCG(seed, uint64(li)))
			bodies := make([][]byte, 1+r.IntN(60))
			for i := range bodies {
				bodies[i] = randomBody(r)
				if r.IntN(15) == 0 {
					bodies[i] = []byte(fmt.Sprintf(`<root%d/>`, r.IntN(20)))
				}
			}
			fresh := func() *Shape {
				s := lim
				return &s
			}
			obs := func(s *Shape, b []byte) {
				if !s.ObserveJSON(b) {
					s.ObserveXML(b)
				}
			}
			ref := fresh()
			for _, b := range bodies {
				obs(ref, b)
			}
			want := dump(ref)
			wantSchema := schemaJSON(t, ref)
			for trial := 0; trial < 6; trial++ {
				perm := r.Perm(len(bodies))
				// Random groups observed separately (some then merged into an
				// empty Shape), then merged pairwise in a random tree.
				var parts []*Shape
				for i := 0; i < len(perm); {
					n := 1 + r.IntN(8)
					s := fresh()
					for ; n > 0 && i < len(perm); n, i = n-1, i+1 {
						obs(s, bodies[perm[i]])
					}
					if r.IntN(3) == 0 {
						e := fresh()
						e.Merge(s)
						s = e
					}
					parts = append(parts, s)
				}
				for len(parts) > 1 {
					i := r.IntN(len(parts))
					j := r.IntN(len(parts) - 1)
					if j >= i {
						j++
					}
					parts[i].Merge(parts[j])
					parts = append(parts[:j], parts[j+1:]...)
				}
				got := parts[0]
				if d := dump(got); d != want {
					t.Fatalf("limits %d seed %d trial %d: merged state differs\n got:\n%s\nwant:\n%s", li, seed, trial, d, want)
				}
				if s := schemaJSON(t, got); s != wantSchema {
					t.Fatalf("limits %d seed %d trial %d: schema differs", li, seed, trial)
				}
				if got.nodes > lim.limit(lim.MaxNodes, DefaultMaxNodes) {
					t.Fatalf("%d nodes", got.nodes)
				}
			}
		}
	}
}

// TestMergeSelf: merging a Shape into itself doubles every count.
func TestMergeSelf(t *testing.T) {
	var s, twice Shape
	for _, b := range []string{`{"a":[1,{"b":null}]}`, `{"a":"2024-01-01"}`, `[1]`} {
		observe(t, &s, b)
		observe(t, &twice, b, b)
	}
	s.ObserveXML([]byte(`<x/>`))
	twice.ObserveXML([]byte(`<x/>`))
	twice.ObserveXML([]byte(`<x/>`))
	s.Merge(&s)
	if dump(&s) != dump(&twice) {
		t.Errorf("self merge:\n%s\nwant\n%s", dump(&s), dump(&twice))
	}
}

// TestScanAgreesWithEncodingJSON: the scanner accepts exactly what
// encoding/json accepts, apart from prefixes of JSON (cut bodies).
func TestScanAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 3000; i++ {
		checkScan(t, randomBody(r))
	}
}

func checkScan(t *testing.T, data []byte) {
	t.Helper()
	var sc scanner
	ok := sc.scan(data, DefaultMaxDepth, DefaultMaxItems)
	valid := json.Valid(data)
	if valid && (!ok || sc.truncated) {
		t.Fatalf("%q: valid JSON, scan ok=%v truncated=%v", data, ok, sc.truncated)
	}
	if ok && !sc.truncated && !valid {
		t.Fatalf("%q: invalid JSON accepted", data)
	}
	if ok && sc.truncated {
		// A cut body must be a prefix of some JSON: of itself, closed.
		closed := closeJSON(data)
		if closed != nil && !json.Valid(closed) {
			t.Fatalf("%q: accepted as cut, but %q is not JSON", data, closed)
		}
	}
}

// closeJSON completes a prefix the simple way (close the open string and
// containers) when that is enough to make it whole; nil when not (a cut in
// the middle of a literal, number or escape, or after a name).
func closeJSON(d []byte) []byte {
	var stack []byte
	inStr, esc, hex := false, false, 0
	for _, c := range d {
		switch {
		case hex > 0:
			hex--
		case inStr && esc:
			esc = false
			if c == 'u' {
				hex = 4
			}
		case inStr && c == '\\':
			esc = true
		case inStr && c == '"':
			inStr = false
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			stack = append(stack, c)
		case c == '}' || c == ']':
			stack = stack[:len(stack)-1]
		}
	}
	if esc || hex > 0 {
		return nil
	}
	out := append([]byte(nil), d...)
	if inStr {
		out = append(out, '"')
	}
	t := strings.TrimRight(string(out), " \t\r\n")
	if t == "" || strings.HasSuffix(t, ",") || strings.HasSuffix(t, ":") {
		return nil
	}
	last := t[len(t)-1]
	if last != '"' && last != '}' && last != ']' && last != '{' && last != '[' {
		return nil // a literal or number
	}
	if last == '"' && len(stack) > 0 && stack[len(stack)-1] == '{' {
		// Could be a name; only a value closes cleanly. Try both.
		if json.Valid(append([]byte(t), closers(stack)...)) {
			return append([]byte(t), closers(stack)...)
		}
		return append([]byte(t+":null"), closers(stack)...)
	}
	return append([]byte(t), closers(stack)...)
}

func closers(stack []byte) []byte {
	var c []byte
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == '{' {
			c = append(c, '}')
		} else {
			c = append(c, ']')
		}
	}
	return c
}

func TestSortedTypes(t *testing.T) {
	// The type array follows typeOrder whatever the order seen.
	var s Shape
	observe(t, &s, `null`, `false`, `1`, `"s"`, `[]`, `{}`)
	ty := s.Schema()["type"].([]any)
	var names []string
	for _, v := range ty {
		names = append(names, v.(string))
	}
	if !sort.SliceIsSorted(names, func(i, j int) bool {
		return indexOf(names[i]) < indexOf(names[j])
	}) {
		t.Errorf("type order %v", names)
	}
}

func indexOf(t string) int {
	for i, n := range typeOrder {
		if n == t {
			return i
		}
	}
	return -1
}
