package exposure

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScan: arbitrary bodies, queries, paths and content types never
// panic; hits stay within their bounds; no masked sample is the whole
// matched value unless it is short (masks keep at most a prefix/suffix).
func FuzzScan(f *testing.F) {
	f.Add("application/json", `{"email":"ann.lee@corp-mail.com","card":{"number":"4539 1488 0343 6467"}}`, "q=1&phone=%2B14155550132", "/u/ann@x.io", "/u/{email}", 200)
	f.Add("application/x-www-form-urlencoded", "password=hunter2&user[email]=a@b.co", "", "/login", "/login", 401)
	f.Add("text/plain", "java.lang.NullPointerException\n\tat a.B.c(B.java:1)\n", "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "/x", "/x", 500)
	f.Add("application/xml", `<a><ssn>123-45-6789</ssn><b c="4539148803436467"/></a>`, "", "/", "/", 200)
	f.Add("", `{"a":[[[[[[{"iban":"GB34BARC20005377719911"}]]]]]],"b":"\u00e9"}`, "%zz=%", "//", "/{a}/{b}", 0)
	en := engine(f, func(c *Config) { c.MaxHitsPerMessage = 8; c.CookieValues = true })
	f.Fuzz(func(t *testing.T, ctype, body, query, path, template string, status int) {
		e := exch("POST", path+"?"+query, status, ctype, body, ctype, body, "Cookie", query, "X-Note", body)
		e.Query = query
		items := []Item{{Exchange: e, Template: template}}
		en.Scan(items, nil)
		hs := items[0].Hits
		if len(hs) > 8 {
			t.Fatalf("%d hits", len(hs))
		}
		p := en.NewProfile()
		p.Add(hs, t0)
		for _, h := range hs {
			if h.Kind == KindPII && (h.N == 0 || h.Values < h.N || h.Examples > h.N || h.Valid > h.N) {
				t.Fatalf("counts %+v", h)
			}
			if h.Masked != "" && utf8.RuneCountInString(h.Masked) >= 12 && strings.Count(h.Masked, "*") == 0 {
				t.Fatalf("unmasked sample %q", h.Masked)
			}
		}
		for _, fd := range p.Findings(ep, false) {
			if fd.ID == "" || fd.Severity == "" || fd.Confidence == "" {
				t.Fatalf("finding %+v", fd)
			}
		}
		p.Release()
	})
}
