package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/apitap/apitap/analyzer/shape"
)

// inOrder sorts parameters: the path's first (in template order), then
// query, header and cookie ones by name.
var inOrder = map[string]int{"path": 0, "query": 1, "header": 2, "cookie": 3}

// parameters declares every {name} of the path (required, as OpenAPI
// demands) and the other parameters seen on any host. A parameter is
// required only if every operation merged here said so. When operations
// give different schemas for one parameter, the one with the smallest JSON
// wins: a choice that does not depend on the input's order.
func parameters(group []*observed) []any {
	type key struct{ in, name string }
	type acc struct {
		schema   map[string]any
		enc      []byte
		required int
	}
	accs := map[key]*acc{}
	for _, o := range group {
		seen := map[key]bool{}
		for _, p := range o.op.Params {
			in := strings.ToLower(strings.TrimSpace(p.In))
			name := strings.TrimSpace(p.Name)
			switch in {
			case "path":
				n, ok := o.rename[name]
				if !ok {
					continue // not in the template: a document cannot declare it
				}
				name = n
			case "header":
				name = canonicalHeader(name)
				// OpenAPI ignores these as parameters: they are described by
				// content types and security schemes.
				if name == "Accept" || name == "Content-Type" || name == "Authorization" {
					continue
				}
			case "query", "cookie":
			default:
				continue
			}
			if name == "" {
				continue
			}
			k := key{in, name}
			a := accs[k]
			if a == nil {
				a = &acc{}
				accs[k] = a
			}
			if p.Schema != nil {
				enc, err := json.Marshal(p.Schema)
				if err != nil {
					enc = nil // sorts first: Build's own marshal reports the error
				}
				if a.schema == nil || bytes.Compare(enc, a.enc) < 0 {
					a.schema, a.enc = p.Schema, enc
				}
			}
			if !seen[k] && p.Required {
				a.required++
			}
			seen[k] = true
		}
	}
	schemaOf := func(a *acc) map[string]any {
		if a == nil || a.schema == nil {
			return map[string]any{"type": "string"}
		}
		return a.schema
	}
	out := []any{}
	for _, n := range group[0].names {
		out = append(out, map[string]any{
			"name": n, "in": "path", "required": true, "schema": schemaOf(accs[key{"path", n}]),
		})
	}
	var rest []key
	for k := range accs {
		if k.in != "path" {
			rest = append(rest, k)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].in != rest[j].in {
			return inOrder[rest[i].in] < inOrder[rest[j].in]
		}
		return rest[i].name < rest[j].name
	})
	for _, k := range rest {
		a := accs[k]
		p := map[string]any{"name": k.name, "in": k.in, "schema": schemaOf(a)}
		if a.required == len(group) {
			p["required"] = true
		}
		out = append(out, p)
	}
	return out
}

// responses merges the responses of the group by status code. Status codes
// outside 100-599 (0: no response) are left out; with none left the
// operation gets a default response, which OpenAPI requires.
func responses(group []*observed) map[string]any {
	type acc struct {
		types  []string
		bodies []*shape.Shape
	}
	by := map[int]*acc{}
	for _, o := range group {
		for _, r := range o.op.Responses {
			if r.Status < 100 || r.Status > 599 {
				continue
			}
			a := by[r.Status]
			if a == nil {
				a = &acc{}
				by[r.Status] = a
			}
			a.types = append(a.types, r.ContentTypes...)
			a.bodies = append(a.bodies, r.Body)
		}
	}
	out := map[string]any{}
	if len(by) == 0 {
		out["default"] = map[string]any{"description": "No response observed."}
		return out
	}
	for code, a := range by {
		desc := http.StatusText(code)
		if desc == "" {
			desc = "Status " + strconv.Itoa(code)
		}
		r := map[string]any{"description": desc}
		if c := contentOf(a.types, merge(a.bodies)); len(c) > 0 {
			r["content"] = c
		}
		out[strconv.Itoa(code)] = r
	}
	return out
}

// merge is the union of the shapes, nil for none; shapes are not changed.
func merge(ss []*shape.Shape) *shape.Shape {
	var in []*shape.Shape
	for _, s := range ss {
		if s != nil && s.Count() > 0 {
			in = append(in, s)
		}
	}
	switch len(in) {
	case 0:
		return nil
	case 1:
		return in[0]
	}
	f := in[0]
	m := &shape.Shape{RequiredRatio: f.RequiredRatio, MaxDepth: f.MaxDepth, MaxProperties: f.MaxProperties, MaxItems: f.MaxItems, MaxNodes: f.MaxNodes}
	for _, s := range in {
		m.Merge(s)
	}
	return m
}

// contentOf is a content map: one media type object per content type seen,
// with the JSON schema inferred from the bodies for JSON types, the root
// element for XML types, a string for text. A body that parsed as JSON (or
// XML) with no such content type recorded adds application/json (or
// application/xml): the body says what it is.
func contentOf(types []string, body *shape.Shape) map[string]any {
	set := map[string]bool{}
	for _, t := range types {
		if mt := mediaType(t); mt != "" {
			set[mt] = true
		}
	}
	var schema map[string]any
	var roots []string
	if body != nil {
		schema = body.Schema()
		roots = body.XMLRoots()
	}
	hasJSON, hasXML := false, false
	for t := range set {
		hasJSON = hasJSON || isJSON(t)
		hasXML = hasXML || isXML(t)
	}
	if len(schema) > 0 && !hasJSON {
		set["application/json"] = true
	}
	if len(roots) > 0 && !hasXML {
		set["application/xml"] = true
	}
	content := map[string]any{}
	for t := range set {
		m := map[string]any{}
		switch {
		case isJSON(t):
			if len(schema) > 0 {
				m["schema"] = schema
			}
		case isXML(t):
			if len(roots) > 0 {
				m["schema"] = xmlSchema(roots)
			}
		case strings.HasPrefix(t, "text/"):
			m["schema"] = map[string]any{"type": "string"}
		}
		content[t] = m
	}
	return content
}

// mediaType is type/subtype, lower case, without parameters; "" if t is
// not one.
func mediaType(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	t = strings.ToLower(strings.TrimSpace(t))
	typ, sub, ok := strings.Cut(t, "/")
	if !ok || !isToken(typ) || !isToken(sub) {
		return ""
	}
	return t
}

func isJSON(t string) bool {
	return strings.HasSuffix(t, "/json") || strings.HasSuffix(t, "+json")
}

func isXML(t string) bool {
	return strings.HasSuffix(t, "/xml") || strings.HasSuffix(t, "+xml")
}

// xmlSchema names the root element when there is one name (OpenAPI's xml
// object; the namespace must be an absolute URI), and is a bare object when
// the bodies had several roots.
func xmlSchema(roots []string) map[string]any {
	s := map[string]any{"type": "object"}
	if len(roots) != 1 {
		return s
	}
	name, ns := roots[0], ""
	if strings.HasPrefix(name, "{") {
		if i := strings.LastIndexByte(name, '}'); i > 0 {
			ns, name = name[1:i], name[i+1:]
		}
	}
	x := map[string]any{"name": name}
	if u, err := url.Parse(ns); err == nil && u.IsAbs() {
		x["namespace"] = ns
	}
	s["xml"] = x
	return s
}

// schemes collects the security schemes the operations use.
type schemes struct {
	defs map[string]any
}

func newSchemes() *schemes { return &schemes{defs: map[string]any{}} }

// requirements is an operation's security: one alternative per scheme
// seen, {} too when unauthenticated calls were seen, [] when only those
// were; nil (inherit, and there is no document default) when nothing is
// known.
func (s *schemes) requirements(group []*observed) []any {
	set := map[string]bool{}
	anon := false
	for _, o := range group {
		for _, a := range o.op.Auth {
			key, def, isAnon := parseAuth(a)
			switch {
			case isAnon:
				anon = true
			case def != nil:
				set[s.add(key, def)] = true
			}
		}
	}
	if !anon && len(set) == 0 {
		return nil
	}
	out := []any{}
	for _, k := range sortedKeys(set) {
		out = append(out, map[string]any{k: []any{}})
	}
	if anon && len(out) > 0 {
		out = append(out, map[string]any{})
	}
	return out
}

// add registers def under key, or under key_2, ... when two different
// schemes sanitize to the same key.
func (s *schemes) add(key string, def map[string]any) string {
	k := key
	for n := 2; ; n++ {
		old, ok := s.defs[k].(map[string]any)
		if !ok {
			s.defs[k] = def
			return k
		}
		if equalDefs(old, def) {
			return k
		}
		k = key + "_" + strconv.Itoa(n)
	}
}

func equalDefs(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// parseAuth maps an Auth entry to a security scheme.
func parseAuth(a string) (key string, def map[string]any, anon bool) {
	parts := strings.Split(strings.TrimSpace(a), ":")
	scheme, args := strings.ToLower(parts[0]), parts[1:]
	arg := strings.Join(args, ":")
	switch scheme {
	case "", "other": // nothing a security scheme could describe
		return "", nil, false
	case "none", "anonymous":
		return "", nil, true
	case "basic":
		return "basicAuth", map[string]any{"type": "http", "scheme": "basic"}, false
	case "bearer":
		return "bearerAuth", map[string]any{"type": "http", "scheme": "bearer"}, false
	case "jwt":
		return "jwtAuth", map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, false
	case "apikey", "api_key", "api-key":
		in, name := "header", arg
		if len(args) >= 2 {
			if l := strings.ToLower(args[0]); l == "header" || l == "query" || l == "cookie" {
				in, name = l, strings.Join(args[1:], ":")
			}
		}
		if name == "" {
			name = "X-API-Key" // the sensor did not say which header
		}
		return "apiKey" + words(in, true) + "_" + keyChars(name),
			map[string]any{"type": "apiKey", "in": in, "name": name}, false
	case "cookie", "session":
		name := arg
		if name == "" {
			name = "session" // the sensor did not say which cookie
		}
		return "cookie_" + keyChars(name), map[string]any{"type": "apiKey", "in": "cookie", "name": name}, false
	}
	if !isToken(scheme) {
		return "", nil, false
	}
	// Another HTTP authentication scheme (digest, negotiate, ntlm, ...).
	return keyChars(scheme) + "Auth", map[string]any{"type": "http", "scheme": scheme}, false
}

// keyChars makes s fit a component key, ^[a-zA-Z0-9._-]+$.
func keyChars(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
