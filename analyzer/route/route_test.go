package route

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/apitap/apitap/internal/testutil"
)

func newLearner(t testing.TB, cfg Config) *Learner {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		s    string
		want Class
	}{
		{"42", Integer}, {"000123", Integer}, {"1.5", Number}, {"10.0.0.1", Number},
		{"550e8400-e29b-41d4-a716-446655440000", UUID}, {"5f0c8a1e2b3c4d5e6f708192", ObjectID},
		{"d41d8cd98f00b204e9800998ecf8427e", MD5}, {"da39a3ee5e6b4b0d3255bfef95601890afd80709", SHA1},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", SHA256},
		{"a1b2c3d", Hex}, {"2024-05-01", Date}, {"20240501", Date}, {"2024-05-01T10:00:00Z", Date},
		{"jane.doe@example.com", Email}, {"jane%40example.com", Email}, {"1.4.2", Semver}, {"v2.0.0-rc.1", Semver},
		{"ORD-2024-000123", Code}, {"SKU-84721-B", Code}, {"INV_0001", Code},
		{"dQw4w9WgXcQ-abcdEF12", Token}, {"cus_NffrFeUfNV2Hib", Token}, {"cus_NffrFeUfNVaHib", Token},
		{"ch_3MmlLrLkdIwHu7ix0snN0B15", Token}, {"CA0123456789abcdef0123456789abcdef", Hex}, {"AC0123456789abcdef0123456789abcdeg", Token},
		{"x7k2m9q3", Token}, {"Iv1.8a61f9b3a7aba766", Token},
		// words, including the digit-bearing and camelCase ones routes use
		{"users", Word}, {"search", Word}, {"me", Word}, {"octocat", Word}, {"kube-system", Word},
		{"oauth2", Word}, {"sha256", Word}, {"x509", Word}, {"3d_secure", Word}, {"v1beta1", Word},
		{"AvailablePhoneNumbers", Word}, {"getUserById", Word}, {"IncomingPhoneNumbers", Word},
		{"storage.k8s.io", Word}, {"tax_ids", Word}, {"external_accounts", Word}, {"deadbeef", Word},
		{"", Word}, {"good%20first%20issue", Word}, {"README.md", Word},
	} {
		if got := Classify(c.s); got != c.want {
			t.Errorf("Classify(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// TestCorpusStaticSegments: no static segment of the corpus specs (650
// real route words: check-suites, 3d_secure, v1beta1, IncomingPhoneNumbers,
// admissionregistration.k8s.io…) is read as an identifier.
func TestCorpusStaticSegments(t *testing.T) {
	dir := testutil.Corpus(t)
	seen := map[string]bool{}
	for _, f := range specFiles {
		for _, r := range loadSpec(t, dir, f).routes {
			chain := true
			for i, seg := range strings.Split(strings.Trim(r.path, "/"), "/") {
				stem, _ := splitExt(seg)
				fixed := isFixed(stem, i, chain)
				chain = chain && fixed
				if strings.Contains(seg, "{") || seen[seg] {
					continue
				}
				seen[seg] = true
				if c := Classify(stem); c != Word && !fixed {
					t.Errorf("%s: static segment %q of %s classified %v", f, seg, r.path, c)
				}
			}
		}
	}
	t.Logf("%d distinct static segments", len(seen))
}

func TestTemplateAtOnce(t *testing.T) {
	l := newLearner(t, DefaultConfig())
	for _, c := range []struct{ path, want string }{
		{"/api/v2/users/5f0c8a1e2b3c4d5e6f708192/orders", "/api/v2/users/{userId}/orders"},
		{"/api/v2/users/42/orders/ORD-2024-000123", "/api/v2/users/{userId}/orders/{orderId}"},
		{"/categories/7/addresses/8", "/categories/{categoryId}/addresses/{addressId}"},
		{"/files/550e8400-e29b-41d4-a716-446655440000/1/2", "/files/{fileId}/{id}/{id2}"},
		{"/reports/2024-05-01/", "/reports/{reportId}/"},
		{"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA0123456789abcdef0123456789abcdef.json",
			"/2010-04-01/Accounts/{accountId}/Calls/{callId}.json"},
		{"/v1/7", "/v1/{id}"},
		{"/", "/"}, {"", "/"}, {"/users?id=5", "/users"},
		{"/a/1/a/2", "/a/{aId}/a/{aId2}"},
	} {
		if got := l.Template("h", c.path).Template; got != c.want {
			t.Errorf("Template(%q) = %q, want %q", c.path, got, c.want)
		}
	}
	r := l.Template("h", "/users/42/check-suites/d41d8cd98f00b204e9800998ecf8427e")
	want := []Param{{1, "userId", "class:integer"}, {3, "checkSuiteId", "class:md5"}}
	if fmt.Sprint(r.Params) != fmt.Sprint(want) {
		t.Errorf("params %v, want %v", r.Params, want)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ parent, want string }{
		{"users", "userId"}, {"categories", "categoryId"}, {"addresses", "addressId"}, {"statuses", "statusId"},
		{"analyses", "analysisId"}, {"people", "personId"}, {"boxes", "boxId"}, {"matches", "matchId"},
		{"check-suites", "checkSuiteId"}, {"runner_groups", "runnerGroupId"}, {"AvailablePhoneNumbers", "availablePhoneNumberId"},
		{"SIP", "sipId"}, {"status", "statusId"}, {"access", "accessId"}, {"user", "userId"}, {"children", "childId"},
	} {
		var names [16]span
		nn := 0
		if got := string(appendName(nil, c.parent, "", &names, &nn)); got != "{"+c.want+"}" {
			t.Errorf("name after %q = %s, want {%s}", c.parent, got, c.want)
		}
	}
}

// observeN observes path n times.
func observeN(l *Learner, host, path string, n int) {
	for i := 0; i < n; i++ {
		l.Observe(host, path)
	}
}

// TestCardinality: usernames become a parameter; me and search, which
// carry far more traffic than any username, stay static; a version never
// becomes one.
func TestCardinality(t *testing.T) {
	l := newLearner(t, DefaultConfig())
	s := newSynth(3)
	for i := 0; i < 300; i++ {
		u := s.word() + "-" + s.word() + fmt.Sprint(i%97)
		l.Observe("h", "/api/v1/users/"+u)
		l.Observe("h", "/api/v1/users/"+u+"/repos")
		l.Observe("h", "/api/v"+fmt.Sprint(i%40)+"/status")
	}
	observeN(l, "h", "/api/v1/users/me", 200)
	observeN(l, "h", "/api/v1/users/search", 150)
	for _, c := range []struct{ path, want, reason string }{
		{"/api/v1/users/zulu-golf3", "/api/v1/users/{userId}", "cardinality:"},
		{"/api/v1/users/never-seen/repos", "/api/v1/users/{userId}/repos", "cardinality:"},
		{"/api/v1/users/me", "/api/v1/users/me", ""},
		{"/api/v1/users/search", "/api/v1/users/search", ""},
		{"/api/v17/status", "/api/v17/status", ""},
	} {
		r := l.Template("h", c.path)
		if r.Template != c.want {
			t.Errorf("Template(%q) = %q, want %q", c.path, r.Template, c.want)
		}
		if c.reason != "" && (len(r.Params) != 1 || !strings.HasPrefix(r.Params[0].Reason, c.reason) && !strings.HasPrefix(r.Params[0].Reason, "structure:")) {
			t.Errorf("Template(%q) params %v, want a %s reason", c.path, r.Params, c.reason)
		}
	}
	// a handful of static routes is not a parameter
	for _, p := range []string{"/api/v1/orders", "/api/v1/invoices", "/api/v1/payments", "/api/v1/refunds", "/api/v1/disputes", "/api/v1/customers"} {
		observeN(l, "h", p, 20)
	}
	if got := l.Template("h", "/api/v1/refunds").Template; got != "/api/v1/refunds" {
		t.Errorf("static fan-out: /api/v1/refunds templated %s", got)
	}
}

// TestStructure: a few values that share what follows them (namespaces)
// are a parameter even below the cardinality threshold.
func TestStructure(t *testing.T) {
	l := newLearner(t, DefaultConfig())
	for _, ns := range []string{"default", "kube-system", "monitoring", "payments"} {
		for _, kind := range []string{"pods", "services", "configmaps"} {
			observeN(l, "h", "/api/v1/namespaces/"+ns+"/"+kind, 5)
		}
	}
	r := l.Template("h", "/api/v1/namespaces/default/pods")
	if r.Template != "/api/v1/namespaces/{namespaceId}/pods" || r.Params[0].Reason != "structure:4" {
		t.Errorf("got %+v", r)
	}
}

// TestCanonical: a template learned before its position was a parameter
// maps to the current one.
func TestCanonical(t *testing.T) {
	l := newLearner(t, DefaultConfig())
	l.Observe("h", "/users/octocat/repos")
	early := l.Template("h", "/users/octocat/repos").Template
	if early != "/users/octocat/repos" {
		t.Fatalf("one username is no parameter yet: %s", early)
	}
	s := newSynth(4)
	for i := 0; i < 200; i++ {
		l.Observe("h", "/users/"+s.word()+fmt.Sprint(i)+"/repos")
	}
	for _, c := range []struct{ in, want string }{
		{early, "/users/{userId}/repos"},
		{"/users/{login}/repos", "/users/{userId}/repos"},
		{"/users/{userId}/repos/{id}.json", "/users/{userId}/repos/{repoId}.json"},
		{"/other/{x}", "/other/{otherId}"},
	} {
		if got := l.Canonical("h", c.in); got != c.want {
			t.Errorf("Canonical(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestUnpool: a position whose values looked new while traffic was thin
// turns static again once the same few segments keep coming.
func TestUnpool(t *testing.T) {
	l := newLearner(t, DefaultConfig())
	kinds := []string{"daily", "weekly", "monthly", "yearly", "hourly", "minutely"}
	for _, k := range kinds {
		l.Observe("h", "/reports/"+k)
	}
	if got := l.Template("h", "/reports/daily").Template; got != "/reports/{reportId}" {
		t.Fatalf("six values each seen once: %s", got)
	}
	for i := 0; i < 30; i++ {
		for _, k := range kinds {
			l.Observe("h", "/reports/"+k)
		}
	}
	if got := l.Template("h", "/reports/daily").Template; got != "/reports/daily" {
		t.Errorf("the same six, seen 31 times each: %s", got)
	}
	if s := l.Stats(); s.Unpooled == 0 {
		t.Errorf("stats %+v: want an unpooled position", s)
	}
}

func TestRules(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{
		{Pattern: "/api/files/{name}", Action: "param"},
		{Pattern: "/users/{}/settings/{}", Action: "param", Name: "key"},
		{Pattern: "/items/new", Action: "static"},
		{Pattern: "/v1/legacy/{}/**", Action: "merge", Into: "/v2/items/{itemId}"},
	}
	l := newLearner(t, cfg)
	for i := 0; i < 100; i++ {
		l.Observe("h", fmt.Sprintf("/items/%d", i))
		l.Observe("h", fmt.Sprintf("/items/item-%c%c", 'a'+i%26, 'a'+i/26))
	}
	l.Observe("h", "/items/new")
	for _, c := range []struct{ path, want, reason string }{
		{"/api/files/report", "/api/files/{name}", "rule:force"},
		{"/api/files/report/raw", "/api/files/{name}/raw", "rule:force"},
		{"/users/7/settings/theme", "/users/{key}/settings/{key2}", "rule:force"},
		{"/items/new", "/items/new", ""},
		{"/items/item-zz", "/items/{itemId}", "cardinality:"},
		{"/v1/legacy/42/a/b", "/v2/items/{itemId}", "rule:merge"},
	} {
		r := l.Template("h", c.path)
		if r.Template != c.want {
			t.Errorf("Template(%q) = %q, want %q", c.path, r.Template, c.want)
			continue
		}
		if c.reason != "" && (len(r.Params) == 0 || !strings.HasPrefix(r.Params[0].Reason, c.reason)) {
			t.Errorf("Template(%q) params %v, want reason %s", c.path, r.Params, c.reason)
		}
		var b []byte
		if b = l.AppendTemplate(b, "h", c.path); string(b) != c.want {
			t.Errorf("AppendTemplate(%q) = %q, want %q", c.path, b, c.want)
		}
	}
	if got := l.Canonical("h", "/v1/legacy/{id}/x"); got != "/v2/items/{itemId}" {
		t.Errorf("Canonical through a merge rule: %s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Rule{
		{Pattern: "api/x", Action: "static"},
		{Pattern: "/api/x", Action: "drop"},
		{Pattern: "/api/x", Action: "param"},
		{Pattern: "/api/{x}", Action: "static"},
		{Pattern: "/api/**/x", Action: "merge", Into: "/a"},
		{Pattern: "/api/x", Action: "merge"},
		{Pattern: "/api/x{y}", Action: "param"},
		{Pattern: "/api/{a-b}", Action: "param"},
	} {
		cfg := DefaultConfig()
		cfg.Rules = []Rule{r}
		if err := cfg.Validate(); err == nil {
			t.Errorf("rule %+v: no error", r)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxChildren, cfg.OpenShare, cfg.MaxDepth = 1, 101, 1000
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_children") || !strings.Contains(err.Error(), "open_share") || !strings.Contains(err.Error(), "max_depth") {
		t.Errorf("Validate: %v", err)
	}
}

// TestBudgets: hosts beyond MaxHosts and nodes beyond MaxNodesPerHost are
// not learned, and counted; templating still works by class.
func TestBudgets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts, cfg.MaxNodesPerHost, cfg.MaxDepth = 2, 50, 4
	l := newLearner(t, cfg)
	for i := 0; i < 5; i++ {
		l.Observe(fmt.Sprintf("h%d", i), "/a/b")
	}
	for i := 0; i < 100; i++ {
		l.Observe("h0", fmt.Sprintf("/w%c%c/x", 'a'+i%26, 'a'+i/26))
	}
	l.Observe("h0", "/a/b/c/d/e/f")
	s := l.Stats()
	if s.Hosts != 2 || s.HostDrops != 3 || s.NodeDrops == 0 || s.Truncated != 1 || s.Nodes > 2*50 {
		t.Errorf("stats %+v", s)
	}
	if got := l.Template("h4", "/a/42").Template; got != "/a/{aId}" {
		t.Errorf("unlearned host: %s", got)
	}
}

// TestAppendTemplateAllocs: the fast path allocates nothing.
func TestAppendTemplateAllocs(t *testing.T) {
	l, paths := warm(t, 20000)
	buf := make([]byte, 0, 512)
	i := 0
	testutil.AssertAllocs(t, 0, func() {
		buf = l.AppendTemplate(buf[:0], "api.example.com", paths[i%len(paths)])
		buf = l.AppendTemplate(buf[:0], "unknown.example.com", paths[i%len(paths)])
		i++
	})
}

// TestConfigYAML: the documented rules example decodes, with every key
// known.
func TestConfigYAML(t *testing.T) {
	const doc = `
min_distinct: 6
max_children: 500
rules:
  - pattern: /api/files/{name}
    action: param
  - pattern: /users/{}/settings/{}
    action: param
    name: key
  - pattern: /users/me
    action: static
  - pattern: /v1/legacy/{}/**
    action: merge
    into: /v2/items/{itemId}
`
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MinDistinct != 6 || cfg.MaxChildren != 500 || cfg.OpenShare != 25 || len(cfg.Rules) != 4 || cfg.Rules[1].Name != "key" || cfg.Rules[3].Into != "/v2/items/{itemId}" {
		t.Errorf("decoded %+v", cfg)
	}
}
