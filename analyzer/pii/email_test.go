package pii

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// exampleDomainRef is exampleDomain as first written (one folded suffix
// compare per domain): the reference for the label-wise version.
func exampleDomainRef(dom []byte) bool {
	for _, e := range []string{"example.com", "example.org", "example.net", "test.com", "domain.com"} {
		if equalFold(dom, e) || (len(dom) > len(e) && dom[len(dom)-len(e)-1] == '.' && equalFold(dom[len(dom)-len(e):], e)) {
			return true
		}
	}
	for _, t := range []string{".test", ".example", ".invalid", ".localhost", ".local", ".tld"} {
		if len(dom) > len(t) && equalFold(dom[len(dom)-len(t):], t) {
			return true
		}
	}
	return false
}

func TestExampleDomainAndFileExt(t *testing.T) {
	labels := []string{"example", "EXAMPLE", "test", "Test", "domain", "com", "COM", "org", "net", "local", "localhost",
		"invalid", "tld", "TLD", "xtld", "xexample", "examplex", "a", "mail", "shop-mail", "png", "co", "uk", ""}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b strings.Builder
		for i := range 1 + r.IntN(4) {
			if i > 0 || r.IntN(8) == 0 {
				b.WriteByte('.')
			}
			b.WriteString(labels[r.IntN(len(labels))])
		}
		dom := []byte(b.String())
		if got, want := exampleDomain(dom), exampleDomainRef(dom); got != want {
			t.Fatalf("exampleDomain(%q) = %v, want %v", dom, got, want)
		}
	}
	for _, e := range fileExt {
		for _, v := range []string{e, strings.ToUpper(e), e + "x", e[:len(e)-1]} {
			want := false
			for _, f := range fileExt {
				want = want || equalFold([]byte(v), f)
			}
			if got := isFileExt([]byte(v)); got != want {
				t.Fatalf("isFileExt(%q) = %v, want %v", v, got, want)
			}
		}
	}
	for _, v := range []string{"com", "org", "io", "museum", "travel", "de", "jsonp"} {
		if isFileExt([]byte(v)) {
			t.Fatalf("isFileExt(%q)", v)
		}
	}
}
