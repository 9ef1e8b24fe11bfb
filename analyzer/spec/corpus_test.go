package spec

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// corpusSpecs are the OpenAPI documents of the shared corpus with the
// figures SOURCES.md states for them (counted there independently, from
// the paths object; paths here are the ones with an operation), and the
// servers they declare.
var corpusSpecs = []struct {
	file                 string
	openapi              string
	paths, ops, depr     int
	hosts                []string
	bases                []string
	ownServers           map[string][]string // "METHOD path" → its own hosts
	warningsAllowed      int
	wantWarningSubstring string
}{
	{"crapi-openapi-spec.json", "3.0.1", 40, 44, 0, nil, []string{""}, nil, 1, `loopback host "localhost"`},
	{"github-api.github.com-2020-08.json", "3.0.3", 403, 623, 51, []string{"api.github.com"}, []string{""},
		map[string][]string{"POST /repos/{owner}/{repo}/releases/{release_id}/assets": {"uploads.github.com"}}, 0, ""},
	{"github-api.github.com-2022-07-18.json", "3.0.3", 565, 874, 46, []string{"api.github.com"}, []string{""},
		map[string][]string{"POST /repos/{owner}/{repo}/releases/{release_id}/assets": {"uploads.github.com"}}, 0, ""},
	{"kubernetes-v1.36-swagger.json", "2.0", 562, 1123, 0, nil, []string{""}, nil, 0, ""},
	{"petstore3-openapi.yaml", "3.0.4", 13, 19, 0, []string{"petstore3.swagger.io"}, []string{"/api/v3"}, nil, 0, ""},
	{"stripe-spec3-2022-04-12.json", "3.0.0", 261, 417, 15, []string{"api.stripe.com"}, []string{""},
		map[string][]string{"POST /v1/files": {"files.stripe.com"}}, 0, ""},
	// Twilio repeats the document's server on every path item: no
	// override. 5 of its 121 path items have no operation (SIP.json,
	// Usage.json, ...): 116 paths with operations.
	{"twilio-api-v2010.json", "3.0.1", 116, 197, 0, []string{"api.twilio.com"}, []string{""}, nil, 0, ""},
	{"vampi-openapi3.yml", "3.0.1", 12, 14, 0, nil, []string{""}, nil, 1, `loopback host "localhost"`},
}

// value is a realistic value for a path parameter, chosen by its name the
// way real clients fill them (ids numeric, SIDs prefixed, names words), and
// never equal to a literal segment of the corpus specs.
func value(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, "sid"):
		return "AC0f3e5b8a9c1d2e4f6a7b8c9d0e1f2a3b"
	case n == "base":
		return "main"
	case n == "head":
		return "octocat:feature-x"
	case strings.Contains(n, "sha") || n == "ref" || n == "commit_id":
		return "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	case n == "owner" || n == "org" || n == "username" || n == "user":
		return "octocat"
	case n == "repo":
		return "hello-world"
	case n == "namespace":
		return "kube-system"
	case n == "name":
		return "web-7d4f9c"
	case n == "path":
		return "README.md"
	case n == "countrycode":
		return "US"
	case strings.Contains(n, "id") || strings.Contains(n, "number") || strings.HasSuffix(n, "_no"):
		return "1296269"
	}
	return "sample-" + n
}

// fill substitutes value(name) for every {name} of a template.
func fill(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl, '}')
		if i < 0 || j < i {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString(value(tmpl[i+1 : j]))
		tmpl = tmpl[j+1:]
	}
}

// moreSpecific reports whether template got is template own with some
// parameter segments replaced by the literal the request had there: a
// route the spec documents more precisely than own.
func moreSpecific(got, own, path string) bool {
	g, _, _ := parseTemplate(got)
	o, _, _ := parseTemplate(own)
	parts := strings.Split(trimPath(path), "/")
	if len(g) != len(o) || len(g) != len(parts) {
		return false
	}
	replaced := false
	for i := range g {
		switch {
		case g[i].key() == o[i].key():
		case o[i].pieces != nil && g[i].pieces == nil && g[i].lit == parts[i]:
			replaced = true
		case o[i].pieces != nil && g[i].pieces != nil:
			// A more specific pattern ({Sid}.json over {Sid}): more
			// literal bytes at the same position.
			var gl, ol int
			for _, p := range g[i].pieces {
				gl += len(p)
			}
			for _, p := range o[i].pieces {
				ol += len(p)
			}
			if gl <= ol {
				return false
			}
			replaced = true
		default:
			return false
		}
	}
	return replaced
}

func TestCorpusSpecs(t *testing.T) {
	dir := filepath.Join(testutil.Corpus(t), "openapi")
	for _, cs := range corpusSpecs {
		t.Run(cs.file, func(t *testing.T) {
			s, err := Load(filepath.Join(dir, cs.file))
			if err != nil {
				t.Fatal(err)
			}
			paths := make(map[string]bool)
			depr := 0
			for _, op := range s.Operations {
				paths[op.Path] = true
				if op.Deprecated {
					depr++
				}
			}
			t.Logf("openapi %s %q %s: %d paths, %d operations (%d deprecated), hosts %q, base paths %q, %d warnings",
				s.OpenAPI, s.Title, s.Version, len(paths), len(s.Operations), depr, s.Hosts, s.BasePaths, len(s.Warnings))
			for _, w := range s.Warnings {
				t.Logf("  warning: %s", w)
			}
			if s.OpenAPI != cs.openapi || len(paths) != cs.paths || len(s.Operations) != cs.ops || depr != cs.depr {
				t.Errorf("openapi %s, %d paths, %d operations, %d deprecated; SOURCES.md says %s, %d, %d, %d",
					s.OpenAPI, len(paths), len(s.Operations), depr, cs.openapi, cs.paths, cs.ops, cs.depr)
			}
			if !reflect.DeepEqual(s.Hosts, cs.hosts) || !reflect.DeepEqual(s.BasePaths, cs.bases) {
				t.Errorf("hosts %q base paths %q, want %q %q", s.Hosts, s.BasePaths, cs.hosts, cs.bases)
			}
			if len(s.Warnings) > cs.warningsAllowed || (cs.wantWarningSubstring != "" && !hasWarning(s, cs.wantWarningSubstring)) {
				t.Errorf("warnings %q", s.Warnings)
			}
			own := 0
			for _, op := range s.Operations {
				if op.Servers == nil {
					continue
				}
				own++
				if want, ok := cs.ownServers[op.Method+" "+op.Path]; !ok || !reflect.DeepEqual(op.Hosts(), want) {
					t.Errorf("%s: own hosts %q, want %q", op, op.Hosts(), want)
				}
			}
			if own != len(cs.ownServers) {
				t.Errorf("%d operations with their own servers, want %d", own, len(cs.ownServers))
			}
			roundTrip(t, s)
		})
	}
}

// roundTrip matches every operation's own template, filled with realistic
// values, under each of its hosts and base paths: it must come back to
// the operation, or to a route the spec documents more specifically.
func roundTrip(t *testing.T, s *Spec) {
	t.Helper()
	m := NewMatcher([]*Spec{s})
	if sh := m.Shadowed(); len(sh) != 0 {
		t.Errorf("%d operations shadowed (first %s)", len(sh), sh[0])
	}
	self, specific := 0, 0
	for _, op := range s.Operations {
		hosts := op.Hosts()
		if len(hosts) == 0 {
			hosts = []string{"anything.example.net"}
		}
		bases := op.BasePaths()
		for _, h := range hosts {
			if !m.Documents(h) {
				t.Errorf("%s: host %s not documented", op, h)
			}
			for _, base := range bases {
				tmpl := joinBase(base, op.Path)
				path := fill(tmpl)
				mt, ok := m.Lookup(h, op.Method, path)
				switch {
				case !ok:
					t.Errorf("%s on %s: %s does not match", op, h, path)
				case mt.Op == op:
					self++
					if mt.Template != tmpl {
						t.Errorf("%s: matched template %s, want %s", op, mt.Template, tmpl)
					}
					p := mt.Params(path)
					if len(p) != len(op.Params) {
						t.Errorf("%s: %s: params %v, want %q", op, path, p, op.Params)
					}
					for _, name := range op.Params {
						if p[name] != value(name) {
							t.Errorf("%s: %s: param %s = %q, want %q", op, path, name, p[name], value(name))
						}
					}
				case mt.Op.Method == op.Method && moreSpecific(mt.Template, tmpl, path):
					specific++
				default:
					t.Errorf("%s on %s: %s matched %s", op, h, path, mt.Op)
				}
			}
		}
		// A HEAD of a GET matches it, unless a HEAD is documented.
		if op.Method == "GET" {
			if got, ok := m.Match(hosts[0], "HEAD", fill(op.Template)); !ok || got.Path != op.Path && !moreSpecific(got.Template, op.Template, fill(op.Template)) {
				t.Errorf("HEAD %s: %v", op.Template, got)
			}
		}
		if len(op.Params) > 0 {
			// One segment too many never matches the same operation.
			if got, ok := m.Match(hosts[0], op.Method, fill(op.Template)+"/zz-undocumented"); ok && got == op {
				t.Errorf("%s matched with an extra segment", op)
			}
		}
	}
	t.Logf("round trip: %d to the operation itself, %d to a more specific route", self, specific)
	for _, h := range []string{"anything.example.net", firstHost(s)} {
		if n := len(m.Operations(h)); h != "" && m.Documents(h) && n == 0 {
			t.Errorf("Operations(%s) empty", h)
		}
	}
}

func firstHost(s *Spec) string {
	if len(s.Hosts) > 0 {
		return s.Hosts[0]
	}
	return ""
}

func TestCorpusLoadAll(t *testing.T) {
	dir := filepath.Join(testutil.Corpus(t), "openapi")
	specs, skipped, err := Collect([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != len(corpusSpecs) {
		t.Errorf("%d specs loaded, want %d", len(specs), len(corpusSpecs))
	}
	// The two Postman collections.
	if len(skipped) != 2 || !strings.Contains(strings.Join(skipped, "\n"), "crapi.postman_collection.json: skipped: not an OpenAPI") {
		t.Errorf("skipped %q", skipped)
	}
	// All specs in one matcher: every host-less spec applies to GitHub's
	// host too, and nothing panics or shadows across specs except the
	// two GitHub snapshots, which share most routes.
	m := NewMatcher(specs)
	if op, ok := m.Match("api.github.com", "GET", "/repos/octocat/hello-world/pulls/1347"); !ok || op.OperationID != "pulls/get" {
		t.Errorf("GitHub pull request: %v", op)
	}
	if op, ok := m.Match("api.stripe.com", "POST", "/v1/customers/cus_123"); !ok || op.Spec.Title != "Stripe API" {
		t.Errorf("Stripe customer: %v", op)
	}
	if op, ok := m.Match("api.twilio.com", "GET", "/2010-04-01/Accounts/AC1/Calls/CA1.json"); !ok || op.OperationID != "FetchCall" {
		t.Errorf("Twilio call: %v", op)
	}
	if op, ok := m.Match("k8s.internal", "GET", "/api/v1/namespaces/default/pods/web-1/log"); !ok || op.OperationID != "readCoreV1NamespacedPodLog" {
		t.Errorf("Kubernetes pod log: %v", op)
	}
	if op, ok := m.Match("petstore3.swagger.io", "GET", "/api/v3/pet/findByStatus"); !ok || op.OperationID != "findPetsByStatus" {
		t.Errorf("petstore findByStatus: %v", op)
	}
	for _, op := range m.Shadowed() {
		if !strings.HasPrefix(op.Spec.File, filepath.Join(dir, "github-api")) {
			t.Errorf("shadowed outside the GitHub snapshots: %s (%s)", op, op.Spec.File)
		}
	}
}
