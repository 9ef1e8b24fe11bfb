package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fmtTime = time.Date(2026, 11, 1, 12, 30, 5, 123456789, time.UTC)

// sampleAlert is an alert as Policy raises it.
func sampleAlert() *Alert {
	return &Alert{
		ID: "8f1c2a9be0d4473a91c5e2f0", DedupKey: "3e9a1f04c2b7d6e8a0b1c2d3e4f50617", Action: "new", Revision: 1,
		Time: fmtTime, FindingID: "f-bola-10.0.0.7", Kind: "anomaly", Type: "bola_enumeration", Severity: "high",
		Confidence: "likely", Host: "api.example.com", Method: "GET", Endpoint: "/users/{id}", ClientIP: "10.0.0.7",
		Principal: "jwt:alice@https://idp.example.com", Location: "behaviour", Count: 40,
		FirstSeen: fmtTime.Add(-4 * time.Minute), LastSeen: fmtTime.Add(-time.Second),
		Summary: "bola_enumeration from 10.0.0.7 on GET /users/{id}", Evidence: json.RawMessage(`{"distinct_ids":40,"denied":0.35}`),
		Observer: "analyzer-1", Version: "1.4.0",
	}
}

// hostileValues break naive encoders: delimiters and escapes of every
// format, line breaks, controls, invalid UTF-8, spoofed key=value pairs.
var hostileValues = []string{
	`a|b`, `back\slash`, `trailing\`, `\`, `|`, `=`, `\=`, `\\|`, `=\`, `k=v`,
	`x act=allowed src=1.2.3.4 cs1=spoof`, "line\nbreak", "cr\rlf\r\n", "tab\there\t", "nul\x00bell\x07",
	"del\x7f", "nel\u0085c1\u009f", "ls\u2028ps\u2029", "ünïcödé ✓ 日本 🚀", "bad\xffutf8\xc3", "\xe2\x82",
	` leading`, `trailing `, `  `, `x09`, "LEEF:2.0|a|b|c|d|x09|", "CEF:0|a|b|c|d|e|10|", `{"json":"value"}`,
	`"quoted"`, `</script><b>&amp;`, `\n\r\t literal`, "\ufeffbom", "\ufffd",
}

// hostileAlert sets every text field to v (suffixed, so fields differ).
func hostileAlert(v string) *Alert {
	a := sampleAlert()
	for i, p := range []*string{&a.ID, &a.DedupKey, &a.Action, &a.FindingID, &a.Kind, &a.Type, &a.Confidence,
		&a.Host, &a.Method, &a.Endpoint, &a.ClientIP, &a.Principal, &a.Location, &a.Field, &a.MaskedSample,
		&a.Fingerprint, &a.Summary, &a.Observer, &a.Version} {
		*p = v + fmt.Sprint(i)
	}
	a.Evidence = json.RawMessage(v)
	return a
}

// fuzzAlert builds an alert from fuzzed input: text holds the string
// fields separated by U+001E; a zero time is the zero time.
func fuzzAlert(text, ip string, count uint64, rev uint32, tm, first, last int64) *Alert {
	f := strings.Split(text, "\x1e")
	get := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	ts := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns).UTC()
	}
	a := &Alert{ID: get(0), DedupKey: get(1), Action: get(2), FindingID: get(3), Kind: get(4), Type: get(5),
		Severity: get(6), Confidence: get(7), Host: get(8), Method: get(9), Endpoint: get(10), Principal: get(11),
		Location: get(12), Field: get(13), MaskedSample: get(14), Fingerprint: get(15), Summary: get(16),
		Observer: get(17), Version: get(18), ClientIP: ip, Count: count, Revision: rev,
		Time: ts(tm), FirstSeen: ts(first), LastSeen: ts(last)}
	if e := get(19); e != "" {
		a.Evidence = json.RawMessage(e)
	}
	return a
}

// fuzzSeeds are the seeds FuzzCEF and FuzzLEEF share (also in
// testdata/fuzz).
func fuzzSeeds(f *testing.F) {
	s := sampleAlert()
	fields := []string{s.ID, s.DedupKey, s.Action, s.FindingID, s.Kind, s.Type, s.Severity, s.Confidence, s.Host,
		s.Method, s.Endpoint, s.Principal, s.Location, s.Field, s.MaskedSample, s.Fingerprint, s.Summary,
		s.Observer, s.Version, string(s.Evidence)}
	f.Add(strings.Join(fields, "\x1e"), s.ClientIP, s.Count, s.Revision, s.Time.UnixNano(), s.FirstSeen.UnixNano(), s.LastSeen.UnixNano())
	for _, v := range hostileValues {
		h := make([]string, len(fields))
		for i := range h {
			h[i] = v
		}
		f.Add(strings.Join(h, "\x1e"), v, uint64(1)<<40, uint32(7), int64(-1), int64(1), int64(0))
	}
	f.Add("", "2001:db8::1", uint64(0), uint32(0), int64(0), int64(0), int64(0))
	f.Add("\x1e\x1e\x1e\x1e\x1e\x1eunknown", "fe80::1%eth0", uint64(1), uint32(1), int64(1), int64(2), int64(3))
	f.Add(strings.Repeat("\x1e", 19)+"{\n  \"a\" : [1, \"x y\\\"\\t\"]\n}\n", "::ffff:1.2.3.4", uint64(3), uint32(4), int64(5), int64(6), int64(7))
}

// Models of the documented sanitization, written apart from the encoders.

// badControl: the runes no syslog line carries raw.
func badControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// clean maps invalid UTF-8 to U+FFFD (strings.Map does, byte by byte) and
// controls to a space, keeping the runes in keep.
func clean(s, keep string) string {
	return strings.Map(func(r rune) rune {
		if badControl(r) && !strings.ContainsRune(keep, r) {
			return ' '
		}
		return r
	}, s)
}

// wantEvidence is the evidence as CEF and LEEF carry it: valid JSON
// compacted, anything else as it is.
func wantEvidence(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// checkLine fails unless out is one line of valid UTF-8 without controls
// other than the ones in allow.
func checkLine(t testing.TB, out []byte, allow string) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("invalid UTF-8: %q", out)
	}
	for _, r := range string(out) {
		if badControl(r) && !strings.ContainsRune(allow, r) {
			t.Fatalf("raw control %U in %q", r, out)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"json": JSON, "ocsf": OCSF, "ecs": ECS, "cef": CEF, "leef": LEEF,
		"CEF": CEF, " Leef ": LEEF, "OCSF": OCSF} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, f, err, want)
		}
	}
	for _, in := range []string{"", "syslog", "cef:0", "jsonl", "leef2"} {
		if f, err := ParseFormat(in); err == nil {
			t.Errorf("ParseFormat(%q) = %q, want an error", in, f)
		}
	}
}

func TestAppendUnknownFormat(t *testing.T) {
	out, err := Append([]byte("keep"), Format("xml"), sampleAlert())
	if err == nil || string(out) != "keep" {
		t.Fatalf("Append(xml) = %q, %v; want dst unchanged and an error", out, err)
	}
}

// Every format appends to dst and leaves what was there.
func TestAppendKeepsPrefix(t *testing.T) {
	for _, f := range formats {
		out, err := Append([]byte("<14>1 - - - - - "), f, sampleAlert())
		if err != nil || !bytes.HasPrefix(out, []byte("<14>1 - - - - - ")) || len(out) < 40 {
			t.Errorf("%s: %q, %v", f, out, err)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	a := sampleAlert()
	out, err := Append(nil, JSON, a)
	if err != nil {
		t.Fatal(err)
	}
	var back Alert
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, *a)
	}
	// What json.Marshal refuses still gives one valid object: invalid
	// evidence as a string, a time past year 9999 as the zero time.
	a.Evidence = json.RawMessage("{\"x\":\n")
	a.LastSeen = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	out, _ = Append(nil, JSON, a)
	if !json.Valid(out) || bytes.ContainsAny(out, "\r\n") {
		t.Fatalf("not one valid object: %q", out)
	}
	back = Alert{}
	if err := json.Unmarshal(out, &back); err != nil || string(back.Evidence) != `"{\"x\":\n"` || !back.LastSeen.IsZero() {
		t.Fatalf("got evidence %s, last seen %v (%v)", back.Evidence, back.LastSeen, err)
	}
}

// Hostile values never break a format's line or its JSON.
func TestAppendHostileOneLine(t *testing.T) {
	for _, v := range hostileValues {
		a := hostileAlert(v)
		for _, f := range formats {
			out, err := Append(nil, f, a)
			if err != nil {
				t.Fatal(err)
			}
			switch f {
			case CEF:
				checkLine(t, out, "")
			case LEEF:
				checkLine(t, out, "\t")
			default:
				if !json.Valid(out) || bytes.ContainsAny(out, "\r\n") {
					t.Fatalf("%s %q: not one valid JSON line: %q", f, v, out)
				}
			}
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	a := sampleAlert()
	for _, f := range formats {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf, _ = Append(buf[:0], f, a)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
