package spec

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// opsByID indexes a spec's operations by operationId.
func opsByID(t *testing.T, s *Spec) map[string]*Operation {
	t.Helper()
	m := make(map[string]*Operation)
	for _, op := range s.Operations {
		if op.OperationID == "" {
			t.Fatalf("%s: operation %s has no operationId", s.File, op)
		}
		m[op.OperationID] = op
	}
	return m
}

func hasWarning(s *Spec, sub string) bool {
	for _, w := range s.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestSwagger2YAML(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "swagger2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenAPI != "2.0" || s.Title != "Fixture Swagger" || s.Version != "2024-01-31" {
		t.Errorf("header = %q %q %q", s.OpenAPI, s.Title, s.Version)
	}
	if !reflect.DeepEqual(s.Hosts, []string{"api.example.com"}) || !reflect.DeepEqual(s.BasePaths, []string{"/v2"}) {
		t.Errorf("hosts %q base paths %q, want [api.example.com] [/v2]", s.Hosts, s.BasePaths)
	}
	ops := opsByID(t, s)
	want := map[string]struct {
		method, tmpl string
		params       []string
		deprecated   bool
	}{
		"listUsers":     {"GET", "/v2/users", nil, false},
		"createUser":    {"POST", "/v2/users", nil, false},
		"getMe":         {"GET", "/v2/users/me", nil, false},
		"getUser":       {"GET", "/v2/users/{userId}", []string{"userId"}, false},
		"deleteUser":    {"DELETE", "/v2/users/{userId}", []string{"userId"}, true},
		"putAvatar":     {"PUT", "/v2/users/{userId}/avatar.png", []string{"userId"}, false},
		"healthHead":    {"HEAD", "/v2/health", nil, false},
		"healthOptions": {"OPTIONS", "/v2/health", nil, false},
	}
	if len(ops) != len(want) {
		t.Errorf("%d operations, want %d: %v", len(ops), len(want), s.Operations)
	}
	for id, w := range want {
		op := ops[id]
		if op == nil {
			t.Errorf("%s missing", id)
			continue
		}
		if op.Method != w.method || op.Template != w.tmpl || !reflect.DeepEqual(op.Params, w.params) || op.Deprecated != w.deprecated || op.Spec != s {
			t.Errorf("%s = %s %s %q deprecated=%v, want %s %s %q %v", id, op.Method, op.Template, op.Params, op.Deprecated, w.method, w.tmpl, w.params, w.deprecated)
		}
	}
	// The path item behind an external $ref is unknown: said, not fatal.
	if !hasWarning(s, `"/remote": external $ref`) || !hasWarning(s, "1 external $refs") {
		t.Errorf("warnings %q: want the external $ref of /remote", s.Warnings)
	}
	// Path parameters resolved through a $ref chain (alias → userId):
	// nothing is reported as undeclared.
	if hasWarning(s, "not declared") {
		t.Errorf("warnings %q: a $ref'd path parameter taken as undeclared", s.Warnings)
	}
}

func TestSwagger2JSON(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "swagger2.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Hosts) != 0 || !reflect.DeepEqual(s.BasePaths, []string{""}) {
		t.Errorf("hosts %q base paths %q, want none and root", s.Hosts, s.BasePaths)
	}
	ops := opsByID(t, s)
	if len(ops) != 4 {
		t.Errorf("%d operations, want 4", len(ops))
	}
	if op := ops["getTag"]; op == nil || op.Template != "/items/{id}/tags/{tag}" || !reflect.DeepEqual(op.Params, []string{"id", "tag"}) {
		t.Errorf("getTag = %+v", op)
	}
	for _, w := range []string{
		`$ref "#/parameters/missing" does not resolve`,
		"1 templated path parameters not declared `in: path` (first: GET /items/{id}/tags/{tag}: {tag})",
	} {
		if !hasWarning(s, w) {
			t.Errorf("warnings %q: want %q", s.Warnings, w)
		}
	}
}

func TestOpenAPI31YAML(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "openapi31.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenAPI != "3.1.0" || s.Version != "3.1" {
		t.Errorf("openapi %q version %q", s.OpenAPI, s.Version)
	}
	// {region} default first, then the other enum value; the port dropped.
	if !reflect.DeepEqual(s.Hosts, []string{"eu.api.example.com", "us.api.example.com"}) || !reflect.DeepEqual(s.BasePaths, []string{"/v1"}) {
		t.Errorf("hosts %q base paths %q", s.Hosts, s.BasePaths)
	}
	ops := opsByID(t, s)
	if ops["webhookNewUser"] != nil {
		t.Error("a webhook taken as an operation of the API")
	}
	if len(ops) != 9 {
		t.Errorf("%d operations, want 9: %v", len(ops), s.Operations)
	}
	if op := ops["createAccount"]; op == nil || !op.Deprecated || op.Template != "/v1/accounts" {
		t.Errorf("createAccount (components.pathItems $ref) = %+v", op)
	}
	if op := ops["compare"]; op == nil || !reflect.DeepEqual(op.Params, []string{"base", "head"}) {
		t.Errorf("compare = %+v", op)
	}
	up := ops["uploadFile"]
	if up == nil || up.Servers == nil || !reflect.DeepEqual(up.Hosts(), []string{"files.example.com"}) || up.Template != "/files" {
		t.Fatalf("uploadFile = %+v, want its own server files.example.com at the root", up)
	}
	if ops["getAccount"].Servers != nil {
		t.Error("an operation without servers of its own got some")
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %q", s.Warnings)
	}
}

func TestOpenAPI31JSON(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "openapi31.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A relative server and a localhost one: every host, under /api.
	if len(s.Hosts) != 0 || !reflect.DeepEqual(s.BasePaths, []string{"/api"}) {
		t.Errorf("hosts %q base paths %q, want none and [/api]", s.Hosts, s.BasePaths)
	}
	ops := opsByID(t, s)
	if len(ops) != 5 {
		t.Errorf("%d operations, want 5: %v", len(ops), s.Operations)
	}
	if op := ops["root"]; op == nil || op.Template != "/api/" {
		t.Errorf("root = %+v", op)
	}
	if !hasWarning(s, `loopback host "localhost" taken as every host`) || !hasWarning(s, "1 external $refs not followed (first: https://example.com/common.json#/id)") {
		t.Errorf("warnings %q", s.Warnings)
	}
	if !hasWarning(s, "GET /orders/{orderId}/lines/{line}: {orderId}") {
		t.Errorf("warnings %q: want the undeclared {orderId} of getLine", s.Warnings)
	}
}

// JSON and YAML spellings of one document load to the same operations.
func TestJSONEqualsYAML(t *testing.T) {
	y := `openapi: "3.0.3"
info: {title: t, version: "1"}
servers: [{url: "https://api.example.com/base"}]
paths:
  /a/{x}:
    get: {operationId: a, deprecated: true, parameters: [{name: x, in: path}]}
`
	j := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"servers":[{"url":"https://api.example.com/base"}],
"paths":{"/a/{x}":{"get":{"operationId":"a","deprecated":true,"parameters":[{"name":"x","in":"path"}]}}}}`
	sy, err := Parse("y", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	sj, err := Parse("j", []byte(j))
	if err != nil {
		t.Fatal(err)
	}
	a, b := *sy.Operations[0], *sj.Operations[0]
	a.Spec, b.Spec = nil, nil
	if !reflect.DeepEqual(a, b) || a.Template != "/base/a/{x}" || !a.Deprecated {
		t.Errorf("yaml %+v\njson %+v", a, b)
	}
}

func TestServers(t *testing.T) {
	for _, tc := range []struct {
		servers string
		hosts   []string
		bases   []string
	}{
		{`[]`, nil, []string{""}},
		{`[{url: "https://API.example.com/v1/"}]`, []string{"api.example.com"}, []string{"/v1"}},
		{`[{url: "/v1"}]`, nil, []string{"/v1"}},
		{`[{url: "//api.example.com"}]`, []string{"api.example.com"}, []string{""}},
		{`[{url: "api.example.com/v2"}]`, []string{"api.example.com"}, []string{"/v2"}},
		{`[{url: "v3"}]`, nil, []string{"/v3"}},
		{`[{url: "https://user@[2001:db8::1]:8443/x%20y"}]`, []string{"2001:db8::1"}, []string{"/x y"}},
		{`[{url: "http://127.0.0.1:5000"}]`, nil, []string{""}},
		{`[{url: "https://a.example.com/v1"}, {url: "https://b.example.com/v2"}]`, []string{"a.example.com", "b.example.com"}, []string{"/v1", "/v2"}},
		// A relative server beside an absolute one: every host.
		{`[{url: "https://a.example.com/v1"}, {url: "/v1"}]`, nil, []string{"/v1"}},
		{`[{url: "{origin}", variables: {origin: {default: "https://uploads.example.com"}}}]`, []string{"uploads.example.com"}, []string{""}},
		// A variable without a default leaves the host unknown: every host.
		{`[{url: "https://{tenant}.example.com/v1"}]`, nil, []string{""}},
	} {
		doc := "openapi: 3.0.0\npaths: {}\nservers: " + tc.servers
		s, err := Parse("t", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.Hosts, tc.hosts) || !reflect.DeepEqual(s.BasePaths, tc.bases) {
			t.Errorf("servers %s: hosts %q base paths %q, want %q %q", tc.servers, s.Hosts, s.BasePaths, tc.hosts, tc.bases)
		}
	}
	for _, tc := range []struct {
		doc   string
		hosts []string
		base  string
	}{
		{`{swagger: "2.0", paths: {}}`, nil, "/"},
		{`{swagger: "2.0", host: "Example.COM", basePath: "/api/", paths: {}}`, []string{"example.com"}, "/api"},
		{`{swagger: "2.0", host: "localhost:3000", basePath: "v1", paths: {}}`, nil, "/v1"},
	} {
		s, err := Parse("t", []byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(tc.base, "/")
		if !reflect.DeepEqual(s.Hosts, tc.hosts) || !reflect.DeepEqual(s.BasePaths, []string{want}) {
			t.Errorf("%s: hosts %q base paths %q", tc.doc, s.Hosts, s.BasePaths)
		}
	}
}

func TestNotOpenAPI(t *testing.T) {
	for _, doc := range []string{
		``,
		`   `,
		`[1, 2]`,
		`just a string`,
		`{"info": {"name": "postman"}, "item": []}`,
		`swaggerVersion: "1.2"`,
		`swagger: "1.2"`,
		`openapi: 2.5`,
	} {
		if _, err := Parse("t", []byte(doc)); !errors.Is(err, ErrNotOpenAPI) {
			t.Errorf("%q: err %v, want ErrNotOpenAPI", doc, err)
		}
	}
	for _, doc := range []string{`{"openapi": "3.0.0",`, "openapi: [\n"} {
		if _, err := Parse("t", []byte(doc)); err == nil || errors.Is(err, ErrNotOpenAPI) {
			t.Errorf("%q: err %v, want a syntax error", doc, err)
		}
	}
}

// Malformed but recognizable documents load with warnings, never fail.
func TestLenient(t *testing.T) {
	doc := `openapi: 3.0.0
paths:
  users/{id}:
    get: {deprecated: "true"}
    put: "not an object"
    parameters: [{$ref: "#/components/parameters/loop"}]
  /broken/{id:
    get: {}
  /dup/{a}:
    get: {}
  /dup/{b}:
    get: {}
components:
  parameters:
    loop: {$ref: "#/components/parameters/loop"}
`
	s, err := Parse("t", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Operations) != 4 {
		t.Errorf("%d operations, want 4: %v", len(s.Operations), s.Operations)
	}
	for _, w := range []string{
		"paths without a leading slash",
		`"/broken/{id": a segment with unbalanced braces`,
		`"users/{id}" put: not an object`,
		"$ref chain longer than",
		"paths repeat another's route with other parameter names (first: /dup/{a} and /dup/{b})",
	} {
		if !hasWarning(s, w) {
			t.Errorf("warnings %q: want %q", s.Warnings, w)
		}
	}
	var dep bool
	for _, op := range s.Operations {
		if op.Path == "users/{id}" {
			dep = op.Deprecated
			if op.Template != "/users/{id}" {
				t.Errorf("template %q", op.Template)
			}
		}
	}
	if !dep {
		t.Error(`deprecated: "true" not taken`)
	}
}

func TestWarningsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\npaths:\n")
	for i := 0; i < 3*maxWarnings; i++ {
		b.WriteString("  /p" + strings.Repeat("x", i) + ":\n    get: {parameters: [{$ref: '#/nowhere'}]}\n")
	}
	s, err := Parse("t", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != maxWarnings+1 || !strings.HasSuffix(s.Warnings[maxWarnings], "more warnings") {
		t.Errorf("%d warnings, last %q", len(s.Warnings), s.Warnings[len(s.Warnings)-1])
	}
}

func TestLoadAll(t *testing.T) {
	specs, skipped, err := Collect([]string{"testdata", filepath.Join("testdata", "swagger2.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range specs {
		files = append(files, filepath.Base(s.File))
	}
	// Sorted folder order; the file named again is not loaded twice.
	want := []string{"openapi31.json", "openapi31.yaml", "swagger2.json", "swagger2.yaml"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("loaded %q, want %q", files, want)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "notspec.json: skipped: not an OpenAPI") {
		t.Errorf("skipped %q", skipped)
	}
	if _, err := LoadAll([]string{filepath.Join("testdata", "notspec.json")}); !errors.Is(err, ErrNotOpenAPI) {
		t.Errorf("an explicitly named non-spec: err %v", err)
	}
	if _, err := LoadAll([]string{filepath.Join("testdata", "fuzz")}); err == nil {
		t.Error("a folder without specs: no error")
	}
	if _, err := LoadAll([]string{filepath.Join("testdata", "absent.yaml")}); err == nil {
		t.Error("a missing file: no error")
	}
}

func TestServersBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\npaths: {/a: {get: {}}}\nservers:\n")
	for i := 0; i < 2*maxHosts; i++ {
		b.WriteString("  - url: https://h" + strings.Repeat("x", i) + ".example.com/b" + strings.Repeat("y", i) + "\n")
	}
	s := mustParse(t, b.String())
	if len(s.Hosts) != maxHosts || len(s.BasePaths) != maxBasePaths || !hasWarning(s, "hosts or") {
		t.Errorf("%d hosts, %d base paths, warnings %q", len(s.Hosts), len(s.BasePaths), s.Warnings)
	}
	if n := len(NewMatcher([]*Spec{s}).Operations("hx.example.com")); n != 1 {
		t.Errorf("%d operations on the second host", n)
	}
}
