package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/apitap/apitap/analyzer/pii/walk"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/http1"
	"github.com/apitap/apitap/sensor/tcp"
)

func maskOn(c *Config) { c.Mask.Enabled = true }

// newTestMasker returns the masker of a Factory built with mod applied to
// a config with masking on.
func newTestMasker(t testing.TB, mod func(*Config)) *masker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("0123456789abcdef-test-key")
	cfg.Mask.Enabled = true
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	f := NewFactory(cfg, nil)
	if f.mask == nil {
		t.Fatal("masking enabled but no masker")
	}
	return f.mask
}

// maskString masks a copy of body as a body of media type ct and returns
// it with the number of values masked.
func maskString(m *masker, ct, body string, cut bool) (string, int) {
	b := []byte(body)
	m.n = 0
	m.data([]byte(ct), b, cut)
	return string(b), m.n
}

// postExchange runs one POST with a request and a response body through a
// Factory and returns the record.
func postExchange(t testing.TB, f *Factory, target, reqCT, reqBody, respCT, respBody string) *flow.Exchange {
	t.Helper()
	var out []*flow.Exchange
	f.emit = func(e *flow.Exchange) { out = append(out, e) }
	req := &http1.Message{Request: true, Method: []byte("POST"), Proto: []byte("HTTP/1.1"), Target: []byte(target),
		Headers: fields("Host", "api.example.com", "Content-Type", reqCT),
		Body:    []byte(reqBody), BodyWireBytes: int64(len(reqBody)), ContentLength: int64(len(reqBody)), Start: 1, End: 2}
	resp := &http1.Message{Proto: []byte("HTTP/1.1"), Status: 200, Reason: []byte("OK"),
		Headers: fields("Content-Type", respCT),
		Body:    []byte(respBody), BodyWireBytes: int64(len(respBody)), ContentLength: int64(len(respBody)), Start: 3, End: 4}
	got := runMessages(t, f, &out, req, resp)
	if len(got) != 1 {
		t.Fatalf("got %d records", len(got))
	}
	return got[0]
}

func TestMaskJSON(t *testing.T) {
	m := newTestMasker(t, nil)
	cases := []struct {
		name, in, want string
		n              int
	}{{
		name: "nested objects and arrays",
		in:   `{"user":{"email":"john.doe@gmail.com","first_name":"Ann","address":{"street":"12 Main Street"},"id":42},"items":[{"card_number":"4539 5787 6362 1486","sku":"A-1"}],"ok":true}`,
		want: `{"user":{"email":"********@gmail.com","first_name":"***","address":{"street":"**************"},"id":42},"items":[{"card_number":"**** **** **** 1486","sku":"A-1"}],"ok":true}`,
		n:    4,
	}, {
		name: "arrays of values",
		in:   `{"emails":["a.b@gmail.com","c@yahoo.fr"],"cards":[["4539578763621486"]]}`,
		want: `{"emails":["***@gmail.com","*@yahoo.fr"],"cards":[["************1486"]]}`,
		n:    3,
	}, {
		name: "escaped strings: whole escapes masked or kept",
		in:   `{"email":"john\u002edoe@gmail.com","contact":"john\u0040gmail.com","note":"line\nbreak \"quoted\" \\ \/"}`,
		want: `{"email":"*************@gmail.com","contact":"****\u0040gmail.com","note":"line\nbreak \"quoted\" \\ \/"}`,
		n:    2,
	}, {
		name: "escaped non-ASCII name",
		in:   `{"last_name":"Jos\u00e9 \u00d6lund"}`,
		want: `{"last_name":"********************"}`,
		n:    1,
	}, {
		name: "surrogate pair before a match",
		in:   `{"comment":"\ud83d\ude00 john.doe@gmail.com \u00e9"}`,
		want: `{"comment":"\ud83d\ude00 ********@gmail.com \u00e9"}`,
		n:    1,
	}, {
		name: "numbers become 0 padded with spaces",
		in:   `[{"card_number":4539578763621486,"amount":12.5,"pin":1234,"n":-0.5e3}]`,
		want: `[{"card_number":0               ,"amount":12.5,"pin":0   ,"n":-0.5e3}]`,
		n:    2,
	}, {
		name: "previews of each shape",
		in:   `{"phone":"+14155552671","ssn":"234-56-7890","iban":"DE44500105175407324931","ip":"8.8.8.8","dob":"1990-05-17","password":"hunter2","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"}`,
		want: `{"phone":"+*********71","ssn":"***-**-7890","iban":"DE****************4931","ip":"8.*.*.*","dob":"****-**-**","password":"*******","token":"****************************************"}`,
		n:    7,
	}, {
		name: "a value inside free text",
		in:   `{"comment":"write to john.doe@gmail.com or call"}`,
		want: `{"comment":"write to ********@gmail.com or call"}`,
		n:    1,
	}, {
		name: "documented test cards are masked too",
		in:   `{"card_number":"4242 4242 4242 4242"}`,
		want: `{"card_number":"**** **** **** 4242"}`,
		n:    1,
	}, {
		name: "nothing sensitive",
		in:   `{"id":12345,"status":"shipped","total":"99.90","active":true,"x":null,"tags":[],"o":{},"order_id":"4539578763621486"}`,
		want: `{"id":12345,"status":"shipped","total":"99.90","active":true,"x":null,"tags":[],"o":{},"order_id":"4539578763621486"}`,
	}, {
		name: "sloppy JSON: bare words and trailing commas",
		in:   `{"password": hunter2, "email": john.doe@gmail.com, "a":[1,NaN,],}`,
		want: `{"password": *******, "email": ********@gmail.com, "a":[1,NaN,],}`,
		n:    2,
	}, {
		name: "byte order mark",
		in:   "\xef\xbb\xbf{\"password\":\"hunter2\"}",
		want: "\xef\xbb\xbf{\"password\":\"*******\"}",
		n:    1,
	}, {
		name: "root scalar and white space",
		in:   " \n\"john.doe@gmail.com\"\n",
		want: " \n\"********@gmail.com\"\n",
		n:    1,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n := maskString(m, "application/json", tc.in, false)
			if got != tc.want || n != tc.n {
				t.Errorf("\n got %s (%d)\nwant %s (%d)", got, n, tc.want, tc.n)
			}
			if len(got) != len(tc.in) {
				t.Errorf("length %d, want %d", len(got), len(tc.in))
			}
			if json.Valid([]byte(tc.in)) && !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
			// Idempotent: a masked body has nothing left to mask.
			if again, n := maskString(m, "application/json", got, false); again != got || n != 0 {
				t.Errorf("second pass changed %d values: %s", n, again)
			}
		})
	}
}

func TestMaskNDJSON(t *testing.T) {
	m := newTestMasker(t, nil)
	in := "{\"email\":\"a.b@gmail.com\"}\n" +
		"{\"email\": broken \"c.d@yahoo.fr\"}\n" +
		"\x1e{\"card_number\":\"4539578763621486\"}\n"
	want := "{\"email\":\"***@gmail.com\"}\n" +
		"{\"email\": broken \"***@yahoo.fr\"}\n" +
		"\x1e{\"card_number\":\"************1486\"}\n"
	for _, ct := range []string{"application/x-ndjson", "application/jsonl", "application/json-seq", "application/json"} {
		m.fallbacks = 0
		got, n := maskString(m, ct, in, false)
		if got != want || n != 3 || m.fallbacks != 1 {
			t.Errorf("%s:\n got %q (%d, %d fallbacks)\nwant %q", ct, got, n, m.fallbacks, want)
		}
	}
}

func TestMaskForm(t *testing.T) {
	m := newTestMasker(t, nil)
	in := "email=john.doe%40gmail.com&card_number=4539+5787+6362+1486&pin=1234&shipping=1234&user%5Bpassword%5D=s3cret&q=shoes&flag&empty="
	want := "email=********%40gmail.com&card_number=****+****+****+1486&pin=****&shipping=1234&user%5Bpassword%5D=******&q=shoes&flag&empty="
	got, n := maskString(m, "application/x-www-form-urlencoded", in, false)
	if got != want || n != 4 {
		t.Errorf("\n got %s (%d)\nwant %s", got, n, want)
	}
}

// TestMaskKeys: configured keys match whole words of the last named
// segment, case-insensitively: "pin" masks pin, user_pin, pinCode, PIN,
// not shipping, pinned, spin or pins. The pii detector is limited to
// emails here so that only the keys mask.
func TestMaskKeys(t *testing.T) {
	m := newTestMasker(t, func(c *Config) {
		c.Mask.Types = []string{"email"}
		c.Mask.Keys = []string{"pin", "member_no"}
	})
	in := `{"pin":"0000","shipping":"ABC","user_pin":"12","pinCode":99,"pinned":"yes","spin":"x","PIN":"7","account":{"memberNo":"M-77","member_no_hint":"h","remember_no":"r"},"pins":["1","2"],"a":{"pin":[5,"6"]}}`
	want := `{"pin":"****","shipping":"ABC","user_pin":"**","pinCode":0 ,"pinned":"yes","spin":"x","PIN":"*","account":{"memberNo":"****","member_no_hint":"*","remember_no":"r"},"pins":["1","2"],"a":{"pin":[0,"*"]}}`
	got, n := maskString(m, "application/json", in, false)
	if got != want || n != 8 {
		t.Errorf("\n got %s (%d)\nwant %s", got, n, want)
	}
	// The same in a form and a query.
	got, n = maskString(m, "application/x-www-form-urlencoded", "pin=1234&shipping=1234&card[pin]=77&Pin_Code=5", false)
	if want := "pin=****&shipping=1234&card[pin]=**&Pin_Code=*"; got != want || n != 3 {
		t.Errorf("form: got %s (%d), want %s", got, n, want)
	}
	// Without the key, the detector alone does not mask a bare pin (type
	// password disabled here).
	m2 := newTestMasker(t, func(c *Config) { c.Mask.Types = []string{"email"} })
	if got, n := maskString(m2, "application/json", `{"pin":"0000"}`, false); n != 0 {
		t.Errorf("no keys: %s", got)
	}
}

func TestMaskKeyHit(t *testing.T) {
	m := newTestMasker(t, func(c *Config) { c.Mask.Keys = []string{"pin", "card_pin", "APIToken"} })
	for key, want := range map[string]bool{
		"$.pin": true, "$.PIN": true, "$.user_pin": true, "$.pinCode": true, "$.x.pin[]": true, "pin": true,
		"$.user[pin]": true, "$.pin.value": false, "$.shipping": false, "$.spin": false, "$.pinned": false,
		"$.cardPin": true, "$.CARD_PIN": true, "$.cardpin": true, "$.card.pin": true, "$.card_number": false,
		"$.api_token": true, "$.apiToken": true, "$.APITokenValue": true, "$": false, "": false, "$.[]": false,
		"$.pin2": false, "$.my-pin": true,
	} {
		if got := m.keyHit([]byte(key)); got != want {
			t.Errorf("keyHit(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestMaskText(t *testing.T) {
	m := newTestMasker(t, nil)
	for _, tc := range []struct{ ct, in, want string }{
		{"text/plain", "mail john.doe@gmail.com, card 4539 5787 6362 1486.", "mail ********@gmail.com, card **** **** **** 1486."},
		{"application/xml", "<u><email>john.doe@gmail.com</email></u>", "<u><email>********@gmail.com</email></u>"},
		{"", "plain text john.doe@gmail.com", "plain text ********@gmail.com"},
		{"application/octet-stream", "\x00\x01john.doe@gmail.com", "\x00\x01john.doe@gmail.com"}, // binary: not looked at
		{"image/png", "\x89PNG\r\n\x1a\njohn.doe@gmail.com", "\x89PNG\r\n\x1a\njohn.doe@gmail.com"},
		// gRPC and protobuf: strings inside the binary framing, masked in
		// place (the lengths, hence the message, unchanged).
		{"application/grpc", "\x00\x00\x00\x00\x1b\x0a\x12john.doe@gmail.com\x12\x05hello", "\x00\x00\x00\x00\x1b\x0a\x12********@gmail.com\x12\x05hello"},
		{"application/x-protobuf", "\x0a\x134539 5787 6362 1486", "\x0a\x13**** **** **** 1486"},
	} {
		if got, _ := maskString(m, tc.ct, tc.in, false); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.ct, got, tc.want)
		}
	}
}

// TestMaskTruncated: a value cut by the end of a capped body is masked
// whole: no clear prefix of a cut card number survives. The bodies go
// through a real connection with a small body cap.
func TestMaskTruncated(t *testing.T) {
	cases := []struct {
		ct, body string
		keep     int
		want     string
	}{
		{"application/json", `{"id":7,"card_number":"4539578763621486"}`, 31, `{"id":7,"card_number":"********`},
		{"application/json", `{"id":7,"card_number":4539578763621486}`, 30, `{"id":7,"card_number":0       `},
		{"application/json", `{"note":"x","c":"4539 5787 6362 1486"}`, 28, `{"note":"x","c":"***********`},
		{"application/json", `{"email":"john.doe@gmail.com","n":"abcdef"}`, 38, `{"email":"********@gmail.com","n":"***`},
		{"application/x-ndjson", "{\"a\":1}\n{\"cc\":\"4539578763621486\"}\n", 20, "{\"a\":1}\n{\"cc\":\"*****"},
		{"application/x-www-form-urlencoded", "a=1&card_number=4539578763621486", 24, "a=1&card_number=********"},
		{"text/plain", "pay with 4539 5787 6362 1486 thanks", 21, "pay with **** **** **"},
		{"text/plain", "write to john.doe@example.org", 22, "write to ****.***@****"},
	}
	for _, tc := range cases {
		h := newHarness(t, func(c *Config) {
			c.Mask.Enabled = true
			c.Limits.MaxBodyBytes = tc.keep
		})
		s := h.f.New(connInfo(false))
		s.Data(c2s, []byte(crlf("POST /x HTTP/1.1\nHost: h\nContent-Type: "+tc.ct+"\nContent-Length: "+itoa(len(tc.body))+"\n\n")+tc.body), ms(0))
		s.Data(s2c, []byte(crlf("HTTP/1.1 204 No Content\n\n")), ms(1))
		s.End(tcp.EndFIN, ms(2))
		e := h.one()
		if got := string(e.Request.Data); got != tc.want {
			t.Errorf("%s %q cut at %d:\n got %q\nwant %q", tc.ct, tc.body, tc.keep, got, tc.want)
		}
		wantFlags(t, e, flow.FlagTruncated|flow.FlagMasked, 0)
	}
}

func TestMaskQuery(t *testing.T) {
	h := newHarness(t, maskOn)
	e := postExchange(t, h.f, "/search?email=john.doe%40gmail.com&q=shoes&api_key=QK-secret-4242&card=4539578763621486&pin", "", "", "", "")
	re := regexp.MustCompile(`^email=\*{8}%40gmail\.com&q=shoes&api_key=fp:[0-9a-f]{32}&card=\*{12}1486&pin$`)
	if !re.MatchString(e.Query) || e.Target != "/search?"+e.Query || e.Path != "/search" {
		t.Errorf("query %q target %q path %q", e.Query, e.Target, e.Path)
	}
	wantFlags(t, e, flow.FlagRedacted|flow.FlagMasked, 0)
	if st := h.f.Stats(); st.MaskedValues != 2 || st.Redacted != 1 {
		t.Errorf("stats: masked %d redacted %d", st.MaskedValues, st.Redacted)
	}

	// Absolute-form target: Target holds the scheme and authority too.
	e = postExchange(t, h.f, "http://api.example.com/s?email=a.b%40gmail.com", "", "", "", "")
	if e.Query != "email=***%40gmail.com" || e.Target != "http://api.example.com/s?email=***%40gmail.com" {
		t.Errorf("absolute form: query %q target %q", e.Query, e.Target)
	}
}

// TestMaskDisabledByDefault: the default leaves bodies and queries as
// they are and allocates nothing for masking.
func TestMaskDisabledByDefault(t *testing.T) {
	if DefaultConfig().Mask.Enabled {
		t.Fatal("masking is on by default")
	}
	h := newHarness(t, nil)
	if h.f.mask != nil {
		t.Fatal("masker built while disabled")
	}
	body := `{"email":"john.doe@gmail.com","card_number":"4539578763621486"}`
	e := postExchange(t, h.f, "/s?email=john.doe%40gmail.com", "application/json", body, "application/json", body)
	if string(e.Request.Data) != body || string(e.Response.Data) != body || e.Query != "email=john.doe%40gmail.com" {
		t.Errorf("changed: %s", dump([]*flow.Exchange{e}))
	}
	if e.Flags.Has(flow.FlagMasked) || h.f.Stats().MaskedValues != 0 {
		t.Errorf("flags %v stats %+v", e.Flags, h.f.Stats())
	}
}

// TestMaskRecord: both bodies of a record, the flag, the counters and a
// valid JSON line.
func TestMaskRecord(t *testing.T) {
	h := newHarness(t, maskOn)
	reqBody := `{"user":{"email":"john.doe@gmail.com","password":"hunter2"}}`
	respBody := `{"id":1,"card":{"number":"4539 5787 6362 1486"},"ok":true}`
	rawReq, rawResp := []byte(reqBody), []byte(respBody)
	var out []*flow.Exchange
	h.f.emit = func(e *flow.Exchange) { out = append(out, e) }
	req := &http1.Message{Request: true, Method: []byte("POST"), Proto: []byte("HTTP/1.1"), Target: []byte("/u"),
		Headers: fields("Host", "h", "Content-Type", "application/json; charset=utf-8"),
		Body:    rawReq, BodyWireBytes: int64(len(rawReq)), ContentLength: int64(len(rawReq)), Start: 1, End: 2}
	resp := &http1.Message{Proto: []byte("HTTP/1.1"), Status: 200, Headers: fields("Content-Type", "application/vnd.api+json"),
		Body: rawResp, BodyWireBytes: int64(len(rawResp)), ContentLength: int64(len(rawResp)), Start: 3, End: 4}
	e := runMessages(t, h.f, &out, req, resp)[0]
	if got, want := string(e.Request.Data), `{"user":{"email":"********@gmail.com","password":"*******"}}`; got != want {
		t.Errorf("request body %s, want %s", got, want)
	}
	if got, want := string(e.Response.Data), `{"id":1,"card":{"number":"**** **** **** 1486"},"ok":true}`; got != want {
		t.Errorf("response body %s, want %s", got, want)
	}
	// The parser's buffers (the messages' bodies) are not written to.
	if string(rawReq) != reqBody || string(rawResp) != respBody {
		t.Errorf("input buffers changed: %s %s", rawReq, rawResp)
	}
	wantFlags(t, e, flow.FlagMasked, flow.FlagRedacted)
	if st := h.f.Stats(); st.MaskedValues != 3 || st.MaskFallbacks != 0 {
		t.Errorf("stats: %d masked, %d fallbacks", st.MaskedValues, st.MaskFallbacks)
	}
	line := flow.AppendJSON(nil, e)
	if !json.Valid(line) || !bytes.Contains(line, []byte(`"masked"`)) {
		t.Errorf("record: %s", line)
	}
	if f, ok := flow.ParseFlag("masked"); !ok || f != flow.FlagMasked || flow.FlagMasked.String() != "masked" {
		t.Errorf("flag name: %v %v", f, ok)
	}
	for _, d := range [][]byte{e.Request.Data, e.Response.Data} {
		if !json.Valid(d) {
			t.Errorf("invalid body %s", d)
		}
	}

	// A record without anything sensitive is not flagged.
	e = postExchange(t, h.f, "/x?page=2", "application/json", `{"a":1}`, "application/json", `{"status":"ok"}`)
	wantFlags(t, e, 0, flow.FlagMasked)
}

// TestMaskRecordsIndependent: masking writes only into the record being
// built. Records already emitted, and the pooled copies of pending
// requests, are not touched: a record's bodies stay what they were at
// emission while the connection goes on.
func TestMaskRecordsIndependent(t *testing.T) {
	h := newHarness(t, maskOn)
	s := h.f.New(connInfo(false))
	body := `{"email":"john.doe@gmail.com","n":1}`
	req := crlf("POST /a HTTP/1.1\nHost: h\nContent-Type: application/json\nContent-Length: "+itoa(len(body))+"\n\n") + body
	resp := crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: "+itoa(len(body))+"\n\n") + body
	type snap struct {
		e    *flow.Exchange
		line string
	}
	var snaps []snap
	for i := 0; i < 3; i++ {
		in := []byte(req + req) // two pipelined requests: one waits as a pending copy
		s.Data(c2s, in, ms(10*i))
		if string(in) != req+req {
			t.Fatal("input bytes changed")
		}
		s.Data(s2c, []byte(resp+resp), ms(10*i+1))
		for _, e := range h.take() {
			if string(e.Request.Data) != `{"email":"********@gmail.com","n":1}` || string(e.Response.Data) != string(e.Request.Data) {
				t.Fatalf("record %d: %s", i, dump([]*flow.Exchange{e}))
			}
			snaps = append(snaps, snap{e, string(flow.AppendJSON(nil, e))})
		}
	}
	s.End(tcp.EndFIN, ms(100))
	if len(snaps) != 6 {
		t.Errorf("%d records", len(snaps))
	}
	for _, sn := range snaps {
		if got := string(flow.AppendJSON(nil, sn.e)); got != sn.line {
			t.Errorf("record changed after emission:\n%s\n%s", got, sn.line)
		}
	}
}

func TestMaskDecodedBody(t *testing.T) {
	h := newHarness(t, maskOn)
	body := []byte(`{"email":"john.doe@gmail.com"}`)
	gz := gzipped(body)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET / HTTP/1.1\nHost: h\n\n")), ms(0))
	s.Data(s2c, append([]byte(crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Encoding: gzip\nContent-Length: "+itoa(len(gz))+"\n\n")), gz...), ms(1))
	s.End(tcp.EndFIN, ms(2))
	e := h.one()
	if got := string(e.Response.Data); got != `{"email":"********@gmail.com"}` || e.Response.DecodedBytes != int64(len(body)) {
		t.Errorf("decoded body %s (%d)", got, e.Response.DecodedBytes)
	}
}

func TestMaskConfig(t *testing.T) {
	bad := []struct {
		mod  func(*MaskConfig)
		want string
	}{
		{func(c *MaskConfig) { c.MinConfidence = "high" }, `Mask.MinConfidence: "high"`},
		{func(c *MaskConfig) { c.Types = []string{"email", "creditcard"} }, `Mask.Types: unknown type "creditcard"`},
		{func(c *MaskConfig) { c.Keys = []string{""} }, `Mask.Keys: "" is not a key name`},
		{func(c *MaskConfig) { c.Keys = []string{"user.pin"} }, `Mask.Keys: "user.pin"`},
		{func(c *MaskConfig) { c.Keys = []string{"two words"} }, `Mask.Keys: "two words"`},
		{func(c *MaskConfig) { c.Keys = []string{"1234"} }, `Mask.Keys: "1234"`},
		{func(c *MaskConfig) { c.Keys = []string{strings.Repeat("k", 65)} }, `Mask.Keys`},
	}
	for _, tc := range bad {
		cfg := DefaultConfig()
		tc.mod(&cfg.Mask)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Mask.Enabled = true
	cfg.DecodeBodies = false
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Mask.Enabled needs DecodeBodies") {
		t.Errorf("Validate() = %v", err)
	}
	cfg = DefaultConfig()
	cfg.Mask = MaskConfig{Enabled: true, Keys: []string{"pin", "member_no", "apiToken"}, MinConfidence: "confirmed", Types: []string{"credit_card", "email"}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if n := cfg.normalized().Mask; n.MinConfidence != "confirmed" || len(n.Types) != 2 {
		t.Errorf("normalized %+v", n)
	}
	cfg.Mask.MinConfidence, cfg.Mask.Types = "Likely", []string{" Email", "CREDIT_CARD"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("case-insensitive names: %v", err)
	}
	if n := cfg.normalized().Mask; n.MinConfidence != "likely" || fmt.Sprint(n.Types) != "[email credit_card]" {
		t.Errorf("normalized %+v", n)
	}
	if n := DefaultConfig().normalized().Mask; n.Enabled || n.MinConfidence != "likely" || n.Types != nil || n.Keys != nil {
		t.Errorf("defaults %+v", n)
	}
	// Unvalidated bad values never make masking weaker.
	if n := (MaskConfig{MinConfidence: "bogus", Types: []string{"bogus"}}).normalized(); n.MinConfidence != "likely" || len(n.Types) != 0 {
		t.Errorf("normalized bad values %+v", n)
	}

	// YAML: sensor.http.mask.
	var y Config
	dec := yaml.NewDecoder(strings.NewReader("mask:\n  enabled: true\n  keys: [pin, member_no]\n  min_confidence: confirmed\n  types: [email, credit_card]\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		t.Fatal(err)
	}
	if want := (MaskConfig{Enabled: true, Keys: []string{"pin", "member_no"}, MinConfidence: "confirmed", Types: []string{"email", "credit_card"}}); fmt.Sprint(y.Mask) != fmt.Sprint(want) {
		t.Errorf("yaml: %+v", y.Mask)
	}
}

// TestMaskMinConfidenceAndTypes: the tier and the type list select what
// the detector masks.
func TestMaskMinConfidenceAndTypes(t *testing.T) {
	in := `{"email":"john.doe@gmail.com","password":"hunter2","server":"10.1.2.3"}`
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{nil, `{"email":"********@gmail.com","password":"*******","server":"10.1.2.3"}`},
		{func(c *Config) { c.Mask.MinConfidence = "confirmed" }, `{"email":"********@gmail.com","password":"hunter2","server":"10.1.2.3"}`},
		{func(c *Config) { c.Mask.MinConfidence = "possible" }, `{"email":"********@gmail.com","password":"*******","server":"10.*.*.*"}`},
		{func(c *Config) { c.Mask.Types = []string{"password"} }, `{"email":"john.doe@gmail.com","password":"*******","server":"10.1.2.3"}`},
	} {
		m := newTestMasker(t, tc.mod)
		if got, _ := maskString(m, "application/json", in, false); got != tc.want {
			t.Errorf("\n got %s\nwant %s", got, tc.want)
		}
	}
}

// TestMaskPathsMatchWalker: the masker's scanners see the leaves, paths
// and decoded values that analyzer/pii/walk gives the analyzer, so a key
// means the same thing on both sides.
func TestMaskPathsMatchWalker(t *testing.T) {
	m := newTestMasker(t, nil)
	bodies := []struct{ ct, body string }{
		{"application/json", `{"user":{"email":"a@b.co","tags":["x","y",{"k":1}],"n":-1.5e3,"t":true,"z":null},"a b":{"c.d":"e"},"esc\"k\u00e9y":"v\\al\u0041","":"empty","arr":[[1,[2]],[]],"o":{}}`},
		{"application/json", `[1,"two",{"three":[3.0]}]`},
		{"application/json", `"root"`},
		{"application/x-www-form-urlencoded", "email=a%40b.co&user[email]=x&ids[]=1&ids[3]=2&a+b=c+d&q=%zz&x[y][]=1&k%5Bz%5D=2"},
	}
	type leaf struct{ path, value string }
	for _, b := range bodies {
		var mine, theirs []leaf
		m.trace = func(key, v []byte) { mine = append(mine, leaf{string(key), string(v)}) }
		maskString(m, b.ct, b.body, false)
		m.trace = nil
		var w walk.Walker
		err := w.Body(b.ct, []byte(b.body), func(l *walk.Leaf) bool {
			if (l.Kind == walk.String || l.Kind == walk.Number) && len(l.Value) > 0 {
				theirs = append(theirs, leaf{string(l.Path), string(l.Value)})
			}
			return true
		})
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		var mineNonEmpty []leaf
		for _, l := range mine {
			if l.value != "" {
				mineNonEmpty = append(mineNonEmpty, l)
			}
		}
		if fmt.Sprint(mineNonEmpty) != fmt.Sprint(theirs) {
			t.Errorf("%s %s:\n mine %q\nwalk %q", b.ct, b.body, mineNonEmpty, theirs)
		}
	}
}

// maskBody is a ~4 KiB JSON API response: a page of customers with ids,
// timestamps, flags, nested addresses and a few personal values.
var maskBody = func() []byte {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := 0; i < 9; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"uuid":"6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e%02d","status":"active","plan":"pro","created_at":"2024-01-0%dT03:04:05Z",`+
			`"email":"customer%d@example.org","first_name":"Anna","last_name":"Smith","phone":"+1415555%04d",`+
			`"address":{"street":"%d Main Street","city":"Springfield","zip":"12345","country":"US"},`+
			`"orders":[{"order_id":"A-%d-1","total":99.90,"items":3},{"order_id":"A-%d-2","total":12.5,"items":1}],"verified":true,"score":0.87}`,
			1000+i, i, i+1, i, 2671+i, 10+i, i, i)
	}
	b.WriteString(`],"meta":{"page":1,"per_page":9,"total":1234,"next":"/v1/customers?page=2"}}`)
	return []byte(b.String())
}()

func BenchmarkMask(b *testing.B) {
	m := newTestMasker(b, nil)
	buf := make([]byte, len(maskBody))
	ct := []byte("application/json")
	b.SetBytes(int64(len(maskBody)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, maskBody)
		m.n = 0
		m.data(ct, buf, false)
	}
	b.ReportMetric(float64(m.n), "values/op")
}

func TestMaskBenchBody(t *testing.T) {
	if n := len(maskBody); n < 3800 || n > 4400 {
		t.Errorf("benchmark body is %d bytes, want about 4 KiB", n)
	}
	m := newTestMasker(t, nil)
	out, n := maskString(m, "application/json", string(maskBody), false)
	if !json.Valid([]byte(out)) || n < 9*4 {
		t.Errorf("%d values masked: %s", n, out)
	}
}

// BenchmarkExchangeMask is BenchmarkExchange's keep-alive exchange with
// the 4 KiB body above as the response, masking off and on.
func BenchmarkExchangeMask(b *testing.B) {
	resp := []byte(crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: "+itoa(len(maskBody))+"\n\n") + string(maskBody))
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("mask=%v", on), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.HMACKey = []byte("0123456789abcdef")
			cfg.Mask.Enabled = on
			f := NewFactory(cfg, func(*flow.Exchange) {})
			s := f.New(connInfo(false))
			ts := ms(0)
			b.SetBytes(int64(len(kaRequest) + len(resp)))
			b.ReportAllocs()
			for b.Loop() {
				ts += 1000
				s.Data(c2s, kaRequest, ts)
				s.Data(s2c, resp, ts+500)
			}
			s.End(tcp.EndFIN, ts+1)
		})
	}
}

// TestAllocsPerExchangeMask: masking adds no allocation per exchange, on
// (warm scratch) or off.
func TestAllocsPerExchangeMask(t *testing.T) {
	resp := []byte(crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: "+itoa(len(maskBody))+"\n\n") + string(maskBody))
	allocs := func(on bool) float64 {
		cfg := DefaultConfig()
		cfg.HMACKey = []byte("0123456789abcdef")
		cfg.Mask.Enabled = on
		var last *flow.Exchange
		f := NewFactory(cfg, func(e *flow.Exchange) { last = e })
		s := f.New(connInfo(false))
		ts := ms(0)
		run := func() {
			ts += 1000
			s.Data(c2s, kaRequest, ts)
			s.Data(s2c, resp, ts+500)
		}
		for i := 0; i < 10; i++ {
			run()
		}
		n := testing.AllocsPerRun(200, run)
		if last == nil || last.Flags.Has(flow.FlagMasked) != on {
			t.Fatalf("mask=%v: flags %v", on, last.Flags)
		}
		s.End(tcp.EndFIN, ts+1)
		return n
	}
	off, on := allocs(false), allocs(true)
	t.Logf("allocations per exchange: masking off %.1f, on %.1f", off, on)
	if on != off {
		t.Errorf("masking on: %.1f allocations per exchange, off: %.1f", on, off)
	}
}
