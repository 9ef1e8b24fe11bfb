package exposure

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer/pii"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/testutil"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func engine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FingerprintKey = []byte("0123456789abcdef0123456789abcdef")
	cfg.Workers = 1
	if mod != nil {
		mod(&cfg)
	}
	en, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

func exch(method, target string, status int, reqType, req, respType, resp string, hdrs ...string) *flow.Exchange {
	path, query, _ := strings.Cut(target, "?")
	e := &flow.Exchange{Start: t0, End: t0.Add(time.Millisecond), Method: method, Host: "api.example.com",
		Client: netip.MustParseAddrPort("203.0.113.7:50000"), Server: netip.MustParseAddrPort("10.0.0.2:80"),
		Target: target, Path: path, PathDecoded: path, Query: query, Status: status,
		Request:  flow.Body{ContentType: reqType, Data: []byte(req), WireBytes: int64(len(req)), DecodedBytes: int64(len(req))},
		Response: flow.Body{ContentType: respType, Data: []byte(resp), WireBytes: int64(len(resp)), DecodedBytes: int64(len(resp))}}
	for i := 0; i+1 < len(hdrs); i += 2 {
		e.RequestHeaders = append(e.RequestHeaders, flow.Header{Name: hdrs[i], Value: hdrs[i+1]})
	}
	return e
}

func find(hs []Hit, kind, loc, field, typ string) *Hit {
	for i := range hs {
		h := &hs[i]
		if h.Kind == kind && h.Location == loc && h.Field == field && h.Type == typ {
			return h
		}
	}
	return nil
}

func scan(t testing.TB, en *Engine, e *flow.Exchange, template string) []Hit {
	items := []Item{{Exchange: e, Template: template}}
	en.Scan(items, nil)
	return items[0].Hits
}

func TestScanBodyFields(t *testing.T) {
	en := engine(t, nil)
	body := `{"users":[{"id":1,"email":"ann.lee@corp-mail.com","card":{"number":"4539 1488 0343 6467"}},` +
		`{"id":2,"email":"bob.stone@corp-mail.com","note":"ok"},{"id":3,"email":"","note":"x"}],"total":3}`
	hs := scan(t, en, exch("GET", "/users", 200, "", "", "application/json", body), "/users")
	h := find(hs, KindPII, ResponseBody, "$.users[].email", "email")
	if h == nil {
		t.Fatalf("no email hit: %+v", hs)
	}
	if h.N != 2 || h.Values != 2 {
		t.Errorf("email: N=%d Values=%d, want 2 and 2 (the empty value is not a leaf worth counting)", h.N, h.Values)
	}
	if h.Masked == "" || strings.Contains(h.Masked, "ann.lee") || !strings.Contains(h.Masked, "corp-mail.com") {
		t.Errorf("masked sample %q", h.Masked)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(h.Fingerprint) {
		t.Errorf("fingerprint %q", h.Fingerprint)
	}
	c := find(hs, KindPII, ResponseBody, "$.users[].card.number", "credit_card")
	if c == nil || c.Conf != pii.Confirmed || c.Valid != 1 || !strings.HasSuffix(c.Masked, "6467") || strings.Contains(c.Masked, "1488") {
		t.Fatalf("card: %+v", c)
	}
	if find(hs, KindPII, ResponseBody, "$.users[].id", "phone") != nil || len(hs) != 2 {
		t.Errorf("unexpected hits: %+v", hs)
	}
}

func TestScanRequestParts(t *testing.T) {
	en := engine(t, nil)
	e := exch("POST", "/v1/accounts/ann.lee@corp-mail.com/contact?phone=%2B14155550132&page=2", 200,
		"application/x-www-form-urlencoded", "first_name=Ann&last_name=Lee&iban=DE89370400440532013000",
		"application/json", `{"ok":true}`,
		"X-Forwarded-For", "198.51.100.23", "X-Customer-Email", "ann.lee@corp-mail.com")
	hs := scan(t, en, e, "/v1/accounts/{email}/contact")
	for _, w := range []struct{ loc, field, typ string }{
		{RequestPath, "{email}", "email"},
		{RequestQuery, "phone", "phone"},
		{RequestBody, "$.first_name", "person_name"},
		{RequestBody, "$.last_name", "person_name"},
		{RequestBody, "$.iban", "iban"},
		{RequestHeader, "X-Customer-Email", "email"},
	} {
		if find(hs, KindPII, w.loc, w.field, w.typ) == nil {
			t.Errorf("missing %s %s %s in %+v", w.loc, w.field, w.typ, hs)
		}
	}
	for _, h := range hs {
		if h.Location == RequestHeader && h.Field == "X-Forwarded-For" {
			t.Errorf("X-Forwarded-For is infrastructure, not exposed data: %+v", h)
		}
	}
}

func TestExposureTypes(t *testing.T) {
	en := engine(t, nil)
	// A secret the sensor redacted from the query, and Basic credentials
	// over plain HTTP.
	e := exch("GET", "/v1/report?api_key=fp:abcd&x=1", 200, "", "", "application/json", `{}`,
		"Authorization", "Basic fp:1234")
	e.Credentials = []flow.Credential{
		{Location: "query", Name: "api_key", Scheme: "apikey", Fingerprint: "00112233445566778899aabbccddeeff"},
		{Location: "header", Name: "Authorization", Scheme: "basic", Fingerprint: "ffeeddccbbaa99887766554433221100", User: "ann"},
	}
	hs := scan(t, en, e, "/v1/report")
	if h := find(hs, KindExposure, RequestQuery, "api_key", SecretInURL); h == nil || h.Detail != "apikey" {
		t.Errorf("secret_in_url: %+v", hs)
	}
	if h := find(hs, KindExposure, RequestHeader, "Authorization", CleartextCredentials); h == nil || h.Detail != "basic" {
		t.Errorf("cleartext_credentials: %+v", hs)
	}
	// Behind a TLS-terminating proxy the credentials were encrypted on the
	// network: no cleartext finding.
	e.RequestHeaders = append(e.RequestHeaders, flow.Header{Name: "X-Forwarded-Proto", Value: "https"})
	if h := find(scan(t, en, e, "/v1/report"), KindExposure, RequestHeader, "Authorization", CleartextCredentials); h != nil {
		t.Errorf("cleartext reported behind TLS: %+v", h)
	}
	// A JWT in the query string that the sensor did not know as a secret.
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFubiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	hs = scan(t, en, exch("GET", "/cb?state="+jwt, 302, "", "", "", ""), "/cb")
	if find(hs, KindExposure, RequestQuery, "state", SecretInURL) == nil {
		t.Errorf("jwt in the query: %+v", hs)
	}
	// Sensitive values in an error response.
	hs = scan(t, en, exch("GET", "/u/7", 500, "", "", "application/json",
		`{"error":"db","user":{"email":"ann.lee@corp-mail.com"}}`), "/u/{id}")
	if h := find(hs, KindExposure, ResponseBody, "$.user.email", SensitiveErrorResponse); h == nil || h.Detail != "email" {
		t.Errorf("sensitive_error_response: %+v", hs)
	}
	// A stack trace.
	trace := "java.lang.NullPointerException: null\n\tat com.shop.api.OrderService.load(OrderService.java:88)\n" +
		"\tat com.shop.api.OrderController.get(OrderController.java:41)\n"
	hs = scan(t, en, exch("GET", "/o/1", 500, "", "", "text/plain", trace), "/o/{id}")
	if h := find(hs, KindExposure, ResponseBody, "stack_trace", VerboseError); h == nil || h.Detail != "java" {
		t.Errorf("verbose_error: %+v", hs)
	}
	en2 := engine(t, func(c *Config) { c.VerboseErrors, c.CleartextCredentials = false, false })
	for _, h := range scan(t, en2, exch("GET", "/o/1", 500, "", "", "text/plain", trace), "/o/{id}") {
		t.Errorf("verbose errors off, got %+v", h)
	}
}

func TestCookieValuesOnlyWhenConfigured(t *testing.T) {
	e := exch("GET", "/me", 200, "", "", "", "", "Cookie", "email=ann.lee%40corp-mail.com; theme=dark; contact=ann.lee@corp-mail.com")
	if hs := scan(t, engine(t, nil), e, "/me"); len(hs) != 0 {
		t.Errorf("cookie values scanned by default: %+v", hs)
	}
	hs := scan(t, engine(t, func(c *Config) { c.CookieValues = true }), e, "/me")
	if find(hs, KindPII, RequestCookie, "contact", "email") == nil {
		t.Errorf("cookie_values: %+v", hs)
	}
}

func TestTruncatedBodyScannedAsFarAsItGoes(t *testing.T) {
	en := engine(t, nil)
	full := `{"a":{"email":"ann.lee@corp-mail.com"},"b":{"card_number":"4539148803436467"}}`
	cut := full[:len(full)-8] // the sensor kept a prefix: the card is cut
	e := exch("GET", "/x", 200, "", "", "application/json", cut)
	e.Response.DecodedBytes = int64(len(full))
	hs := scan(t, en, e, "/x")
	if find(hs, KindPII, ResponseBody, "$.a.email", "email") == nil {
		t.Errorf("the whole leaf before the cut: %+v", hs)
	}
	if h := find(hs, KindPII, ResponseBody, "$.b.card_number", "credit_card"); h != nil {
		t.Errorf("a cut card must not be judged: %+v", h)
	}
}

func TestMaxHitsPerMessage(t *testing.T) {
	en := engine(t, func(c *Config) { c.MaxHitsPerMessage = 3 })
	var b strings.Builder
	b.WriteString("{")
	for i := range 10 {
		fmt.Fprintf(&b, `"contact_%d":{"email":"user%d@corp-mail.com"},`, i, i)
	}
	b.WriteString(`"z":1}`)
	hs := scan(t, en, exch("GET", "/x", 200, "", "", "application/json", b.String()), "/x")
	if len(hs) != 3 || en.Stats().HitsCapped != 7 {
		t.Fatalf("hits %d capped %d", len(hs), en.Stats().HitsCapped)
	}
}

// TestParallelScanMatchesSerial: the batch split across workers gives each
// item the hits a single scanner gives it.
func TestParallelScanMatchesSerial(t *testing.T) {
	serial, par := engine(t, nil), engine(t, func(c *Config) { c.Workers = 4 })
	mk := func() []Item {
		var items []Item
		for i := range 300 {
			body := fmt.Sprintf(`{"id":%d,"email":"user%d@corp-mail.com","phone":"+1 415 555 %04d"}`, i, i, i%10000)
			items = append(items, Item{Exchange: exch("GET", "/u", 200, "", "", "application/json", body), Template: "/u"})
		}
		return items
	}
	a, b := mk(), mk()
	serial.Scan(a, nil)
	par.Scan(b, nil)
	for i := range a {
		ja, _ := json.Marshal(a[i].Hits)
		jb, _ := json.Marshal(b[i].Hits)
		if string(ja) != string(jb) || len(a[i].Hits) == 0 {
			t.Fatalf("item %d: serial %s parallel %s", i, ja, jb)
		}
	}
}

// TestScanAllocs: a typical exchange without sensitive data costs no
// allocation once the scanner is warm.
func TestScanAllocs(t *testing.T) {
	en := engine(t, nil)
	e := exch("GET", "/v2/products?page=3&sort=price", 200, "", "", "application/json", typicalBody(20, false))
	items := []Item{{Exchange: e, Template: "/v2/products"}}
	en.Scan(items, nil)
	if len(items[0].Hits) != 0 {
		t.Fatalf("typical body has hits: %+v", items[0].Hits)
	}
	testutil.AssertAllocs(t, 0, func() { en.Scan(items, nil) })
}

// typicalBody is a catalogue page: ids, names, prices, timestamps, flags,
// urls; with pii, each item also has a contact email and a phone.
func typicalBody(n int, withPII bool) string {
	var b strings.Builder
	b.WriteString(`{"page":3,"per_page":20,"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%08x-4b1d-4c1e-9a3f-%012x","sku":"SKU-%05d-B","name":"Stainless kettle %d","price":%d.99,`+
			`"currency":"EUR","in_stock":true,"rating":4.%d,"tags":["kitchen","steel"],"updated_at":"2026-03-0%dT10:1%d:00Z",`+
			`"image":"https://cdn.example.com/img/%d@2x.png","order_count":%d`, i*7919, i*104729, 84721+i, i, 10+i, i%10, 1+i%9, i%10, i, 1700000000+i)
		if withPII {
			fmt.Fprintf(&b, `,"seller":{"email":"seller%d@shop-mail.com","phone":"+44 20 7946 %04d"}`, i, 100+i)
		}
		b.WriteString("}")
	}
	b.WriteString(`],"total":1234}`)
	return b.String()
}

func BenchmarkScan(b *testing.B) {
	for _, tc := range []struct {
		name string
		pii  bool
	}{{"catalogue", false}, {"with-pii", true}} {
		b.Run(tc.name, func(b *testing.B) {
			en := engine(b, nil)
			body := typicalBody(40, tc.pii)
			e := exch("GET", "/v2/products?page=3", 200, "", "", "application/json", body)
			items := []Item{{Exchange: e, Template: "/v2/products"}}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				en.Scan(items, nil)
			}
		})
	}
}

// TestNumberLeaves: identifier-shaped JSON numbers are classified; prices
// and other fractions are skipped without losing a type.
func TestNumberLeaves(t *testing.T) {
	en := engine(t, nil)
	hs := scan(t, en, exch("GET", "/p", 200, "", "", "application/json",
		`{"card_number":4539148803436467,"phone":14155550132,"price":4539148803436.467,"rating":4.5}`), "/p")
	if find(hs, KindPII, ResponseBody, "$.card_number", "credit_card") == nil || find(hs, KindPII, ResponseBody, "$.phone", "phone") == nil {
		t.Fatalf("numbers: %+v", hs)
	}
	if len(hs) != 2 {
		t.Fatalf("a fraction matched: %+v", hs)
	}
}

// gRPC bodies are walked without a schema (walk: field numbers as the
// path): an email and a card number in a response message are found per
// field, as in JSON.
func TestScanGRPC(t *testing.T) {
	en := engine(t, nil)
	var msg []byte
	for _, u := range []struct{ email, card string }{{"ann.lee@corp-mail.com", "4539 1488 0343 6467"}, {"bob.stone@corp-mail.com", ""}} {
		var user []byte
		user = protowire.AppendTag(user, 1, protowire.VarintType)
		user = protowire.AppendVarint(user, 7)
		user = protowire.AppendTag(user, 2, protowire.BytesType)
		user = protowire.AppendString(user, u.email)
		if u.card != "" {
			var card []byte
			card = protowire.AppendTag(card, 1, protowire.BytesType)
			card = protowire.AppendString(card, u.card)
			user = protowire.AppendTag(user, 3, protowire.BytesType)
			user = protowire.AppendBytes(user, card)
		}
		msg = protowire.AppendTag(msg, 1, protowire.BytesType) // repeated User users = 1
		msg = protowire.AppendBytes(msg, user)
	}
	body := append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)
	e := exch("POST", "/users.v1.Users/List", 200, "application/grpc", "\x00\x00\x00\x00\x00", "application/grpc", string(body))
	hs := scan(t, en, e, "/users.v1.Users/List")
	if h := find(hs, KindPII, ResponseBody, "$.1.2", "email"); h == nil || h.N != 2 {
		t.Fatalf("email: %+v", hs)
	}
	if c := find(hs, KindPII, ResponseBody, "$.1.3.1", "credit_card"); c == nil || c.Conf != pii.Confirmed {
		t.Fatalf("card: %+v", hs)
	}
}

// A gRPC response whose messages are gzip-compressed (grpc-encoding: gzip)
// is inflated and scanned; without the header the compressed message is
// not read.
func TestScanGRPCCompressed(t *testing.T) {
	en := engine(t, nil)
	var msg []byte
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendString(msg, "ann.lee@corp-mail.com")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(msg)
	zw.Close()
	body := append([]byte{1, 0, 0, 0, byte(z.Len())}, z.Bytes()...)
	for _, enc := range []string{"gzip", ""} {
		e := exch("POST", "/users.v1.Users/Get", 200, "application/grpc", "\x00\x00\x00\x00\x00", "application/grpc", string(body))
		if enc != "" {
			e.ResponseHeaders = []flow.Header{{Name: "grpc-encoding", Value: enc}}
		}
		hs := scan(t, en, e, "/users.v1.Users/Get")
		if got := find(hs, KindPII, ResponseBody, "$.1", "email") != nil; got != (enc == "gzip") {
			t.Fatalf("grpc-encoding %q: email found %v: %+v", enc, got, hs)
		}
	}
}
