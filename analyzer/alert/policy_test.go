package alert

import (
	"bytes"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func finding(typ, sev, client string, count uint64, seen time.Time) *analyzer.FindingRow {
	return &analyzer.FindingRow{ID: "f-" + typ + client, Kind: "anomaly", Type: typ, Severity: sev, Confidence: "likely",
		Host: "api.example.com", Method: "GET", Endpoint: "/users/{id}", ClientIP: client, Count: count,
		FirstSeen: t0, LastSeen: seen, Summary: typ + " from " + client, Evidence: `{"ids":40}`}
}

func mustPolicy(t *testing.T, mod func(*PolicyConfig)) *Policy {
	t.Helper()
	cfg := DefaultPolicy()
	if mod != nil {
		mod(&cfg)
	}
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyEpisode(t *testing.T) {
	p := mustPolicy(t, nil)
	now := time.Now()
	a, ok := p.Decide(finding("bola_enumeration", "high", "10.0.0.7", 40, t0.Add(time.Minute)), now)
	if !ok || a.Action != "new" || a.Revision != 1 || a.ID == "" || a.DedupKey == "" || string(a.Evidence) != `{"ids":40}` {
		t.Fatalf("first finding: ok=%v %+v", ok, a)
	}
	// The episode goes on inside the window: nothing new is sent.
	for i := 2; i < 10; i++ {
		if b, ok := p.Decide(finding("bola_enumeration", "high", "10.0.0.7", uint64(40*i), t0.Add(time.Duration(i)*time.Minute)), now); ok {
			t.Fatalf("update %d inside the suppression window sent: %+v", i, b)
		}
	}
	// A higher severity is sent at once, as an update of the same alert.
	b, ok := p.Decide(finding("bola_enumeration", "critical", "10.0.0.7", 500, t0.Add(11*time.Minute)), now)
	if !ok || b.Action != "update" || b.ID != a.ID || b.Revision != 2 || b.Severity != "critical" {
		t.Fatalf("escalation: ok=%v %+v", ok, b)
	}
	// The same severity again after the window, with more evidence: an update.
	c, ok := p.Decide(finding("bola_enumeration", "critical", "10.0.0.7", 900, t0.Add(72*time.Minute)), now)
	if !ok || c.Revision != 3 || c.ID != a.ID {
		t.Fatalf("after the window: ok=%v %+v", ok, c)
	}
	// After the window but nothing new (a re-emitted finding): suppressed.
	if _, ok := p.Decide(finding("bola_enumeration", "critical", "10.0.0.7", 900, t0.Add(72*time.Minute)), now); ok {
		t.Fatal("a finding with no new evidence was sent again")
	}
	// Another client is another dedup key.
	d, ok := p.Decide(finding("bola_enumeration", "high", "10.0.0.8", 40, t0.Add(time.Minute)), now)
	if !ok || d.ID == a.ID || d.DedupKey == a.DedupKey {
		t.Fatalf("other client: ok=%v %+v", ok, d)
	}
	// Quiet past expire: a new episode, a new id.
	e, ok := p.Decide(finding("bola_enumeration", "high", "10.0.0.7", 40, t0.Add(30*time.Hour)), now)
	if !ok || e.Action != "new" || e.ID == a.ID {
		t.Fatalf("after expire: ok=%v %+v", ok, e)
	}
	s := p.Stats()
	if s.New != 3 || s.Updates != 2 || s.Suppressed != 9 || s.Keys != 2 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPolicyFloorsAndRules(t *testing.T) {
	p := mustPolicy(t, func(c *PolicyConfig) {
		c.Rules = []Rule{
			{Kind: "anomaly", Type: "recon", MinSeverity: "critical"},
			{Kind: "anomaly", Type: "missing_rate_limit", Disabled: true},
			{Kind: "pii", MinSeverity: "low", MinConfidence: "confirmed"},
		}
	})
	cases := []struct {
		kind, typ, sev, conf string
		want                 bool
	}{
		{"anomaly", "bola_enumeration", "medium", "likely", true},
		{"anomaly", "bola_enumeration", "low", "likely", false},        // under the global floor
		{"anomaly", "bola_enumeration", "high", "possible", false},     // confidence under the floor
		{"anomaly", "recon", "high", "likely", false},                  // the rule raises the floor
		{"anomaly", "recon", "critical", "likely", true},               //
		{"anomaly", "missing_rate_limit", "critical", "likely", false}, // disabled
		{"pii", "email", "low", "confirmed", true},                     // the rule lowers severity, raises confidence
		{"pii", "email", "high", "likely", false},                      //
		{"shadow_endpoint", "undocumented", "medium", "", true},        // no confidence counts as confirmed
		{"exposure", "verbose_error", "info", "confirmed", false},      //
	}
	for i, c := range cases {
		f := &analyzer.FindingRow{ID: "x", Kind: c.kind, Type: c.typ, Severity: c.sev, Confidence: c.conf, Host: "h", ClientIP: string(rune('a' + i)), LastSeen: t0}
		if _, got := p.Decide(f, t0); got != c.want {
			t.Errorf("%s/%s %s %s: alert=%v, want %v", c.kind, c.typ, c.sev, c.conf, got, c.want)
		}
	}
	bad := DefaultPolicy()
	bad.MinSeverity = "severe"
	bad.Rules = []Rule{{Kind: "nope"}}
	if err := bad.Validate(); err == nil {
		t.Fatal("bad policy validated")
	}
}

// A restarted analyzer replays findings it already alerted on: with the
// saved state they are suppressed, and a new episode keeps counting.
func TestPolicyStateSurvivesRestart(t *testing.T) {
	p := mustPolicy(t, nil)
	a, _ := p.Decide(finding("credential_stuffing", "high", "10.0.0.9", 10, t0), t0)
	var buf bytes.Buffer
	if err := p.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	q := mustPolicy(t, nil)
	if err := q.LoadState(&buf); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Decide(finding("credential_stuffing", "high", "10.0.0.9", 10, t0), t0); ok {
		t.Fatal("a replayed finding alerted again after a restart")
	}
	b, ok := q.Decide(finding("credential_stuffing", "critical", "10.0.0.9", 99, t0.Add(time.Minute)), t0)
	if !ok || b.ID != a.ID || b.Revision != 2 {
		t.Fatalf("update after restart: ok=%v %+v", ok, b)
	}
	// Without state, a replay names the alert the same (id from key and first evidence).
	r := mustPolicy(t, nil)
	c, _ := r.Decide(finding("credential_stuffing", "high", "10.0.0.9", 10, t0), t0)
	if c.ID != a.ID {
		t.Fatalf("id not stable across a stateless replay: %s vs %s", c.ID, a.ID)
	}
	if err := r.LoadState(bytes.NewBufferString(`{"version":99}`)); err == nil {
		t.Fatal("a state of another version loaded")
	}
}

func TestPolicyBoundsKeys(t *testing.T) {
	p := mustPolicy(t, func(c *PolicyConfig) { c.MaxKeys = 100 })
	for i := 0; i < 1000; i++ {
		f := finding("recon", "high", "10.1."+string(rune('0'+i/256))+"."+string(rune('0'+i%10)), 1, t0.Add(time.Duration(i)*time.Second))
		f.Principal = time.Duration(i).String()
		p.Decide(f, t0)
	}
	s := p.Stats()
	if s.Keys > 100 || s.Evicted == 0 || s.New != 1000 {
		t.Fatalf("keys not bounded: %+v", s)
	}
}

// A batch whose alerts could not be stored is rolled back: its findings
// decide the same way when the batch is retried.
func TestPolicyRollback(t *testing.T) {
	p := mustPolicy(t, func(c *PolicyConfig) { c.MaxKeys = 2 })
	a, _ := p.Decide(finding("recon", "high", "10.0.0.1", 1, t0), t0)
	p.Begin()
	b, ok1 := p.Decide(finding("recon", "critical", "10.0.0.1", 5, t0.Add(time.Minute)), t0)
	c, ok2 := p.Decide(finding("recon", "high", "10.0.0.2", 1, t0.Add(time.Minute)), t0)
	d, ok3 := p.Decide(finding("recon", "high", "10.0.0.3", 1, t0.Add(2*time.Minute)), t0) // evicts
	p.Rollback()
	b2, _ := p.Decide(finding("recon", "critical", "10.0.0.1", 5, t0.Add(time.Minute)), t0)
	c2, _ := p.Decide(finding("recon", "high", "10.0.0.2", 1, t0.Add(time.Minute)), t0)
	d2, _ := p.Decide(finding("recon", "high", "10.0.0.3", 1, t0.Add(2*time.Minute)), t0)
	if !ok1 || !ok2 || !ok3 || b2.Revision != b.Revision || b2.ID != a.ID || c2.ID != c.ID || c2.Action != "new" || d2.ID != d.ID || d2.Action != "new" {
		t.Fatalf("rollback did not restore the decisions: %+v %+v %+v", b2, c2, d2)
	}
}

// The dedup key: the method is part of the endpoint; client and principal
// count for anomalies only (an endpoint finding's sample client varies).
func TestDedupKey(t *testing.T) {
	base := analyzer.FindingRow{Kind: "anomaly", Type: "recon", Host: "h", Method: "GET", Endpoint: "/a", ClientIP: "10.0.0.1", Principal: "p"}
	k := DedupKey(&base)
	for _, mod := range []func(*analyzer.FindingRow){
		func(f *analyzer.FindingRow) { f.Type = "scraping" },
		func(f *analyzer.FindingRow) { f.Host = "h2" },
		func(f *analyzer.FindingRow) { f.Method = "DELETE" },
		func(f *analyzer.FindingRow) { f.Endpoint = "/b" },
		func(f *analyzer.FindingRow) { f.ClientIP = "10.0.0.2" },
		func(f *analyzer.FindingRow) { f.Principal = "q" },
	} {
		f := base
		mod(&f)
		if DedupKey(&f) == k {
			t.Errorf("%+v has the key of %+v", f, base)
		}
	}
	shadow := base
	shadow.Kind = "shadow_endpoint"
	other := shadow
	other.ClientIP, other.Principal = "10.9.9.9", "z"
	if DedupKey(&shadow) != DedupKey(&other) {
		t.Error("an endpoint finding's key depends on its sample client")
	}
	// Fields joined without a separator must not collide.
	a := analyzer.FindingRow{Kind: "anomaly", Host: "ab", Endpoint: "c"}
	b := analyzer.FindingRow{Kind: "anomaly", Host: "a", Endpoint: "bc"}
	if DedupKey(&a) == DedupKey(&b) {
		t.Error("key fields run together")
	}
}
