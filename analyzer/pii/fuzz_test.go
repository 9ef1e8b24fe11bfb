package pii

import "testing"

func FuzzLeaf(f *testing.F) {
	for _, s := range [][2]string{
		{"card", "4111 1111 1111 1111"}, {"x", "DE89 3704 0044 0532 0130 00"}, {"ssn", "536-22-8901"},
		{"x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}, {"x", "-----BEGIN PRIVATE KEY-----\nAAAA"},
		{"Cookie", "a=b; sid=0123456789abcdef0123"}, {"Authorization", "Basic dXNlcjpwYXNz"},
		{"x", "::ffff:1.2.3.4"}, {"x", "+44 (20) 7946-0958"}, {"x", "a@b.c"}, {"x", "postgres://a:b@"},
		{"nino", "JG 10 37 29 B"}, {"nhs", "401 023 2137"}, {"x", "X-1234567-L 48264310Y"}, {"cpf", "529.982.247-25"},
		{"$.user.tax_ref", "TR-12345678-X"}, {"x", "acme_0123456789abcdef"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	d, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	// every country ID and a custom detector of each kind
	dc, err := New(Config{CountryIDs: []string{"all"}, Custom: []Custom{
		{Name: "tax_ref", KeyRegex: `(?i)tax_?ref`, ValueRegex: `TR-[0-9]{8}-[A-Z]`},
		{Name: "employee_id", KeyRegex: `(?i)employee`, ValueRegex: `\bE[0-9]{6}\b`, Match: "any"},
		{Name: "note", KeyRegex: `note`},
		{Name: "acme_token", ValueRegex: `acme_[a-z0-9]{16}|\bx+`},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		for _, det := range []*Detector{d, dc} {
			k := det.ParseKey(key)
			for _, fn := range []func([]Match, []byte, []byte) []Match{det.Leaf, det.Text,
				func(dst []Match, _, v []byte) []Match { return det.LeafKey(dst, k, v) }} {
				for _, m := range fn(nil, key, value) {
					if m.Start < 0 || m.End > len(value) || m.Start >= m.End {
						t.Fatalf("span [%d:%d] outside %d bytes", m.Start, m.End, len(value))
					}
					if m.Type == 0 || (m.Type >= numTypes && det.Name(m.Type) == m.Type.String()) ||
						m.Confidence < Possible || m.Confidence > Confirmed {
						t.Fatalf("bad match %+v", m)
					}
					_ = Mask(m.Type, value[m.Start:m.End])
				}
			}
		}
	})
}

// FuzzPrefilter: a custom regex's prefilter never rejects an input the
// regex matches.
func FuzzPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`(?i)(^|[._])tax_?ref$`, "$.user.TAX_REF"}, {`^TR-[0-9]{8}-[A-Z]$`, "TR-12345678-X"},
		{`(?i)(employee|staff)_?(id|no)$`, "$.StaffNo"}, {`(?i)k+s$`, "\u212a\u017f"}, {`^(?:sk|rk)_\w+\b`, "rk_live"},
		{`ä|ö`, "xö"}, {`^.{2,3}$`, "\xff\xfe"}, {`(?i)\bsecret\b`, "my SECRET"},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, expr string, in []byte) {
		if len(expr) > 200 {
			return
		}
		m, err := compileMatcher(expr)
		if err != nil {
			return
		}
		if m.re.Match(in) && !m.maybe(in) {
			t.Fatalf("%q: prefilter rejects %q, which matches", expr, in)
		}
	})
}
