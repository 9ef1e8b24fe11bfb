package exposure

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
)

var ep = Endpoint{Host: "api.example.com", Port: 443, Method: "GET", Path: "/users/{id}"}

func fold(t *testing.T, en *Engine, p *Profile, e *series, n int) {
	t.Helper()
	for i := range n {
		ex := e.make(i)
		items := []Item{{Exchange: ex, Template: e.template, Watch: p.Watch()}}
		en.Scan(items, nil)
		p.Add(items[0].Hits, ex.Start)
	}
}

// series builds the i-th exchange of a series.
type series struct {
	template string
	body     func(i int) string
	status   int
}

func (f *series) make(i int) *flow.Exchange {
	e := exch("GET", "/users/1", max(f.status, 200), "", "", "application/json", f.body(i))
	e.Start = t0.Add(time.Duration(i) * time.Second)
	return e
}

func findingOf(fs []Finding, loc, field, typ string) *Finding {
	for i := range fs {
		if fs[i].Location == loc && fs[i].Field == field && fs[i].Type == typ {
			return &fs[i]
		}
	}
	return nil
}

func TestProfileAggregatesPerField(t *testing.T) {
	en := engine(t, nil)
	p := en.NewProfile()
	fold(t, en, p, &series{template: "/users/{id}", body: func(i int) string {
		return fmt.Sprintf(`{"id":%d,"email":"user%d@corp-mail.com","ssn":"%03d-45-6789"}`, i, i, 100+i)
	}}, 10)
	fs := p.Findings(ep, false)
	f := findingOf(fs, ResponseBody, "$.email", "email")
	if f == nil {
		t.Fatalf("no email finding: %+v", fs)
	}
	if f.Kind != KindPII || f.Count != 10 || f.Matches != 10 || f.Values != 10 || f.MatchShare != 1 ||
		!f.FirstSeen.Equal(t0) || !f.LastSeen.Equal(t0.Add(9*time.Second)) || f.Severity != "medium" || !f.Alert {
		t.Errorf("email finding: %+v", f)
	}
	s := findingOf(fs, ResponseBody, "$.ssn", "us_ssn")
	if s == nil || s.Severity != "high" || s.Confidence != "confirmed" {
		t.Errorf("ssn finding: %+v", s)
	}
	types := p.Types()
	if got := strings.Join(types[ResponseBody], ","); got != "email,us_ssn" {
		t.Errorf("pii_types %v", types)
	}
	// Stable ids: the same field gives the same id.
	if again := findingOf(p.Findings(ep, false), ResponseBody, "$.email", "email"); again.ID != f.ID || len(f.ID) != 24 {
		t.Errorf("id %q then %q", f.ID, again.ID)
	}
}

// TestNoiseField: a field where one value in a thousand happens to pass a
// validator is noise: counted at the possible tier, not alerted, not in
// pii_types.
func TestNoiseField(t *testing.T) {
	en := engine(t, nil)
	p := en.NewProfile()
	fold(t, en, p, &series{template: "/orders", body: func(i int) string {
		var b strings.Builder
		b.WriteString(`{"items":[`)
		for j := range 50 {
			if j > 0 {
				b.WriteString(",")
			}
			code := fmt.Sprintf("77%014d", i*50+j)
			if i == 3 && j == 7 {
				code = "4539148803436467" // one Luhn-valid Visa number among 1000 codes
			}
			fmt.Fprintf(&b, `{"card":"%s"}`, code)
		}
		b.WriteString(`]}`)
		return b.String()
	}}, 20)
	f := findingOf(p.Findings(ep, false), ResponseBody, "$.items[].card", "credit_card")
	if f == nil {
		t.Fatal("the card match is not counted at all")
	}
	// Values count from the first match on: 17 messages of 50.
	if f.Confidence != "possible" || f.Alert || f.Values != 850 || f.Matches != 1 || f.Severity != "info" {
		t.Errorf("noise field: %+v", f)
	}
	if len(p.Types()) != 0 {
		t.Errorf("noise in pii_types: %v", p.Types())
	}
}

func TestBulkExposure(t *testing.T) {
	en := engine(t, nil)
	p := en.NewProfile()
	body := func(n int) func(int) string {
		return func(int) string {
			var b strings.Builder
			b.WriteString(`{"users":[`)
			for j := range n {
				if j > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"email":"u%d@corp-mail.com"}`, j)
			}
			b.WriteString(`]}`)
			return b.String()
		}
	}
	fold(t, en, p, &series{body: body(3)}, 1)
	f := findingOf(p.Findings(ep, true), ResponseBody, "$.users[].email", "email")
	if f == nil || f.Bulk || f.Severity != "medium" {
		t.Fatalf("before: %+v", f)
	}
	fold(t, en, p, &series{body: body(60)}, 1)
	f = findingOf(p.Findings(ep, true), ResponseBody, "$.users[].email", "email")
	if f == nil || !f.Bulk || f.MaxPerMessage != 60 || f.Severity != "high" || !strings.Contains(f.Summary, "bulk") {
		t.Fatalf("bulk exposure must be reported at once with a raised severity: %+v", f)
	}
}

func TestExamplesNotAlerted(t *testing.T) {
	en := engine(t, nil)
	p := en.NewProfile()
	fold(t, en, p, &series{body: func(int) string { return `{"card_number":"4111 1111 1111 1111"}` }}, 5)
	f := findingOf(p.Findings(ep, false), ResponseBody, "$.card_number", "credit_card")
	if f == nil || !f.Example || f.Alert || f.Severity != "info" {
		t.Fatalf("example: %+v", f)
	}
}

func TestFindingsDue(t *testing.T) {
	en := engine(t, nil)
	p := en.NewProfile()
	ex := &series{body: func(int) string { return `{"email":"ann.lee@corp-mail.com"}` }}
	fold(t, en, p, ex, 1)
	if n := len(p.Findings(ep, true)); n != 1 {
		t.Fatalf("new field: %d findings", n)
	}
	fold(t, en, p, ex, 5) // within report_every of capture time
	if fs := p.Findings(ep, true); len(fs) != 0 {
		t.Fatalf("a field that only counts on is not due yet: %+v", fs)
	}
	e := ex.make(0)
	e.Start = t0.Add(2 * time.Minute)
	p.Add(scan(t, en, e, ""), e.Start)
	if fs := p.Findings(ep, true); len(fs) != 1 || fs[0].Count != 7 {
		t.Fatalf("after report_every: %+v", fs)
	}
}

func TestMergeRestoreAndBudget(t *testing.T) {
	en := engine(t, func(c *Config) { c.MaxFields = 3 })
	a, b := en.NewProfile(), en.NewProfile()
	fold(t, en, a, &series{body: func(int) string { return `{"email":"ann.lee@corp-mail.com","phone":"+14155550132"}` }}, 2)
	fold(t, en, b, &series{body: func(int) string { return `{"email":"bob.stone@corp-mail.com","iban":"DE89370400440532013000"}` }}, 3)
	// a has 2 fields, b got 1 of its 2 (the budget of 3 ran out).
	if a.Len() != 2 || b.Len() != 1 || en.Stats().FieldsOverflow != 3 {
		t.Fatalf("budget: a %d b %d overflow %d", a.Len(), b.Len(), en.Stats().FieldsOverflow)
	}
	a.Merge(b)
	f := findingOf(a.Findings(ep, false), ResponseBody, "$.email", "email")
	if f == nil || f.Count != 5 || en.Stats().Fields != 2 {
		t.Fatalf("merged: %+v, fields %d", f, en.Stats().Fields)
	}
	blob, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(blob), "ann.lee") || strings.Contains(string(blob), "bob.stone") {
		t.Fatalf("raw values in the stored state: %s", blob)
	}
	en2 := engine(t, nil)
	r, err := en2.Restore(nil, blob)
	if err != nil {
		t.Fatal(err)
	}
	if fs := r.Findings(ep, true); len(fs) != 0 {
		t.Errorf("restored fields count as reported: %+v", fs)
	}
	g := findingOf(r.Findings(ep, false), ResponseBody, "$.email", "email")
	if g == nil || g.Count != 5 || g.MaskedSample != f.MaskedSample || g.Fingerprint != f.Fingerprint {
		t.Errorf("restored %+v, want %+v", g, f)
	}
	if _, err := en2.Restore(nil, []byte("{")); err == nil {
		t.Error("a broken blob must be an error")
	}
	r.Release()
	if en2.Stats().Fields != 0 {
		t.Errorf("released fields still charged: %d", en2.Stats().Fields)
	}
}

// TestNoRawValuesInFindings: whatever is found, the findings carry masks
// and fingerprints, never the value.
func TestNoRawValuesInFindings(t *testing.T) {
	secrets := []string{"ann.lee@corp-mail.com", "4539148803436467", "DE89370400440532013000", "123-45-6789",
		"AKIA2E0A8F3B244C9986", "ghp_" + strings.Repeat("x", 36), "hunter2-Secret!"}
	body := fmt.Sprintf(`{"email":%q,"card_number":%q,"iban":%q,"ssn":%q,"aws_access_key_id":%q,"password":%q}`,
		secrets[0], secrets[1], secrets[2], secrets[3], secrets[4], secrets[6])
	en := engine(t, nil)
	p := en.NewProfile()
	e := exch("POST", "/login?token="+secrets[5], 500, "application/json", body, "application/json", body)
	p.Add(scan(t, en, e, "/login"), e.Start)
	fs := p.Findings(ep, false)
	if len(fs) < 8 {
		t.Fatalf("expected findings for every planted value, got %d", len(fs))
	}
	out, _ := json.Marshal(fs)
	blob, _ := json.Marshal(p)
	for _, s := range secrets {
		if strings.Contains(string(out), s) || strings.Contains(string(blob), s) {
			t.Errorf("raw value %q in findings or state", s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"alert_confidence": func(c *Config) { c.AlertConfidence = "sure" },
		"noise_share":      func(c *Config) { c.NoiseShare = 1.5 },
		"bulk_values":      func(c *Config) { c.BulkValues = 0 },
		"fingerprint_key":  func(c *Config) { c.FingerprintKey = []byte("short") },
		"detect":           func(c *Config) { c.Detect.MinConfidence = "maybe" },
		"workers":          func(c *Config) { c.Workers = -1 },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), strings.Split(name, "_")[0]) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
