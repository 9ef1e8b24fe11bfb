package exchange

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/tcp"
)

func makeJWT(header, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." +
		enc.EncodeToString([]byte("signature-bytes-that-must-not-leak"))
}

func basic(userpass string) string { return base64.StdEncoding.EncodeToString([]byte(userpass)) }

// exchangeWith runs one exchange with extra request headers, target and
// response headers.
func exchangeWith(t testing.TB, mod func(*Config), target, reqHeaders, respHeaders string) *flow.Exchange {
	t.Helper()
	h := newHarness(t, mod)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET "+target+" HTTP/1.1\nHost: api.example.com\n"+reqHeaders+"\n")), ms(0))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\n"+respHeaders+"Content-Length: 0\n\n")), ms(1))
	s.End(tcp.EndFIN, ms(2))
	return h.one()
}

func header(hs []flow.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return "<absent>"
}

var fpRE = regexp.MustCompile(`^fp:[0-9a-f]{32}$`)

func TestRedaction(t *testing.T) {
	jwt := makeJWT(`{"alg":"RS256","typ":"JWT","kid":"k1"}`,
		`{"sub":"user-123","iss":"https://issuer.example","aud":["api","web"],"exp":1700000000,"scope":"read write"}`)
	jwtAudString := makeJWT(`{"alg":"HS256"}`, `{"sub":42,"iss":"i","aud":"only-api","exp":1.7e9}`)
	cases := []struct {
		name              string
		target, req, resp string
		secrets           []string // must appear nowhere in the JSON
		check             func(t *testing.T, e *flow.Exchange)
		wantCreds         int
	}{{
		name: "bearer JWT", req: "Authorization: Bearer " + jwt + "\n",
		secrets: []string{jwt, strings.Split(jwt, ".")[2], "signature-bytes", "user-123"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			v := header(e.RequestHeaders, "authorization")
			if !strings.HasPrefix(v, "Bearer fp:") || !fpRE.MatchString(v[len("Bearer "):]) {
				t.Errorf("value %q", v)
			}
			c := e.Credentials[0]
			if c.Location != "header" || c.Name != "Authorization" || c.Scheme != "bearer" || "fp:"+c.Fingerprint != v[len("Bearer "):] {
				t.Errorf("credential %+v", c)
			}
			j := c.JWT
			if j == nil || !fpRE.MatchString(j.Sub) || j.Iss != "https://issuer.example" || len(j.Aud) != 2 || j.Aud[0] != "api" ||
				j.Aud[1] != "web" || j.Exp != 1700000000 || j.Alg != "RS256" {
				t.Errorf("claims %+v", j)
			}
		},
	}, {
		name: "bearer JWT, aud string, odd types", req: "Authorization: bearer   " + jwtAudString + "\n",
		secrets: []string{jwtAudString}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			j := e.Credentials[0].JWT
			if j == nil || j.Sub != "" || j.Iss != "i" || len(j.Aud) != 1 || j.Aud[0] != "only-api" || j.Exp != 1700000000 || j.Alg != "HS256" {
				t.Errorf("claims %+v", j)
			}
		},
	}, {
		name: "bearer opaque", req: "Proxy-Authorization: Bearer opaque-token-0123456789\n",
		secrets: []string{"opaque-token-0123456789"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			if c := e.Credentials[0]; c.JWT != nil || c.Name != "Proxy-Authorization" || c.Scheme != "bearer" {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "basic with a colon in the password", req: "Authorization: Basic " + basic("alice:pa:ss:w0rd-XYZ") + "\n",
		secrets: []string{basic("alice:pa:ss:w0rd-XYZ"), "pa:ss:w0rd-XYZ", "w0rd-XYZ"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			if c := e.Credentials[0]; c.Scheme != "basic" || c.User != "alice" {
				t.Errorf("credential %+v", c)
			}
			if v := header(e.RequestHeaders, "authorization"); !strings.HasPrefix(v, "Basic fp:") {
				t.Errorf("value %q", v)
			}
		},
	}, {
		name: "basic with an empty password keeps no user", req: "Authorization: Basic " + basic("sk_live_abcdef123456:") + "\n",
		secrets: []string{"sk_live_abcdef123456", basic("sk_live_abcdef123456:")}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			if c := e.Credentials[0]; c.User != "" {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "basic not base64", req: "Authorization: Basic !!notbase64secret!!\n",
		secrets: []string{"notbase64secret"}, wantCreds: 1,
	}, {
		name:    "digest",
		req:     `Authorization: Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"` + "\n",
		secrets: []string{"6629fae49393a05397450978507c4ef1", "dcd98b7102dd2f0e8b11d0f600bfb0c093"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			if c := e.Credentials[0]; c.Scheme != "digest" || c.User != "Mufasa" {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "other scheme and no scheme", req: "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\nX-Auth-Token: rawtokenvalue987654\n",
		secrets: []string{"5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "AKIDEXAMPLE", "rawtokenvalue987654"}, wantCreds: 2,
		check: func(t *testing.T, e *flow.Exchange) {
			if c := e.Credentials[0]; c.Scheme != "aws4-hmac-sha256" {
				t.Errorf("credential %+v", c)
			}
			if v := header(e.RequestHeaders, "authorization"); !strings.HasPrefix(v, "AWS4-HMAC-SHA256 fp:") {
				t.Errorf("value %q", v)
			}
			if c := e.Credentials[1]; c.Scheme != "apikey" || c.Name != "X-Auth-Token" {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "cookies", req: "Cookie: session=abc123SECRETvalue; theme=dark; csrftoken=\"quotedSECRET99\"\n",
		secrets: []string{"abc123SECRETvalue", "quotedSECRET99"}, wantCreds: 3,
		check: func(t *testing.T, e *flow.Exchange) {
			v := header(e.RequestHeaders, "cookie")
			if !regexp.MustCompile(`^session=fp:[0-9a-f]{32}; theme=fp:[0-9a-f]{32}; csrftoken=fp:[0-9a-f]{32}$`).MatchString(v) {
				t.Errorf("value %q", v)
			}
			for i, name := range []string{"session", "theme", "csrftoken"} {
				if c := e.Credentials[i]; c.Location != "cookie" || c.Name != name || c.Scheme != "cookie" || len(c.Fingerprint) != 32 {
					t.Errorf("credential %d %+v", i, c)
				}
			}
		},
	}, {
		name: "set-cookie", resp: "Set-Cookie: sid=s3cr3tSESSIONvalue; Path=/; Secure; HttpOnly; Max-Age=3600\nSet-Cookie: gone=; Max-Age=0\n",
		secrets: []string{"s3cr3tSESSIONvalue"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			var sc []string
			for _, h := range e.ResponseHeaders {
				if h.Name == "Set-Cookie" {
					sc = append(sc, h.Value)
				}
			}
			if len(sc) != 2 || !regexp.MustCompile(`^sid=fp:[0-9a-f]{32}; Path=/; Secure; HttpOnly; Max-Age=3600$`).MatchString(sc[0]) || sc[1] != "gone=; Max-Age=0" {
				t.Errorf("set-cookie %q", sc)
			}
			if c := e.Credentials[0]; c.Location != "cookie" || c.Name != "sid" || c.Scheme != "session" {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "api keys", req: "X-Api-Key: key-ABCDEF-0123456789\nx-goog-api-key: AIzaSyFAKEFAKEFAKE\nX-Access-Token: " + jwt + "\n",
		secrets: []string{"key-ABCDEF-0123456789", "AIzaSyFAKEFAKEFAKE", jwt}, wantCreds: 3,
		check: func(t *testing.T, e *flow.Exchange) {
			if v := header(e.RequestHeaders, "x-api-key"); !fpRE.MatchString(v) {
				t.Errorf("value %q", v)
			}
			if c := e.Credentials[0]; c.Scheme != "apikey" || c.Name != "X-Api-Key" || c.Location != "header" {
				t.Errorf("credential %+v", c)
			}
			if c := e.Credentials[2]; c.JWT == nil || !fpRE.MatchString(c.JWT.Sub) {
				t.Errorf("credential %+v", c)
			}
		},
	}, {
		name: "query secrets", target: "/v1/search?q=shoes&api_key=QK-secret-4242&Access_Token=tok%2Dsecret%2D77&keyword=x&api%5Fkey=enc-secret-1",
		secrets: []string{"QK-secret-4242", "tok%2Dsecret%2D77", "tok-secret-77", "enc-secret-1"}, wantCreds: 3,
		check: func(t *testing.T, e *flow.Exchange) {
			re := regexp.MustCompile(`^q=shoes&api_key=fp:[0-9a-f]{32}&Access_Token=fp:[0-9a-f]{32}&keyword=x&api%5Fkey=fp:[0-9a-f]{32}$`)
			if !re.MatchString(e.Query) || e.Target != "/v1/search?"+e.Query || e.Path != "/v1/search" {
				t.Errorf("query %q target %q", e.Query, e.Target)
			}
			for i, name := range []string{"api_key", "Access_Token", "api%5Fkey"} {
				if c := e.Credentials[i]; c.Location != "query" || c.Name != name || c.Scheme != "apikey" {
					t.Errorf("credential %+v", c)
				}
			}
		},
	}, {
		name: "userinfo in an absolute-form target", target: "http://bob:hunter2-SECRET@Example.COM:8080/p/a%20b?x=1",
		secrets: []string{"hunter2-SECRET"}, wantCreds: 1,
		check: func(t *testing.T, e *flow.Exchange) {
			if e.Target != "http://Example.COM:8080/p/a%20b?x=1" || e.Host != "example.com" || e.HostPort != 8080 ||
				e.Path != "/p/a%20b" || e.PathDecoded != "/p/a b" || e.Query != "x=1" {
				t.Errorf("target %q host %q:%d path %q/%q query %q", e.Target, e.Host, e.HostPort, e.Path, e.PathDecoded, e.Query)
			}
			if c := e.Credentials[0]; c.Location != "userinfo" || c.User != "bob" || c.Scheme != "basic" {
				t.Errorf("credential %+v", c)
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := c.target
			if target == "" {
				target = "/"
			}
			e := exchangeWith(t, nil, target, c.req, c.resp)
			out := string(flow.AppendJSON(nil, e))
			for _, s := range c.secrets {
				if strings.Contains(out, s) {
					t.Errorf("secret %q in output:\n%s", s, out)
				}
			}
			if len(e.Credentials) != c.wantCreds {
				t.Fatalf("%d credentials, want %d: %s", len(e.Credentials), c.wantCreds, out)
			}
			wantFlags(t, e, flow.FlagRedacted, 0)
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

func TestRedactOff(t *testing.T) {
	tok := "Bearer plain-token-1234567"
	e := exchangeWith(t, func(c *Config) { c.Redact = false }, "/p?api_key=k123", "Authorization: "+tok+"\nCookie: a=b\n", "Set-Cookie: s=1\n")
	if header(e.RequestHeaders, "authorization") != tok || e.Query != "api_key=k123" || header(e.RequestHeaders, "cookie") != "a=b" ||
		header(e.ResponseHeaders, "set-cookie") != "s=1" || len(e.Credentials) != 0 || e.Flags.Has(flow.FlagRedacted) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
}

func TestFingerprintKey(t *testing.T) {
	fp := func(key string) string {
		e := exchangeWith(t, func(c *Config) { c.HMACKey = []byte(key) }, "/", "X-Api-Key: same-key-value\n", "")
		return e.Credentials[0].Fingerprint
	}
	a1, a2, b := fp("key-A-0123456789abcdef"), fp("key-A-0123456789abcdef"), fp("key-B-0123456789abcdef")
	if a1 != a2 {
		t.Errorf("same key, different fingerprints: %s %s", a1, a2)
	}
	if a1 == b {
		t.Errorf("different keys, same fingerprint %s", a1)
	}
	// The same secret in a header and in a query gets the same fingerprint.
	e := exchangeWith(t, func(c *Config) { c.HMACKey = []byte("key-A-0123456789abcdef") }, "/?apikey=same%2Dkey%2Dvalue", "", "")
	if e.Credentials[0].Fingerprint != a1 {
		t.Errorf("query fingerprint %s, header %s", e.Credentials[0].Fingerprint, a1)
	}
	// Without a key: a random per-process key, shared by all Factories.
	r1 := exchangeWith(t, func(c *Config) { c.HMACKey = nil }, "/", "X-Api-Key: same-key-value\n", "").Credentials[0].Fingerprint
	r2 := exchangeWith(t, func(c *Config) { c.HMACKey = nil }, "/", "X-Api-Key: same-key-value\n", "").Credentials[0].Fingerprint
	if r1 != r2 || r1 == a1 {
		t.Errorf("process key fingerprints %s %s (configured %s)", r1, r2, a1)
	}
}

// TestJWTSubjects: a JWT's subject is its keyed fingerprint by default,
// computed as docs/privacy.md says (the analyzer's formula), the same in
// any header; the raw subject only with JWTSubjects "raw".
func TestJWTSubjects(t *testing.T) {
	const key = "key-A-0123456789abcdef"
	tok := makeJWT(`{"alg":"HS256"}`, `{"sub":"alice@corp.example","iss":"https://id.example"}`)
	sub := func(mod func(*Config), req string) string {
		e := exchangeWith(t, mod, "/", req, "")
		if len(e.Credentials) != 1 || e.Credentials[0].JWT == nil {
			t.Fatalf("%s", dump([]*flow.Exchange{e}))
		}
		if out := string(flow.AppendJSON(nil, e)); mod == nil && strings.Contains(out, "alice") {
			t.Errorf("the subject in clear: %s", out)
		}
		return e.Credentials[0].JWT.Sub
	}
	keyed := func(c *Config) { c.HMACKey = []byte(key) }
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("jwt-sub\x00alice@corp.example"))
	want := "fp:" + hex.EncodeToString(m.Sum(nil)[:16])
	if got := sub(keyed, "Authorization: Bearer "+tok+"\n"); got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if got := sub(keyed, "X-Access-Token: "+tok+"\n"); got != want {
		t.Errorf("subject in an API-key header %q, want %q", got, want)
	}
	if got := sub(nil, "Authorization: Bearer "+tok+"\n"); !fpRE.MatchString(got) || got == want {
		t.Errorf("process-key subject %q", got)
	}
	raw := func(c *Config) { c.JWTSubjects = SubjectRaw }
	if got := sub(raw, "Authorization: Bearer "+tok+"\n"); got != "alice@corp.example" {
		t.Errorf("raw subject %q", got)
	}
	cfg := DefaultConfig()
	cfg.JWTSubjects = "hashed"
	if err := cfg.Validate(); err == nil {
		t.Error("an unknown jwt_subjects must fail Validate")
	}
}

func TestCustomCredentialConfig(t *testing.T) {
	e := exchangeWith(t, func(c *Config) {
		c.CredentialHeaders = []string{"X-My-Secret"}
		c.SecretQueryParams = []string{"SIG"}
	}, "/?sig=abc123def&token=keep-me", "X-My-Secret: hush-hush-123\nAuthorization: Bearer not-configured\n", "")
	if len(e.Credentials) != 2 || !strings.HasPrefix(e.Query, "sig=fp:") || !strings.HasSuffix(e.Query, "&token=keep-me") ||
		header(e.RequestHeaders, "authorization") != "Bearer not-configured" {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
}

func TestCredentialCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("Cookie: ")
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("c" + itoa(i) + "=secret-value-" + itoa(i) + "-zz")
	}
	e := exchangeWith(t, nil, "/", b.String()+"\n", "")
	if len(e.Credentials) != maxCredsPerMessage {
		t.Fatalf("%d credentials", len(e.Credentials))
	}
	out := string(flow.AppendJSON(nil, e))
	if strings.Contains(out, "secret-value-") {
		t.Fatal("a cookie value beyond the credential cap leaked")
	}
}

func TestKeyText(t *testing.T) {
	t.Setenv("APITAP_TEST_KEY", "from-the-environment")
	for in, want := range map[string]string{
		"hex:6162636465666768":     "abcdefgh",
		"base64:YWJjZGVmZ2g=":      "abcdefgh",
		"env:APITAP_TEST_KEY":      "from-the-environment",
		"plain string key 1234567": "plain string key 1234567",
	} {
		var k Key
		if err := k.UnmarshalText([]byte(in)); err != nil || string(k) != want {
			t.Errorf("%q: %q %v", in, k, err)
		}
	}
	var k Key
	if err := k.UnmarshalText([]byte("env:APITAP_TEST_UNSET_VAR")); err == nil {
		t.Error("unset variable accepted")
	}
	if b, _ := Key("secret").MarshalText(); string(b) != "<redacted>" {
		t.Errorf("MarshalText %q", b)
	}
}
