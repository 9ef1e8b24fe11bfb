package pii

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func newCustom(t testing.TB, cs ...Custom) *Detector {
	t.Helper()
	d, err := New(Config{Custom: cs})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// customHits lists the custom matches as "name:tier:span".
func customHits(d *Detector, ms []Match, v string) string {
	var b []string
	for _, m := range ms {
		if m.Type >= CustomBase {
			s := d.Name(m.Type) + ":" + m.Confidence.String() + ":" + v[m.Start:m.End]
			if m.Example {
				s += ":example"
			}
			b = append(b, s)
		}
	}
	return strings.Join(b, " ")
}

func TestCustomModes(t *testing.T) {
	d := newCustom(t,
		Custom{Name: "tax_ref", KeyRegex: `(?i)(^|[._])tax_?ref$`, ValueRegex: `TR-[0-9]{8}-[A-Z]`},                          // all
		Custom{Name: "employee_id", KeyRegex: `(?i)employee_?id$`, ValueRegex: `^E[0-9]{6}$`, Match: "any", Severity: "low"}, // any
		Custom{Name: "internal_note", KeyRegex: `(?i)\.internal_notes?$`, Confidence: "possible"},                            // key only
		Custom{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}`, Confidence: "confirmed", Severity: "critical"},           // value only
	)
	cases := []struct{ key, value, want string }{
		// all: key and value
		{"$.user.tax_ref", "TR-12345678-X", "tax_ref:likely:TR-12345678-X"},
		{"$.user.TaxRef", "ref TR-12345678-X ok", "tax_ref:likely:TR-12345678-X"},
		{"$.user.tax_ref", "12345678", ""},           // value fails
		{"$.user.comment", "TR-12345678-X", ""},      // key fails
		{"$.user.syntax_ref", "TR-12345678-X", ""},   // key regex is whole-word by its own anchors
		{"$.user.tax_ref.note", "TR-12345678-X", ""}, // the key regex is anchored at the end
		{"$.user.tax_ref", "  TR-12345678-X", "tax_ref:likely:TR-12345678-X"},
		// any: key or value
		{"$.staff.employeeId", "42", "employee_id:likely:42"},            // key alone: the whole value
		{"$.staff.code", "E123456", "employee_id:likely:E123456"},        // value alone
		{"$.staff.code", "E1234567", ""},                                 // value regex is anchored
		{"$.staff.employee_id", "E123456", "employee_id:likely:E123456"}, // both: one match
		{"$.staff.employee_id", "null", ""},                              // key alone never reports a nullish value
		// key only
		{"$.ticket.internal_notes", "customer is angry", "internal_note:possible:customer is angry"},
		{"$.ticket.internal_note", "REDACTED", "internal_note:possible:REDACTED:example"},
		{"$.ticket.notes", "customer is angry", ""},
		// value only, anywhere in the value
		{"$.x", "token acme_0123456789abcdef here", "acme_token:confirmed:acme_0123456789abcdef"},
		{"$.x", "acme_0123456789ABCDEF", ""},
	}
	for _, c := range cases {
		ms := d.Leaf(nil, []byte(c.key), []byte(c.value))
		if got := customHits(d, ms, c.value); got != c.want {
			t.Errorf("Leaf(%s, %q) = %q, want %q", c.key, c.value, got, c.want)
		}
		for _, m := range ms {
			if m.Start < 0 || m.End > len(c.value) || m.Start >= m.End {
				t.Errorf("bad span %+v", m)
			}
		}
		// LeafKey with the detector's parsed key gives the same
		ms2 := d.LeafKey(nil, d.ParseKey([]byte(c.key)), []byte(c.value))
		if show(ms, c.value) != show(ms2, c.value) {
			t.Errorf("%s=%q: Leaf %s, LeafKey %s", c.key, c.value, show(ms, c.value), show(ms2, c.value))
		}
	}
	// a Key from the package ParseKey has no key text: key regexes cannot match
	k := ParseKey([]byte("$.user.tax_ref"))
	if got := customHits(d, d.LeafKey(nil, k, []byte("TR-12345678-X")), "TR-12345678-X"); got != "" {
		t.Errorf("package ParseKey: %q", got)
	}
	if got := customHits(d, d.LeafKey(nil, k, []byte("E123456")), "E123456"); got != "employee_id:likely:E123456" {
		t.Errorf("package ParseKey, value regex: %q", got)
	}
	// a Key parsed by another Detector acts the same
	other := newCustom(t, Custom{Name: "tax_ref", KeyRegex: `.`})
	if got := customHits(d, d.LeafKey(nil, other.ParseKey([]byte("$.user.tax_ref")), []byte("TR-12345678-X")), "TR-12345678-X"); got != "" {
		t.Errorf("foreign Key: %q", got)
	}
	// severities and names
	for _, c := range []struct {
		name, sev string
	}{{"tax_ref", "medium"}, {"employee_id", "low"}, {"internal_note", "medium"}, {"acme_token", "critical"}} {
		ty, ok := d.ParseType(c.name)
		if !ok || ty < CustomBase || d.Name(ty) != c.name {
			t.Errorf("ParseType(%s) = %d %v", c.name, ty, ok)
		}
		if s, ok := d.Severity(ty); !ok || s != c.sev {
			t.Errorf("Severity(%s) = %q %v, want %q", c.name, s, ok, c.sev)
		}
	}
	if d.Name(CustomBase) != "tax_ref" || d.Name(CustomBase+3) != "acme_token" {
		t.Error("custom types are CustomBase+i in order")
	}
	if d.Name(Email) != "email" || d.Name(UKNINO) != "uk_nino" || d.Name(CustomBase+4) != "pii.Type(104)" {
		t.Errorf("Name: %s %s %s", d.Name(Email), d.Name(UKNINO), d.Name(CustomBase+4))
	}
	if _, ok := d.Severity(Email); ok {
		t.Error("a built-in type has a configured severity")
	}
	if ty, ok := d.ParseType("email"); !ok || ty != Email {
		t.Error("ParseType(email)")
	}
	// built-ins still run beside the customs
	ms := d.Leaf(nil, []byte("$.user.email"), []byte("jane@acme.io"))
	if _, ok := find(ms, Email); !ok || len(ms) != 1 {
		t.Errorf("built-ins with customs: %s", show(ms, ""))
	}
}

func TestCustomText(t *testing.T) {
	d := newCustom(t,
		Custom{Name: "tax_ref", KeyRegex: `(?i)tax_?ref`, ValueRegex: `TR-[0-9]{8}-[A-Z]`},               // all: never in text
		Custom{Name: "employee_id", KeyRegex: `(?i)employee`, ValueRegex: `\bE[0-9]{6}\b`, Match: "any"}, // its value regex runs
		Custom{Name: "internal_note", KeyRegex: `notes`},                                                 // key only: never in text
		Custom{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}`},
	)
	text := "notes: TR-12345678-X by E123456 and E654321, key acme_0123456789abcdef, acme_fedcba9876543210."
	ms := d.Text(nil, []byte("$.employee.notes.tax_ref"), []byte(text))
	want := "employee_id:likely:E123456 employee_id:likely:E654321 acme_token:likely:acme_0123456789abcdef acme_token:likely:acme_fedcba9876543210"
	if got := customHits(d, ms, text); got != want {
		t.Errorf("Text = %q\nwant %q", got, want)
	}
	// bounded matches per detector
	many := strings.Repeat("E123456 ", 100)
	if n := len(d.Text(nil, nil, []byte(many))); n != maxTextMatches {
		t.Errorf("%d matches, want %d", n, maxTextMatches)
	}
}

func TestCustomConfig(t *testing.T) {
	bad := []struct {
		c    Custom
		want string
	}{
		{Custom{KeyRegex: "x"}, "name is required"},
		{Custom{Name: "Tax", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "tax ref", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "tax__ref", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "_tax", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "tax_", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "1tax", KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: strings.Repeat("a", 65), KeyRegex: "x"}, "lower_snake"},
		{Custom{Name: "email", KeyRegex: "x"}, "clashes with the built-in type email"},
		{Custom{Name: "uk_nino", KeyRegex: "x"}, "clashes with the built-in type uk_nino"},
		{Custom{Name: "tax_ref"}, "key_regex or value_regex is required"},
		{Custom{Name: "tax_ref", KeyRegex: "(tax"}, "key_regex: error parsing regexp: missing closing )"},
		{Custom{Name: "tax_ref", ValueRegex: "[a-"}, "value_regex: error parsing regexp"},
		{Custom{Name: "tax_ref", ValueRegex: `(?<=x)y`}, "value_regex"}, // no look-behind in RE2
		{Custom{Name: "tax_ref", ValueRegex: "x*"}, "matches the empty string"},
		{Custom{Name: "tax_ref", ValueRegex: `^\b`}, "matches the empty string"},
		{Custom{Name: "tax_ref", ValueRegex: "x", Match: "both"}, `match "both" is not all or any`},
		{Custom{Name: "tax_ref", ValueRegex: "x", Confidence: "high"}, `confidence "high"`},
		{Custom{Name: "tax_ref", ValueRegex: "x", Severity: "urgent"}, `severity "urgent" is not one of info, low, medium, high, critical`},
	}
	for _, b := range bad {
		_, err := New(Config{Custom: []Custom{b.c}})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: err %v, want %q", b.c, err, b.want)
		}
		if err != nil && !strings.Contains(err.Error(), "custom[0]") {
			t.Errorf("error does not say which detector: %v", err)
		}
		if (Config{Custom: []Custom{b.c}}).Validate() == nil {
			t.Errorf("%+v: Validate accepts", b.c)
		}
	}
	// duplicates, and every problem reported at once
	_, err := New(Config{Custom: []Custom{{Name: "a", KeyRegex: "x"}, {Name: "a", KeyRegex: "("}}})
	if err == nil || !strings.Contains(err.Error(), "used twice") || !strings.Contains(err.Error(), "missing closing") {
		t.Errorf("duplicate: %v", err)
	}
	many := make([]Custom, MaxCustom+1)
	for i := range many {
		many[i] = Custom{Name: "c" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)), KeyRegex: "x"}
	}
	if _, err := New(Config{Custom: many}); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("too many: %v", err)
	}
	if _, err := New(Config{Custom: many[:MaxCustom]}); err != nil {
		t.Errorf("%d detectors: %v", MaxCustom, err)
	}
	// case and space are forgiven in the enumerations
	d, err := New(Config{Custom: []Custom{{Name: "x_1", ValueRegex: "q", Match: " ANY ", Confidence: "Confirmed", Severity: "HIGH"}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := d.Severity(CustomBase); s != "high" || !d.custom[0].any || d.custom[0].conf != Confirmed {
		t.Errorf("parsed %+v", d.custom[0])
	}
	// below min_confidence: never reported
	d, err = New(Config{MinConfidence: "likely", Custom: []Custom{{Name: "weak", ValueRegex: "q", Confidence: "possible"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ms := d.Leaf(nil, []byte("k"), []byte("q")); len(ms) != 0 {
		t.Errorf("possible custom under min likely: %v", ms)
	}
}

// The prefilter never rejects an input the regex matches.
func TestCustomPrefilter(t *testing.T) {
	exprs := []string{
		`(?i)tax_?ref`, `^TR-[0-9]{8}-[A-Z]$`, `(?i)^k`, `(?i)SECRET`, `sk|ks`, `^(ab|cd)+$`, `^[A-Z]{2}[0-9]{6}$`,
		`x*`, `^$`, `^a?b?$`, `(?i)(employee|staff)_?(id|no)$`, `ä+x`, `(?i)ä`, `^.{3,5}$`, `^\d{4}(-\d{4}){2}$`,
		`\bE[0-9]{6}\b`, `(?m)^ab$`, `^(?:)`, `a{0}b`, `[^a-z]`, `^\p{Lu}`, `(?s)^.`, `^(?i:K)`, `\x{212A}`,
		`^ab\b`, `(?i)x+k$`, `(a|bk)$`, `^(?i)s\b`, `(?i)(tax|ss)_?id$`, `^(?:sk|rk)_[a-z]+\b`, `(?i)\bä$`, `c+$`,
	}
	alpha := []string{"a", "b", "c", "d", "k", "K", "s", "x", "ä", "Ä", "\u212a", "\u017f", "E", "T", "R", "-", "_", "0", "1", "9", "\n", "\xff", " ", "tax", "REF", "SECRET", "staff", "id"}
	r := rand.New(rand.NewPCG(5, 5))
	for _, e := range exprs {
		m, err := compileMatcher(e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		for n := 0; n < 3000; n++ {
			var b strings.Builder
			for k := r.IntN(12); k > 0; k-- {
				b.WriteString(alpha[r.IntN(len(alpha))])
			}
			v := []byte(b.String())
			if m.re.Match(v) && !m.maybe(v) {
				t.Fatalf("%s: prefilter rejects %q, which matches", e, v)
			}
		}
	}
	// and it rejects what it should
	m, _ := compileMatcher(`(?i)(^|[._])tax_?ref$`)
	if m.maybe([]byte("$.data.items.status")) || !m.maybe([]byte("$.user.TAX_REF")) {
		t.Errorf("literal filter: %q", m.suf.lits)
	}
	m, _ = compileMatcher(`^TR-[0-9]{8}-[A-Z]$`)
	if m.minLen != 13 || m.maxLen < 13 || m.first == nil || m.maybe([]byte("active")) {
		t.Errorf("anchored filter: min %d max %d", m.minLen, m.maxLen)
	}
	m, _ = compileMatcher(`(?i)(employee|staff)_?(id|no)$`)
	if len(m.lits.lits) != 2 || len(m.suf.lits) != 2 || m.maybe([]byte("$.data.items.created_at")) || m.maybe([]byte("$.data.items.id")) {
		t.Errorf("alternation filter: %q %q", m.lits.lits, m.suf.lits)
	}
	m, _ = compileMatcher(`^(?:sk|rk)_live_[a-z0-9]+\b`)
	if len(m.pre.lits) != 2 || m.maybe([]byte("pk_live_abc")) || !m.maybe([]byte("rk_live_abc")) {
		t.Errorf("prefix filter: %q", m.pre.lits)
	}
}

// A Leaf with custom detectors allocates nothing, hits included.
func TestCustomZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector: sync.Pool drops items, so go-re2 allocates")
	}
	d, err := New(Config{CountryIDs: []string{"all"}, Custom: []Custom{
		{Name: "tax_ref", KeyRegex: `(?i)tax_?ref`, ValueRegex: `TR-[0-9]{8}-[A-Z]`},
		{Name: "employee_id", KeyRegex: `(?i)employee_?id$`, ValueRegex: `^E[0-9]{6}$`, Match: "any"},
		{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	leaves := append(benchLeaves(),
		benchLeaf{[]byte("$.user.tax_ref"), []byte("TR-12345678-X")},
		benchLeaf{[]byte("$.user.employeeId"), []byte("E123456")},
		benchLeaf{[]byte("$.x"), []byte("acme_0123456789abcdef")},
		benchLeaf{[]byte("$.employee.nino"), []byte("JG 10 37 29 B")},
		benchLeaf{[]byte("$.patient.nhs_number"), []byte("401 023 2137")})
	keys := make([]Key, len(leaves))
	for i, l := range leaves {
		keys[i] = d.ParseKey(l.key)
	}
	text := []byte(string(benchText) + " acme_0123456789abcdef E123456 X1234567L")
	dst := make([]Match, 0, 32)
	hits := 0
	allocs := testing.AllocsPerRun(100, func() {
		hits = 0
		for i, l := range leaves {
			dst = d.Leaf(dst[:0], l.key, l.value)
			hits += len(dst)
			dst = d.LeafKey(dst[:0], keys[i], l.value)
		}
		dst = d.Text(dst[:0], nil, text)
		hits += len(dst)
	})
	if allocs != 0 {
		t.Errorf("allocs per run = %v, want 0", allocs)
	}
	if hits < 12 {
		t.Errorf("%d hits: the custom and country leaves did not match", hits)
	}
}

// BenchmarkLeafCustom: BenchmarkLeaf's leaves with one custom detector of
// each kind (none of them matching a leaf): the cost of a detector is the
// difference from BenchmarkLeaf.
func BenchmarkLeafCustom(b *testing.B) {
	for _, c := range []struct {
		name string
		c    Custom
	}{
		{"key_and_value", Custom{Name: "tax_ref", KeyRegex: `(?i)(^|[._])tax_?ref$`, ValueRegex: `^TR-[0-9]{8}-[A-Z]$`}},
		{"key_alternation", Custom{Name: "staff_id", KeyRegex: `(?i)(employee|staff)_?(id|no)$`}},
		{"key_no_literal", Custom{Name: "short_key", KeyRegex: `\.[a-z]{2}$`}},
		{"value_anchored", Custom{Name: "tax_ref", ValueRegex: `^TR-[0-9]{8}-[A-Z]$`}},
		{"value_literal", Custom{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}`}},
		{"value_no_literal", Custom{Name: "code", ValueRegex: `\b[A-Z]{3}[0-9]{4}\b`}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := newCustom(b, c.c)
			leaves := benchLeaves()
			dst := make([]Match, 0, 16)
			b.SetBytes(int64(jsonBytes(leaves)))
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range leaves {
					dst = d.Leaf(dst[:0], l.key, l.value)
				}
			}
		})
	}
}

// BenchmarkLeafCountryIDs: BenchmarkLeaf's leaves with every country ID
// enabled.
func BenchmarkLeafCountryIDs(b *testing.B) {
	d := allIDs(b)
	leaves := benchLeaves()
	dst := make([]Match, 0, 16)
	b.SetBytes(int64(jsonBytes(leaves)))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range leaves {
			dst = d.Leaf(dst[:0], l.key, l.value)
		}
	}
}

// One Detector with custom detectors serves many goroutines (run with
// -race in CI).
func TestCustomConcurrent(t *testing.T) {
	d, err := New(Config{CountryIDs: []string{"all"}, Custom: []Custom{
		{Name: "tax_ref", KeyRegex: `(?i)tax_?ref`, ValueRegex: `TR-[0-9]{8}-[A-Z]`},
		{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	key, v := []byte("$.user.tax_ref"), []byte("x TR-12345678-X acme_0123456789abcdef")
	want := show(d.Leaf(nil, key, v), "")
	done := make(chan string)
	for range 4 {
		go func() {
			var ms []Match
			got := want
			for range 500 {
				ms = d.Leaf(ms[:0], key, v)
				if s := show(ms, ""); s != want {
					got = s
				}
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; got != want {
			t.Errorf("concurrent Leaf = %s, want %s", got, want)
		}
	}
	if !strings.Contains(want, "pii.Type(100)") || !strings.Contains(want, "pii.Type(101)") {
		t.Errorf("matches %s", want)
	}
}
