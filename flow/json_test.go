package flow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleExchange() *Exchange {
	start := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	return &Exchange{
		Start:       start,
		End:         start.Add(1500 * time.Microsecond),
		Client:      netip.MustParseAddrPort("10.0.0.1:51000"),
		Server:      netip.MustParseAddrPort("[2001:db8::1]:8080"),
		Outer:       Outer{VLAN: 10, VNI: 42, Tunnel: TunnelVXLAN},
		Proto:       "HTTP/1.1",
		Method:      "POST",
		Host:        "api.example.com",
		HostPort:    8080,
		Target:      "/v1/items%2Fx?q=1",
		Path:        "/v1/items%2Fx",
		PathDecoded: "/v1/items/x",
		Query:       "q=1",
		RequestHeaders: []Header{
			{"Host", "api.example.com:8080"}, {"Content-Type", "application/json"},
			{"X-Dup", "a"}, {"X-Dup", "b"},
		},
		ResponseHeaders: []Header{{"Content-Type", "text/plain; charset=utf-8"}},
		Status:          201,
		Reason:          "Created",
		Informational:   []int{100},
		Request:         Body{WireBytes: 7, DecodedBytes: 7, ContentType: "application/json", Data: []byte(`{"a":1}`)},
		Response:        Body{WireBytes: 4, DecodedBytes: 4, ContentType: "application/octet-stream", Data: []byte{0xff, 0, 1, 2}},
		Credentials: []Credential{
			{Location: "header", Name: "Authorization", Scheme: "bearer", Fingerprint: "00112233445566778899aabbccddeeff",
				JWT: &JWTClaims{Sub: "u1", Iss: "iss", Aud: []string{"a", "b"}, Exp: 1700000000, Alg: "HS256"}},
			{Location: "header", Name: "Authorization", Scheme: "basic", Fingerprint: "ff", User: "bob"},
		},
		Flags: FlagPipelined | FlagRedacted,
	}
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	if d.More() {
		t.Fatalf("trailing data after the object: %s", b)
	}
	return m
}

func TestAppendJSONFields(t *testing.T) {
	e := sampleExchange()
	out := AppendJSON(nil, e)
	if bytes.HasSuffix(out, []byte("\n")) {
		t.Fatal("trailing newline")
	}
	m := decode(t, out)
	want := map[string]any{
		"ts":                     "2024-01-02T03:04:05.123456789Z",
		"end_ts":                 "2024-01-02T03:04:05.124956789Z",
		"duration_us":            json.Number("1500"),
		"client_ip":              "10.0.0.1",
		"client_port":            json.Number("51000"),
		"server_ip":              "2001:db8::1",
		"server_port":            json.Number("8080"),
		"vlan":                   json.Number("10"),
		"vni":                    json.Number("42"),
		"tunnel":                 "vxlan",
		"proto":                  "HTTP/1.1",
		"method":                 "POST",
		"host":                   "api.example.com",
		"host_port":              json.Number("8080"),
		"target":                 "/v1/items%2Fx?q=1",
		"path":                   "/v1/items%2Fx",
		"path_decoded":           "/v1/items/x",
		"query":                  "q=1",
		"status":                 json.Number("201"),
		"reason":                 "Created",
		"informational":          []any{json.Number("100")},
		"request_body_bytes":     json.Number("7"),
		"request_decoded_bytes":  json.Number("7"),
		"request_content_type":   "application/json",
		"request_body":           `{"a":1}`,
		"response_body_bytes":    json.Number("4"),
		"response_decoded_bytes": json.Number("4"),
		"response_content_type":  "application/octet-stream",
		"response_body":          base64.StdEncoding.EncodeToString([]byte{0xff, 0, 1, 2}),
		"response_body_base64":   true,
		"flags":                  []any{"redacted", "pipelined"},
		"request_headers":        []any{[]any{"Host", "api.example.com:8080"}, []any{"Content-Type", "application/json"}, []any{"X-Dup", "a"}, []any{"X-Dup", "b"}},
		"response_headers":       []any{[]any{"Content-Type", "text/plain; charset=utf-8"}},
		"credentials": []any{
			map[string]any{"location": "header", "name": "Authorization", "scheme": "bearer", "fingerprint": "00112233445566778899aabbccddeeff",
				"jwt": map[string]any{"sub": "u1", "iss": "iss", "aud": []any{"a", "b"}, "exp": json.Number("1700000000"), "alg": "HS256"}},
			map[string]any{"location": "header", "name": "Authorization", "scheme": "basic", "fingerprint": "ff", "user": "bob"},
		},
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %q = %#v", k, m[k])
		}
	}
}

func TestAppendJSONEmpty(t *testing.T) {
	out := AppendJSON(nil, &Exchange{})
	m := decode(t, out)
	for _, k := range []string{"ts", "client_ip", "client_port", "server_ip", "server_port", "method", "host",
		"path", "query", "status", "request_body_bytes", "response_body_bytes", "flags"} {
		if _, ok := m[k]; !ok {
			t.Errorf("required field %q missing in %s", k, out)
		}
	}
	if f, ok := m["flags"].([]any); !ok || len(f) != 0 {
		t.Errorf("flags = %#v, want []", m["flags"])
	}
	for _, k := range []string{"end_ts", "vlan", "tunnel", "proto", "credentials", "request_headers", "request_body", "informational"} {
		if _, ok := m[k]; ok {
			t.Errorf("zero field %q not omitted: %s", k, out)
		}
	}
}

func TestAppendJSONEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\s", `"q\"b\\s"`},
		{"\n\r\t\x00\x1f\x7f", `"\n\r\t\u0000\u001f` + "\x7f" + `"`},
		{"é€😀", `"é€😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"<&>", `"<&>"`},
	}
	for _, c := range cases {
		if got := string(appendString(nil, c.in)); got != c.want {
			t.Errorf("appendString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestAppendJSONAllocs(t *testing.T) {
	e := sampleExchange()
	buf := make([]byte, 0, 4096)
	n := testing.AllocsPerRun(200, func() { buf = AppendJSON(buf[:0], e) })
	if n != 0 {
		t.Fatalf("AppendJSON allocates %v times per call", n)
	}
}

func TestMarshalJSON(t *testing.T) {
	e := sampleExchange()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, AppendJSON(nil, e)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, compact.Bytes()) {
		t.Fatalf("json.Marshal differs from AppendJSON:\n%s\n%s", b, compact.Bytes())
	}
}

// sanitized is what a string looks like after a JSON round trip through
// AppendJSON: each invalid UTF-8 byte becomes U+FFFD.
func sanitized(s string) string { return string([]rune(s)) }

func FuzzAppendJSON(f *testing.F) {
	f.Add("GET", "/a?b=c", "X-H", "v\x00\"\\", []byte("body"), "user")
	f.Add("\xff\xfe", "\u2028", "", "\xed\xa0\x80", []byte{0xff, 0x00}, "é")
	f.Fuzz(func(t *testing.T, method, path, hname, hvalue string, body []byte, user string) {
		e := &Exchange{
			Start:          time.Unix(0, int64(len(body))*1e9+int64(len(path))),
			Method:         method,
			Host:           hvalue,
			Path:           path,
			Query:          hname + hvalue,
			Target:         path,
			Reason:         user,
			RequestHeaders: []Header{{hname, hvalue}, {hvalue, hname}},
			Request:        Body{WireBytes: int64(len(body)), Data: body, ContentType: method},
			Response:       Body{Data: []byte(path)},
			Credentials:    []Credential{{Location: path, Name: hname, User: user, JWT: &JWTClaims{Sub: user, Aud: []string{hvalue}}}},
			Flags:          Flags(len(body)),
		}
		out := AppendJSON(nil, e)
		if !utf8.Valid(out) {
			t.Fatalf("output is not valid UTF-8: %q", out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("invalid JSON: %v\n%q", err, out)
		}
		check := func(key string, got any, want string) {
			if s, _ := got.(string); s != sanitized(want) {
				t.Fatalf("%s = %q, want %q", key, got, sanitized(want))
			}
		}
		check("method", m["method"], method)
		check("path", m["path"], path)
		check("query", m["query"], hname+hvalue)
		check("host", m["host"], hvalue)
		hs, _ := m["request_headers"].([]any)
		if len(hs) != 2 {
			t.Fatalf("request_headers = %#v", m["request_headers"])
		}
		h0, _ := hs[0].([]any)
		if len(h0) != 2 {
			t.Fatalf("header pair = %#v", hs[0])
		}
		check("header name", h0[0], hname)
		check("header value", h0[1], hvalue)
		creds, _ := m["credentials"].([]any)
		if len(creds) != 1 {
			t.Fatalf("credentials = %#v", m["credentials"])
		}
		c, _ := creds[0].(map[string]any)
		check("credential name", c["name"], hname)
		if user != "" {
			check("credential user", c["user"], user)
		}
		if len(body) > 0 {
			got, _ := m["request_body"].(string)
			if m["request_body_base64"] == true {
				dec, err := base64.StdEncoding.DecodeString(got)
				if err != nil || !bytes.Equal(dec, body) {
					t.Fatalf("base64 body round trip: %q (%v), want %q", dec, err, body)
				}
			} else if got != string(body) {
				t.Fatalf("request_body = %q, want %q", got, body)
			}
		}
		if e.Flags != 0 {
			fl, _ := m["flags"].([]any)
			if len(fl) == 0 {
				t.Fatal("flags lost")
			}
		}
		if strings.Contains(string(out), "\n") {
			t.Fatal("raw newline in output")
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := sampleExchange()
	e.Response.Data = bytes.Repeat([]byte(`{"id":12345,"name":"widget","tags":["a","b"]},`), 22)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], e)
	}
	b.SetBytes(int64(len(buf)))
}
