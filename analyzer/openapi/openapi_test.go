package openapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
)

var update = flag.Bool("update", false, "rewrite testdata/inventory.golden.json")

func build(t *testing.T, ops []Operation) []byte {
	t.Helper()
	out, err := Build("Observed", "1", ops)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// validate fails t on any problem the document has.
func validate(t *testing.T, out []byte) {
	t.Helper()
	for _, p := range problems(out) {
		t.Error(p)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// problems runs the document through libopenapi-validator (the OpenAPI 3.1
// JSON Schema of the specification) and libopenapi's model builder, then
// checks what a JSON Schema cannot express and a valid document requires.
func problems(out []byte) []string {
	var ps []string
	add := func(f string, a ...any) { ps = append(ps, fmt.Sprintf(f, a...)) }
	doc, err := libopenapi.NewDocument(out)
	if err != nil {
		return []string{err.Error()}
	}
	if v := doc.GetSpecInfo().SpecFormat; !strings.HasPrefix(v, "oas3") || doc.GetVersion() != "3.1.0" {
		add("read as %s %s", v, doc.GetVersion())
	}
	v, errs := validator.NewValidator(doc)
	for _, e := range errs {
		add("validator: %v", e)
	}
	if v != nil {
		if _, verrs := v.ValidateDocument(); len(verrs) > 0 {
			for _, e := range verrs {
				add("%s: %s (%v)", e.Message, e.Reason, e.SchemaValidationErrors)
			}
		}
	}
	if _, err := doc.BuildV3Model(); err != nil {
		add("model: %v", err)
	}
	var d map[string]any
	if err := json.Unmarshal(out, &d); err != nil {
		return append(ps, err.Error())
	}
	return append(ps, semantic(d)...)
}

var param = regexp.MustCompile(`\{([^{}/]+)\}`)

// semantic checks the rules of the OpenAPI text that its JSON Schema does
// not: every path template parameter is declared in: path, required, in
// every operation; parameters are unique per (name, in); operationIds are
// unique; no two paths differ only in parameter names; every security
// requirement names a defined scheme; and every schema is a valid JSON
// Schema 2020-12 (compiled against the meta-schema).
func semantic(d map[string]any) []string {
	var ps []string
	add := func(f string, a ...any) { ps = append(ps, fmt.Sprintf(f, a...)) }
	ids := map[string]bool{}
	skeletons := map[string]string{}
	comps, _ := d["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	paths, _ := d["paths"].(map[string]any)
	for path, it := range paths {
		sk := param.ReplaceAllString(path, "{}")
		if other, ok := skeletons[sk]; ok {
			add("paths %s and %s are the same template", path, other)
		}
		skeletons[sk] = path
		var want []string
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		for method, o := range it.(map[string]any) {
			if !methods[strings.ToUpper(method)] {
				continue
			}
			op := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if ids[id] {
				add("operationId %s twice", id)
			}
			ids[id] = true
			seen := map[string]bool{}
			var got []string
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := p.(map[string]any)
				k := fmt.Sprint(p["in"], " ", p["name"])
				if seen[k] {
					add("%s %s: parameter %s twice", method, path, k)
				}
				seen[k] = true
				if p["in"] == "path" {
					got = append(got, fmt.Sprint(p["name"]))
					if p["required"] != true {
						add("%s %s: path parameter %s not required", method, path, p["name"])
					}
				}
				ps = append(ps, schemaProblems(p["schema"])...)
			}
			if !reflect.DeepEqual(got, want) {
				add("%s %s: path parameters %v, template has %v", method, path, got, want)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				for _, mt := range rb["content"].(map[string]any) {
					ps = append(ps, schemaProblems(mt.(map[string]any)["schema"])...)
				}
			}
			rs, _ := op["responses"].(map[string]any)
			for _, r := range rs {
				c, _ := r.(map[string]any)["content"].(map[string]any)
				for _, mt := range c {
					ps = append(ps, schemaProblems(mt.(map[string]any)["schema"])...)
				}
			}
			sec, _ := op["security"].([]any)
			for _, req := range sec {
				for name := range req.(map[string]any) {
					if schemes[name] == nil {
						add("%s %s: security scheme %s not defined", method, path, name)
					}
				}
			}
		}
	}
	return ps
}

func schemaProblems(s any) []string {
	if s == nil {
		return nil
	}
	raw, _ := json.Marshal(s)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []string{err.Error()}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem://s.json", doc); err != nil {
		return []string{err.Error()}
	}
	if _, err := c.Compile("mem://s.json"); err != nil {
		return []string{fmt.Sprintf("schema %s: %v", raw, err)}
	}
	return nil
}

// TestProblemsCatch: the checks above find each kind of broken document,
// so a green TestValidDocument means something.
func TestProblemsCatch(t *testing.T) {
	good := build(t, inventory(traffic(1)))
	if ps := problems(good); len(ps) > 0 {
		t.Fatalf("good document: %v", ps)
	}
	for name, breakIt := range map[string]func(d map[string]any){
		"no info":       func(d map[string]any) { delete(d, "info") },
		"relative path": func(d map[string]any) { p := d["paths"].(map[string]any); p["x"] = p["/health"] },
		"no path param": func(d map[string]any) { op(d, "/api/v1/users/{id}", "get")["parameters"] = []any{} },
		"operationId twice": func(d map[string]any) {
			op(d, "/health", "get")["operationId"] = op(d, "/metrics", "get")["operationId"]
		},
		"undefined scheme": func(d map[string]any) { op(d, "/health", "get")["security"] = []any{map[string]any{"nope": []any{}}} },
		"no description": func(d map[string]any) {
			delete(op(d, "/metrics", "get")["responses"].(map[string]any)["default"].(map[string]any), "description")
		},
		"bad schema type": func(d map[string]any) {
			op(d, "/api/v1/search", "get")["parameters"].([]any)[0].(map[string]any)["schema"] = map[string]any{"type": "strin"}
		},
		"bad scheme": func(d map[string]any) {
			d["components"].(map[string]any)["securitySchemes"].(map[string]any)["basicAuth"] = map[string]any{"type": "magic"}
		},
		"same template": func(d map[string]any) {
			p := d["paths"].(map[string]any)
			p["/api/v1/users/{uid}"] = p["/api/v1/users/{id}"]
		},
		"status as response": func(d map[string]any) {
			op(d, "/metrics", "get")["responses"].(map[string]any)["600"] = map[string]any{"description": "x"}
		},
	} {
		d := decode(t, good)
		breakIt(d)
		b, _ := json.Marshal(d)
		if ps := problems(b); len(ps) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

func op(d map[string]any, path, method string) map[string]any {
	return d["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
}

func TestValidDocument(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		validate(t, build(t, inventory(traffic(seed))))
	}
	// Edge cases: no operations; odd templates, hosts, methods and statuses.
	validate(t, build(t, nil))
	validate(t, build(t, []Operation{
		{Method: "get", Path: ""},
		{Host: "h", Method: "GET", Path: "/a/{id}/{id}/b{/c}?x=1", Params: []Param{{Name: "id", In: "path"}, {Name: "nope", In: "path"}, {Name: "x", In: "body"}}},
		{Host: "h:8443", Method: "POST", Path: "/a/{x}/{y}/b%7B/c%7D", Responses: []Response{{Status: 0}, {Status: 999}, {Status: 302}}},
		{Host: "[2001:db8::1]", Port: 443, Method: "GET", Path: "relative/{p}", Auth: []string{"none"}},
		{Host: "h", Port: 80, Method: "M-SEARCH", Path: "/*", Auth: []string{"apikey", "cookie", "weird scheme", "apikey:cookie:c", "hoba", "other"}},
		{Host: "h", Method: "OPTIONS", Path: "/{a.b}", Params: []Param{{Name: "Accept", In: "header"}, {Name: "x-trace", In: "HEADER"}, {Name: "X-Trace", In: "header", Required: true}}},
	}))
}

// TestTrafficValidates is the end-to-end check: libopenapi-validator, given
// the exported document, accepts every exchange the document was inferred
// from (path and query parameters, credentials, request and response
// bodies against the inferred schemas).
func TestTrafficValidates(t *testing.T) {
	samples := traffic(7)
	out := build(t, inventory(samples))
	doc, err := libopenapi.NewDocument(out)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithStrictServerMatching(), config.WithXmlBodyValidation())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	checked := 0
	for _, s := range samples {
		if s.status == 0 || s.method == "PROPFIND" {
			continue // no response; not a method OpenAPI has
		}
		req := request(s)
		resp := &http.Response{StatusCode: s.status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(s.respBody)), Request: req}
		if s.respType != "" {
			resp.Header.Set("Content-Type", s.respType)
		}
		if ok, verrs := v.ValidateHttpRequestResponse(req, resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s %s -> %d: %s: %s %v", s.method, req.URL, s.status, e.Message, e.Reason, e.SchemaValidationErrors)
			}
			t.FailNow()
		}
		checked++
	}
	if checked < 200 {
		t.Fatalf("only %d exchanges checked", checked)
	}

	// And it does reject what the document does not allow.
	var user, search sample
	for _, s := range samples {
		if s.template == "/api/v1/users/{id}" && s.method == "GET" && s.status == 200 && user.path == "" {
			user = s
		}
		if s.template == "/api/v1/search" {
			search = s
		}
	}
	bad := map[string]sample{}
	s := user
	s.respBody = bytes.Replace(s.respBody, []byte(`"id":`), []byte(`"id":"x","was":`), 1)
	bad["id as a string"] = s
	s = user
	s.respBody = []byte(`{"name":"no id"}`)
	bad["required properties missing"] = s
	s = user
	s.respBody = bytes.Replace(s.respBody, []byte(`"email":"`), []byte(`"email":"not an email `), 1)
	bad["email format"] = s
	s = user
	s.path = "/api/v1/users/abc"
	bad["path parameter not an integer"] = s
	s = search
	s.query = map[string]string{"api_key": "k"}
	bad["required query parameter missing"] = s
	s = user
	s.status = 500
	bad["status never seen"] = s
	s = user
	s.method, s.host, s.port = "PATCH", "legacy.example.com", 8080
	bad["host without the operation"] = s
	s = search
	s.host = "legacy.example.com"
	bad["host without the path"] = s
	for name, s := range bad {
		req := request(s)
		resp := &http.Response{StatusCode: s.status, Header: http.Header{"Content-Type": {s.respType}}, Body: io.NopCloser(bytes.NewReader(s.respBody)), Request: req}
		if ok, _ := v.ValidateHttpRequestResponse(req, resp); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func request(s sample) *http.Request {
	u := &url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", s.host, s.port), Path: s.path}
	if s.port == 443 {
		u.Scheme, u.Host = "https", s.host
	}
	if strings.Contains(s.host, ":") {
		u.Host = fmt.Sprintf("[%s]:%d", s.host, s.port)
	}
	q := url.Values{}
	for k, v := range s.query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(s.method, u.String(), bytes.NewReader(s.reqBody))
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	if s.reqType != "" {
		req.Header.Set("Content-Type", s.reqType)
	}
	switch {
	case s.auth == "bearer" || s.auth == "jwt":
		req.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
	case s.auth == "basic":
		req.SetBasicAuth("u", "p")
	case s.auth == "apikey:X-Api-Key":
		req.Header.Set("X-Api-Key", "k")
	case strings.HasPrefix(s.auth, "cookie:"):
		req.AddCookie(&http.Cookie{Name: strings.TrimPrefix(s.auth, "cookie:"), Value: "v"})
	}
	return req
}

// TestDeterministic: the same operations in another order, with their
// lists in another order, give the same bytes; and those bytes are the
// reviewed golden file.
func TestDeterministic(t *testing.T) {
	ops := inventory(traffic(1))
	want := build(t, ops)
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		sh := append([]Operation(nil), ops...)
		r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		for i := range sh {
			o := &sh[i]
			o.Params = shuffled(r, o.Params)
			o.Responses = shuffled(r, o.Responses)
			o.Auth = shuffled(r, o.Auth)
			o.RequestContentTypes = shuffled(r, o.RequestContentTypes)
			for k := range o.Responses {
				o.Responses[k].ContentTypes = shuffled(r, o.Responses[k].ContentTypes)
			}
		}
		if got := build(t, sh); !bytes.Equal(got, want) {
			t.Fatalf("trial %d: output depends on input order", trial)
		}
	}
	const golden = "testdata/inventory.golden.json"
	if *update {
		if err := os.WriteFile(golden, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, want) {
		t.Errorf("output differs from %s (go test -run TestDeterministic -update to accept)", golden)
	}
}

func shuffled[T any](r *rand.Rand, s []T) []T {
	s = append([]T(nil), s...)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func TestMultiHost(t *testing.T) {
	d := decode(t, build(t, inventory(traffic(1))))
	servers := d["servers"].([]any)
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.(map[string]any)["url"].(string))
	}
	if want := []string{"http://10.0.0.5:9000", "http://[::1]:8081", "http://legacy.example.com:8080", "https://api.example.com"}; !reflect.DeepEqual(urls, want) {
		t.Errorf("servers %q", urls)
	}
	paths := d["paths"].(map[string]any)

	// /api/v1/users/{id} on two hosts: path-item servers list both, GET is
	// merged (zombie beats documented; both hosts' facts kept), PATCH is
	// on one host only and says so.
	users := paths["/api/v1/users/{id}"].(map[string]any)
	if _, ok := paths["/api/v1/users/{uid}"]; ok {
		t.Error("{uid} template not unified with {id}")
	}
	if got := urlsOf(users["servers"]); !reflect.DeepEqual(got, []string{"http://legacy.example.com:8080", "https://api.example.com"}) {
		t.Errorf("path-item servers %q", got)
	}
	get := users["get"].(map[string]any)
	if get["x-apitap-state"] != "zombie" || get["servers"] != nil {
		t.Errorf("merged get: state %v servers %v", get["x-apitap-state"], get["servers"])
	}
	hosts := get["x-apitap-hosts"].([]any)
	if len(hosts) != 2 || hosts[0].(map[string]any)["x-apitap-state"] != "zombie" || hosts[1].(map[string]any)["x-apitap-state"] != "documented" {
		t.Errorf("x-apitap-hosts %v", hosts)
	}
	sum := hosts[0].(map[string]any)["x-apitap-requests"].(float64) + hosts[1].(map[string]any)["x-apitap-requests"].(float64)
	if get["x-apitap-requests"].(float64) != sum {
		t.Errorf("requests %v, hosts sum %v", get["x-apitap-requests"], sum)
	}
	sec := fmt.Sprint(get["security"])
	if sec != "[map[basicAuth:[]] map[bearerAuth:[]]]" {
		t.Errorf("security %s", sec)
	}
	patch := users["patch"].(map[string]any)
	if got := urlsOf(patch["servers"]); !reflect.DeepEqual(got, []string{"https://api.example.com"}) {
		t.Errorf("patch servers %q", got)
	}
	if _, ok := get["responses"].(map[string]any)["404"]; !ok {
		t.Error("no 404")
	}

	// /health: three of the four hosts at the path level, merged into one
	// operation that needs no servers of its own.
	health := paths["/health"].(map[string]any)
	if got := urlsOf(health["servers"]); !reflect.DeepEqual(got, []string{"http://10.0.0.5:9000", "http://legacy.example.com:8080", "https://api.example.com"}) {
		t.Errorf("/health servers %q", got)
	}
	if hg := health["get"].(map[string]any); hg["servers"] != nil || hg["x-apitap-state"] != "shadow" || len(hg["x-apitap-hosts"].([]any)) != 3 {
		t.Errorf("/health get %v", hg)
	}
	// A path on every host needs no servers of its own.
	two := decode(t, build(t, []Operation{{Host: "a", Method: "GET", Path: "/x"}, {Host: "b", Method: "GET", Path: "/x"}, {Host: "b", Method: "PUT", Path: "/x"}}))
	x := two["paths"].(map[string]any)["/x"].(map[string]any)
	if x["servers"] != nil || x["get"].(map[string]any)["servers"] != nil || !reflect.DeepEqual(urlsOf(x["put"].(map[string]any)["servers"]), []string{"http://b"}) {
		t.Errorf("/x on every host: %v", x)
	}
	// A method OpenAPI cannot hold is kept aside.
	dav := paths["/dav/{file}"].(map[string]any)
	if _, ok := dav["x-apitap-other-operations"].(map[string]any)["PROPFIND"]; !ok {
		t.Error("PROPFIND lost")
	}
	// Never answered: a default response. Only anonymous calls: security [].
	metrics := paths["/metrics"].(map[string]any)["get"].(map[string]any)
	if _, ok := metrics["responses"].(map[string]any)["default"]; !ok {
		t.Error("no default response")
	}
	if s, ok := metrics["security"].([]any); !ok || len(s) != 0 {
		t.Errorf("metrics security %v", metrics["security"])
	}
	// XML: the root element and its namespace.
	soap := paths["/soap/OrderService"].(map[string]any)["post"].(map[string]any)
	xs := soap["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/soap+xml"].(map[string]any)["schema"].(map[string]any)["xml"]
	if fmt.Sprint(xs) != "map[name:Envelope namespace:http://www.w3.org/2003/05/soap-envelope]" {
		t.Errorf("soap xml %v", xs)
	}
	schemes := d["components"].(map[string]any)["securitySchemes"].(map[string]any)
	var names []string
	for k := range schemes {
		names = append(names, k)
	}
	want := "apiKeyHeader_X-Api-Key apiKeyQuery_api_key basicAuth bearerAuth cookie_JSESSIONID digestAuth jwtAuth"
	if got := strings.Join(sorted(names), " "); got != want {
		t.Errorf("schemes %s", got)
	}
}

func urlsOf(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		out = append(out, s.(map[string]any)["url"].(string))
	}
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestTemplate(t *testing.T) {
	for _, tc := range []struct{ in, want, names string }{
		{"", "/", ""},
		{"/a/{id}", "/a/{id}", "id"},
		{"a/{id}?x=1#f", "/a/{id}", "id"},
		{"/a/{id}/{id}", "/a/{id}/{id_2}", "id id_2"},
		{"/a/{}/b{", "/a/%7B%7D/b%7B", ""},
		{"/a/{x/y}", "/a/%7Bx/y%7D", ""},
		{"/f/{name}.{ext}", "/f/{name}.{ext}", "name ext"},
	} {
		got, names, _ := template(tc.in)
		if got != tc.want || strings.Join(names, " ") != tc.names {
			t.Errorf("template(%q) = %q %q, want %q %q", tc.in, got, names, tc.want, tc.names)
		}
	}
}

func TestServerURL(t *testing.T) {
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"API.example.com", 443, "https://api.example.com"},
		{"api.example.com", 80, "http://api.example.com"},
		{"api.example.com", 0, "http://api.example.com"},
		{"api.example.com:8080", 0, "http://api.example.com:8080"},
		{"api.example.com:8080", 9090, "http://api.example.com:9090"},
		{"::1", 8081, "http://[::1]:8081"},
		{"[2001:db8::1]", 443, "https://[2001:db8::1]"},
		{"", 80, "/"},
	} {
		if got := serverURL(tc.host, tc.port); got != tc.want {
			t.Errorf("serverURL(%q, %d) = %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestOperationID(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/api/v1/users/{id}", "getApiV1UsersById"},
		{"GET", "/", "getRoot"},
		{"POST", "/user-profiles/{user_id}/avatar.png", "postUserProfilesByUserIdAvatarPng"},
		{"GET", "/api/v1/users/{id}/", "getApiV1UsersById_2"},
		{"GET", "/api/v1/users-/{id}", "getApiV1UsersById_3"},
		{"M-SEARCH", "/*", "msearch"},
	} {
		if got := operationID(tc.method, tc.path, used); got != tc.want {
			t.Errorf("operationID(%s %s) = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build("", "", []Operation{{Method: "", Path: "/"}}); err == nil {
		t.Error("empty method accepted")
	}
	if _, err := Build("", "", []Operation{{Method: "GE T", Path: "/"}}); err == nil {
		t.Error("method with a space accepted")
	}
	if _, err := Build("", "", []Operation{{Method: "GET", Path: "/", Params: []Param{{Name: "q", In: "query", Schema: map[string]any{"bad": func() {}}}}}}); err == nil {
		t.Error("unmarshalable schema accepted")
	}
}
