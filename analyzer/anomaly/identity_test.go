package anomaly

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

func TestClientBehindProxies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7"}
	id, err := NewIdentity(cfg, []byte("0123456789abcdef"))
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
	cfg.TrustedProxies = []string{"10.0.0.0/33"}
	if _, err := NewIdentity(cfg, []byte("0123456789abcdef")); err == nil {
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

// TestIdentityPrincipalSubjects: by default a JWT caller's subject reaches
// findings only as its keyed fingerprint, computed as docs/privacy.md
// says; raw subjects are an opt-in; other principals are unchanged.
func TestIdentityPrincipalSubjects(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	jwtEx := func(sub, iss string) *flow.Exchange {
		return &flow.Exchange{Credentials: []flow.Credential{{Location: "header", Name: "Authorization", Scheme: "bearer",
			Fingerprint: "t1", JWT: &flow.JWTClaims{Sub: sub, Iss: iss}}}}
	}
	want := func(sub string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("jwt-sub\x00" + sub))
		return "fp:" + hex.EncodeToString(m.Sum(nil)[:16])
	}
	cfg := DefaultConfig()
	id, err := NewIdentity(cfg, key)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from the cache
		if p := id.Principal(jwtEx("alice@corp.example", "https://id.example")); p != "jwt:"+want("alice@corp.example")+"@https://id.example" {
			t.Errorf("fingerprinted subject: %q", p)
		}
	}
	if p := id.Principal(jwtEx("bob", "")); p != "jwt:"+want("bob") || strings.Contains(p, "bob") {
		t.Errorf("subject without issuer: %q", p)
	}
	if a, b := id.Principal(jwtEx("alice", "i")), id.Principal(jwtEx("alice2", "i")); a == b {
		t.Errorf("two subjects, one principal %q", a)
	}
	apikey := &flow.Exchange{Credentials: []flow.Credential{{Location: "header", Name: "X-Api-Key", Scheme: "apikey", Fingerprint: "k1"}}}
	if p := id.Principal(apikey); p != "apikey:k1" {
		t.Errorf("api key: %q", p)
	}
	if p := id.Principal(&flow.Exchange{}); p != "" {
		t.Errorf("anonymous: %q", p)
	}
	// Another key, another fingerprint.
	other, _ := NewIdentity(cfg, []byte("fedcba9876543210fedcba9876543210"))
	if a, b := id.Principal(jwtEx("carol", "i")), other.Principal(jwtEx("carol", "i")); a == b {
		t.Errorf("the key does not key the fingerprint: %q", a)
	}
	if _, err := NewIdentity(cfg, nil); err == nil {
		t.Error("fingerprinted subjects without a key must fail")
	}

	cfg.JWTSubjects = SubjectRaw
	raw, err := NewIdentity(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := raw.Principal(jwtEx("alice", "https://id.example")); p != "jwt:alice@https://id.example" {
		t.Errorf("raw subject: %q", p)
	}
	// A subject the sensor fingerprinted already (its default) is used as
	// it is, in either mode.
	const sensorFP = "fp:0123456789abcdef0123456789abcdef"
	for _, in := range []*Identity{id, raw} {
		if p := in.Principal(jwtEx(sensorFP, "https://id.example")); p != "jwt:"+sensorFP+"@https://id.example" {
			t.Errorf("sensor-fingerprinted subject: %q", p)
		}
	}
	if p := id.Principal(jwtEx("fp:not-hex", "")); p == "jwt:fp:not-hex" {
		t.Errorf("a subject that only looks like a fingerprint must be fingerprinted: %q", p)
	}
	cfg.JWTSubjects = "hashed"
	if err := cfg.Validate(); err == nil {
		t.Error("an unknown jwt_subjects must fail Validate")
	}
}

// TestIdentitySubjectCacheBounded: the subject cache never grows past
// maxSubjects and keeps answering the same after it was cleared.
func TestIdentitySubjectCacheBounded(t *testing.T) {
	id, err := NewIdentity(DefaultConfig(), []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &flow.Exchange{Credentials: []flow.Credential{{Location: "header", Scheme: "bearer", Fingerprint: "t", JWT: &flow.JWTClaims{}}}}
	first := ""
	for i := range maxSubjects + 10 {
		e.Credentials[0].JWT.Sub = "user" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + hex.EncodeToString([]byte{byte(i >> 16), byte(i >> 8), byte(i)})
		p := id.Principal(e)
		if i == 0 {
			first = p
		}
		if len(id.subs) > maxSubjects {
			t.Fatalf("cache at %d entries", len(id.subs))
		}
	}
	e.Credentials[0].JWT.Sub = "user" + "a" + "000000"
	if p := id.Principal(e); p != first {
		t.Errorf("after clearing: %q, before %q", p, first)
	}
}

// TestIdentityPrincipalAllocs: a JWT caller seen before costs a map
// lookup, no allocation, whoever fingerprinted the subject.
func TestIdentityPrincipalAllocs(t *testing.T) {
	id, err := NewIdentity(DefaultConfig(), []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"alice", "fp:0123456789abcdef0123456789abcdef"} {
		e := &flow.Exchange{Credentials: []flow.Credential{{Location: "header", Scheme: "bearer", Fingerprint: "t",
			JWT: &flow.JWTClaims{Sub: sub, Iss: "https://id.example"}}}}
		id.Principal(e)
		if n := testing.AllocsPerRun(100, func() { id.Principal(e) }); n != 0 {
			t.Errorf("subject %q: %v allocations per call", sub, n)
		}
	}
}
