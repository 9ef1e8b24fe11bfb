package pii

import "testing"

func FuzzLeaf(f *testing.F) {
	for _, s := range [][2]string{
		{"card", "4111 1111 1111 1111"}, {"x", "DE89 3704 0044 0532 0130 00"}, {"ssn", "536-22-8901"},
		{"x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}, {"x", "-----BEGIN PRIVATE KEY-----\nAAAA"},
		{"Cookie", "a=b; sid=0123456789abcdef0123"}, {"Authorization", "Basic dXNlcjpwYXNz"},
		{"x", "::ffff:1.2.3.4"}, {"x", "+44 (20) 7946-0958"}, {"x", "a@b.c"}, {"x", "postgres://a:b@"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	d, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		for _, fn := range []func([]Match, []byte, []byte) []Match{d.Leaf, d.Text} {
			for _, m := range fn(nil, key, value) {
				if m.Start < 0 || m.End > len(value) || m.Start >= m.End {
					t.Fatalf("span [%d:%d] outside %d bytes", m.Start, m.End, len(value))
				}
				if m.Type == 0 || m.Type >= numTypes || m.Confidence < Possible || m.Confidence > Confirmed {
					t.Fatalf("bad match %+v", m)
				}
				_ = Mask(m.Type, value[m.Start:m.End])
			}
		}
	})
}
