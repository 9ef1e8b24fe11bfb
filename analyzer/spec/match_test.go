package spec

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

const rulesSpec = `openapi: 3.0.3
info: {title: rules, version: "1"}
servers: [{url: "https://api.example.com/v1"}]
paths:
  /:
    get: {operationId: root}
  /users:
    get: {operationId: listUsers}
  /users/me:
    get: {operationId: getMe}
  /users/{id}:
    get: {operationId: getUser}
    delete: {operationId: deleteUser}
  /users/{id}/friends:
    get: {operationId: friends}
  /users/me/settings:
    put: {operationId: putSettings}
  /calls/{sid}.json:
    get: {operationId: callJSON}
  /calls/{sid}:
    get: {operationId: call}
  /calls.json:
    get: {operationId: callsJSON}
  /api/v{version}/ping:
    get: {operationId: ping}
  /compare/{base}...{head}:
    get: {operationId: compare}
  /files/{name}.tar.gz:
    get: {operationId: tarball}
  /health:
    head: {operationId: healthHead}
    get: {operationId: healthGet}
  /search:
    query: {operationId: search}
`

func mustParse(t testing.TB, doc string) *Spec {
	t.Helper()
	s, err := Parse("inline", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatchRules(t *testing.T) {
	m := NewMatcher([]*Spec{mustParse(t, rulesSpec)})
	const h = "api.example.com"
	for _, tc := range []struct {
		method, path, want string // want = operationId, "" = no match
		params             map[string]string
	}{
		{"GET", "/v1", "root", nil},
		{"GET", "/v1/", "root", nil},
		{"GET", "/v1/users", "listUsers", nil},
		{"GET", "/v1/users/", "listUsers", nil},                                        // trailing slash tolerated
		{"GET", "/v1/users/me", "getMe", nil},                                          // literal beats parameter
		{"GET", "/v1/users/42", "getUser", map[string]string{"id": "42"}},              // parameter
		{"GET", "/v1/users/42/", "getUser", map[string]string{"id": "42"}},             //
		{"DELETE", "/v1/users/me", "deleteUser", map[string]string{"id": "me"}},        // the literal route lacks DELETE: the parameter one has it
		{"GET", "/v1/users/me/friends", "friends", map[string]string{"id": "me"}},      // backtrack from the literal branch
		{"PUT", "/v1/users/me/settings", "putSettings", nil},                           //
		{"PUT", "/v1/users/42/settings", "", nil},                                      // only "me" has settings
		{"GET", "/v1/users//friends", "", nil},                                         // a parameter is never empty
		{"GET", "/v1/users/42/friends/x", "", nil},                                     // too deep
		{"GET", "/v1/users/a/b", "", nil},                                              // a parameter is one segment
		{"POST", "/v1/users", "", nil},                                                 // method must match
		{"HEAD", "/v1/users/42", "getUser", map[string]string{"id": "42"}},             // HEAD falls back to GET
		{"HEAD", "/v1/health", "healthHead", nil},                                      // unless HEAD is documented
		{"OPTIONS", "/v1/users", "", nil},                                              //
		{"get", "/v1/users", "listUsers", nil},                                         // methods are compared case-insensitively
		{"QUERY", "/v1/search", "search", nil},                                         // OpenAPI 3.2's method
		{"BREW", "/v1/users", "", nil},                                                 // unknown method
		{"GET", "/v1/calls/CA123.json", "callJSON", map[string]string{"sid": "CA123"}}, // suffix pattern beats plain parameter
		{"GET", "/v1/calls/CA123", "call", map[string]string{"sid": "CA123"}},          //
		{"GET", "/v1/calls/.json", "call", map[string]string{"sid": ".json"}},          // {sid} of .json would be empty
		{"GET", "/v1/calls.json", "callsJSON", nil},                                    //
		{"GET", "/v1/api/v2/ping", "ping", map[string]string{"version": "2"}},          // prefix pattern
		{"GET", "/v1/api/v/ping", "", nil},                                             //
		{"GET", "/v1/api/2/ping", "", nil},                                             //
		{"GET", "/v1/compare/main...feature", "compare", map[string]string{"base": "main", "head": "feature"}},
		{"GET", "/v1/compare/a...b...c", "compare", map[string]string{"base": "a", "head": "b...c"}},
		{"GET", "/v1/compare/...b", "", nil},
		{"GET", "/v1/compare/a...", "", nil},
		{"GET", "/v1/files/src.tar.gz", "tarball", map[string]string{"name": "src"}},
		{"GET", "/v1/files/.tar.gz", "", nil},
		{"GET", "/users", "", nil},     // outside the base path
		{"GET", "/v2/users", "", nil},  //
		{"GET", "/V1/users", "", nil},  // paths are case-sensitive
		{"GET", "", "", nil},           // "" is "/", not under /v1
		{"OPTIONS", "*", "", nil},      //
		{"GET", "//", "", nil},         //
		{"GET", "/v1//users", "", nil}, //
	} {
		mt, ok := m.Lookup(h, tc.method, tc.path)
		got := ""
		if ok {
			got = mt.Op.OperationID
		}
		if got != tc.want {
			t.Errorf("%s %s: matched %q, want %q", tc.method, tc.path, got, tc.want)
			continue
		}
		op, ok2 := m.Match(h, tc.method, tc.path)
		if ok2 != ok || op != mt.Op {
			t.Errorf("%s %s: Match and Lookup disagree", tc.method, tc.path)
		}
		if ok && tc.params != nil {
			if p := mt.Params(tc.path); !reflect.DeepEqual(p, tc.params) {
				t.Errorf("%s %s: params %v, want %v", tc.method, tc.path, p, tc.params)
			}
		}
	}
}

func TestMatchHosts(t *testing.T) {
	hosted := mustParse(t, `openapi: 3.0.0
servers: [{url: "https://a.example.com/v1"}, {url: "https://b.example.com/v2"}]
paths:
  /things/{id}: {get: {operationId: hostedThing}}
  /upload:
    post:
      operationId: upload
      servers: [{url: "https://files.example.com"}]
`)
	anyHost := mustParse(t, `swagger: "2.0"
paths:
  /things/special: {get: {operationId: anyThing}}
  /things/{id}: {get: {operationId: anyThingID}}
  /common: {get: {operationId: common}}
`)
	m := NewMatcher([]*Spec{hosted, anyHost})
	for _, tc := range []struct{ host, method, path, want string }{
		{"a.example.com", "GET", "/v1/things/1", "hostedThing"},
		{"a.example.com", "GET", "/v2/things/1", "hostedThing"}, // every host with every base path
		{"b.example.com", "GET", "/v2/things/1", "hostedThing"},
		{"a.example.com", "GET", "/v1/things/special", "hostedThing"},
		{"a.example.com", "GET", "/things/special", "anyThing"}, // host-less specs apply to named hosts too
		{"a.example.com", "GET", "/common", "common"},
		{"other.example.com", "GET", "/common", "common"},
		{"other.example.com", "GET", "/v1/things/1", ""},
		{"", "GET", "/things/7", "anyThingID"},
		{"files.example.com", "POST", "/upload", "upload"},
		{"a.example.com", "POST", "/v1/upload", ""}, // the operation's own server replaces the spec's
		{"a.example.com", "POST", "/upload", ""},
		{"files.example.com", "GET", "/v1/things/1", ""},
		{"files.example.com", "GET", "/common", "common"},
	} {
		op, ok := m.Match(tc.host, tc.method, tc.path)
		got := ""
		if ok {
			got = op.OperationID
		}
		if got != tc.want {
			t.Errorf("%s %s %s: matched %q, want %q", tc.host, tc.method, tc.path, got, tc.want)
		}
	}
	if mt, ok := m.Lookup("b.example.com", "GET", "/v2/things/1"); !ok || mt.Template != "/v2/things/{id}" || mt.Op.Template != "/v1/things/{id}" {
		t.Errorf("lookup under the second base path: %+v", mt)
	}
	if !m.Documents("a.example.com") || !m.Documents("unknown.example.com") {
		t.Error("Documents: a host-less spec applies to every host")
	}
	ids := func(ops []*Operation) string {
		var s []string
		for _, op := range ops {
			s = append(s, op.OperationID)
		}
		return strings.Join(s, ",")
	}
	for host, want := range map[string]string{
		"a.example.com":     "hostedThing,common,anyThing,anyThingID",
		"files.example.com": "upload,common,anyThing,anyThingID",
		"x.example.com":     "common,anyThing,anyThingID",
	} {
		if got := ids(m.Operations(host)); got != want {
			t.Errorf("Operations(%s) = %s, want %s", host, got, want)
		}
	}

	only := NewMatcher([]*Spec{hosted})
	if only.Documents("other.example.com") || !only.Documents("files.example.com") || only.Operations("other.example.com") != nil {
		t.Error("a spec with hosts documents only them")
	}
	if _, ok := only.Match("other.example.com", "GET", "/v1/things/1"); ok {
		t.Error("matched on a host no spec names")
	}
	if NewMatcher(nil).Documents("x") {
		t.Error("an empty matcher documents a host")
	}

	// Overriding a spec's hosts before building the matcher.
	anyHost.Hosts = []string{"internal.example.com"}
	m2 := NewMatcher([]*Spec{anyHost})
	if _, ok := m2.Match("internal.example.com", "GET", "/common"); !ok || m2.Documents("x.example.com") {
		t.Error("Spec.Hosts set by the caller not used")
	}
}

func TestShadowed(t *testing.T) {
	a := mustParse(t, `openapi: 3.0.0
paths:
  /u/{a}: {get: {operationId: first}, put: {operationId: put}}
  /u/{b}: {get: {operationId: second}, delete: {operationId: del}}
`)
	b := mustParse(t, `openapi: 3.0.0
paths:
  /u/{id}: {get: {operationId: again}}
  /v: {get: {operationId: v}}
`)
	m := NewMatcher([]*Spec{a, b})
	var sh []string
	for _, op := range m.Shadowed() {
		sh = append(sh, op.OperationID)
	}
	if strings.Join(sh, ",") != "second,again" {
		t.Errorf("shadowed %q, want second,again", sh)
	}
	if op, _ := m.Match("h", "DELETE", "/u/1"); op == nil || op.OperationID != "del" {
		t.Errorf("DELETE of the second template: %v", op)
	}
	if n := len(m.Operations("h")); n != 4 {
		t.Errorf("%d operations, want 4 (the shadowed left out)", n)
	}
}

// The matcher must not allocate per request.
func TestMatchAllocs(t *testing.T) {
	m := NewMatcher([]*Spec{mustParse(t, rulesSpec)})
	testutil.AssertAllocs(t, 0, func() {
		m.Match("api.example.com", "GET", "/v1/users/42/friends")
		m.Match("api.example.com", "DELETE", "/v1/users/me")
		m.Match("api.example.com", "GET", "/v1/compare/main...feature")
		m.Match("api.example.com", "get", "/v1/nothing/here/")
		m.Lookup("unknown", "GET", "/v1/users")
	})
}

func TestParseSegment(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lit    string
		pieces []string
		names  []string
		ok     bool
	}{
		{"users", "users", nil, nil, true},
		{"{id}", "", []string{"", ""}, []string{"id"}, true},
		{"{Sid}.json", "", []string{"", ".json"}, []string{"Sid"}, true},
		{"v{version}", "", []string{"v", ""}, []string{"version"}, true},
		{"{a}-{b}", "", []string{"", "-", ""}, []string{"a", "b"}, true},
		{"{}", "", []string{"", ""}, []string{""}, true},
		{"{id", "{id", nil, nil, false},
		{"id}", "id}", nil, nil, false},
		{"{a{b}}", "{a{b}}", nil, nil, false},
		{"}{", "}{", nil, nil, false},
	} {
		seg, ok := parseSegment(tc.in)
		if seg.lit != tc.lit || !reflect.DeepEqual(seg.pieces, tc.pieces) || !reflect.DeepEqual(seg.names, tc.names) || ok != tc.ok {
			t.Errorf("%q: %+v %v", tc.in, seg, ok)
		}
	}
}

// benchSpec is a realistic spec: resources with collections, items,
// sub-resources and literal siblings, a few hundred paths.
func benchSpec(paths int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\nservers: [{url: \"https://api.example.com/v1\"}]\npaths:\n")
	n := 0
	for r := 0; n < paths; r++ {
		res := fmt.Sprintf("res%d", r)
		for _, p := range []string{
			"/" + res,
			"/" + res + "/{id}",
			"/" + res + "/{id}/items",
			"/" + res + "/{id}/items/{itemId}",
			"/" + res + "/search",
			"/orgs/{org}/" + res + "/{id}",
		} {
			fmt.Fprintf(&b, "  %s:\n    get: {}\n    post: {}\n", p)
			n++
		}
	}
	return b.String()
}

// benchRequests are requests to a matcher of benchSpec: mostly hits,
// some misses, some HEADs.
func benchRequests(paths int) [][2]string {
	var reqs [][2]string
	for r := 0; r < paths/6; r++ {
		res := fmt.Sprintf("res%d", r)
		reqs = append(reqs,
			[2]string{"GET", "/v1/" + res},
			[2]string{"GET", "/v1/" + res + "/8472"},
			[2]string{"POST", "/v1/" + res + "/8472/items"},
			[2]string{"GET", "/v1/" + res + "/8472/items/ab3f9"},
			[2]string{"HEAD", "/v1/" + res + "/search"},
			[2]string{"GET", "/v1/orgs/acme/" + res + "/77"},
			[2]string{"DELETE", "/v1/" + res + "/8472"},    // miss: method
			[2]string{"GET", "/v1/" + res + "/8472/other"}, // miss: path
		)
	}
	return reqs
}

func BenchmarkMatch(b *testing.B) {
	m := NewMatcher([]*Spec{mustParse(b, benchSpec(300))})
	reqs := benchRequests(300)
	for _, r := range reqs[:6] {
		if _, ok := m.Match("api.example.com", r[0], r[1]); !ok {
			b.Fatalf("%s %s: no match", r[0], r[1])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := reqs[i%len(reqs)]
		m.Match("api.example.com", r[0], r[1])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
}

// BenchmarkMatchGitHub matches a request per operation of the GitHub API
// (565 paths, 874 operations, from the corpus), its template filled with
// realistic values.
func BenchmarkMatchGitHub(b *testing.B) {
	s, err := Load(filepath.Join(testutil.Corpus(b), "openapi", "github-api.github.com-2022-07-18.json"))
	if err != nil {
		b.Fatal(err)
	}
	m := NewMatcher([]*Spec{s})
	var reqs [][2]string
	for _, op := range s.Operations {
		reqs = append(reqs, [2]string{op.Method, fill(op.Template)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := reqs[i%len(reqs)]
		m.Match("api.github.com", r[0], r[1])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
}
