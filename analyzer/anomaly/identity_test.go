package anomaly

import (
	"net/netip"
	"testing"

	"github.com/apitap/apitap/flow"
)

func TestClientBehindProxies(t *testing.T) {
	id, err := NewIdentity([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(peer string, hs ...string) *flow.Exchange {
		e := &flow.Exchange{Client: netip.MustParseAddrPort(peer)}
		for i := 0; i+1 < len(hs); i += 2 {
			e.RequestHeaders = append(e.RequestHeaders, flow.Header{Name: hs[i], Value: hs[i+1]})
		}
		return e
	}
	for _, c := range []struct {
		e    *flow.Exchange
		want string
	}{
		// an untrusted peer: its own header is not believed
		{mk("203.0.113.9:4000", "X-Forwarded-For", "1.2.3.4"), "203.0.113.9"},
		// a trusted load balancer: the nearest untrusted hop
		{mk("10.0.0.5:4000", "X-Forwarded-For", "6.6.6.6, 198.51.100.20, 10.0.0.9"), "198.51.100.20"},
		{mk("[::ffff:192.0.2.7]:4000", "Forwarded", `for="[2001:db8::1]:443";proto=https, for=10.1.1.1`), "2001:db8::1"},
		{mk("10.0.0.5:4000", "X-Real-IP", "198.51.100.44"), "198.51.100.44"},
		{mk("10.0.0.5:4000", "X-Forwarded-For", "unknown, garbage"), "10.0.0.5"},
		{mk("10.0.0.5:4000", "X-Forwarded-For", "10.2.2.2"), "10.2.2.2"},
	} {
		if got := id.Client(c.e).String(); got != c.want {
			t.Errorf("%v %v: got %s, want %s", c.e.Client, c.e.RequestHeaders, got, c.want)
		}
	}
	if _, err := NewIdentity([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR must fail")
	}
}

func TestPrincipal(t *testing.T) {
	e := &flow.Exchange{Credentials: []flow.Credential{
		{Location: "cookie", Name: "sid", Scheme: "session", Fingerprint: "respcookie"},
		{Location: "cookie", Name: "sid", Scheme: "cookie", Fingerprint: "reqcookie"},
	}}
	if p := Principal(e); p != "cookie:reqcookie" {
		t.Errorf("cookie principal %q", p)
	}
	e.Credentials = append(e.Credentials, flow.Credential{Location: "header", Name: "X-Api-Key", Scheme: "apikey", Fingerprint: "k1"})
	if p := Principal(e); p != "apikey:k1" {
		t.Errorf("api key over cookie: %q", p)
	}
	e.Credentials = append(e.Credentials, flow.Credential{Location: "header", Name: "Authorization", Scheme: "bearer",
		Fingerprint: "t1", JWT: &flow.JWTClaims{Sub: "u42", Iss: "https://id.example"}})
	if p := Principal(e); p != "jwt:u42@https://id.example" {
		t.Errorf("jwt claims: %q", p)
	}
	if p := Principal(&flow.Exchange{Credentials: []flow.Credential{{Location: "cookie", Scheme: "session", Fingerprint: "x"}}}); p != "" {
		t.Errorf("a Set-Cookie is not the caller: %q", p)
	}
}
