package alert

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// parseCEF is a strict CEF:0 parser written from the spec, apart from the
// encoder: the header is 7 fields ended by unescaped '|' (escapes \\ and
// \|); in the extension every unescaped '=' ends a key, the key being the
// last word before it, and a value runs to the space before the next key
// (escapes \\ \= \n \r).
func parseCEF(line string) (hdr []string, ext map[string]string, err error) {
	rest, ok := strings.CutPrefix(line, "CEF:")
	if !ok {
		return nil, nil, errors.New("no CEF: prefix")
	}
	var f []byte
	i := 0
	for len(hdr) < 7 {
		if i >= len(rest) {
			return nil, nil, fmt.Errorf("header has %d fields", len(hdr))
		}
		switch c := rest[i]; c {
		case '\\':
			if i+1 >= len(rest) || (rest[i+1] != '\\' && rest[i+1] != '|') {
				return nil, nil, fmt.Errorf("bad header escape at %d", i)
			}
			f = append(f, rest[i+1])
			i += 2
		case '|':
			hdr = append(hdr, string(f))
			f = f[:0]
			i++
		default:
			f = append(f, c)
			i++
		}
	}
	ext, err = parseCEFExtension(rest[i:])
	return hdr, ext, err
}

func parseCEFExtension(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	var eqs []int // unescaped '='
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			eqs = append(eqs, i)
		}
	}
	if len(eqs) == 0 {
		return nil, errors.New("extension without a key")
	}
	keyStart := 0
	for j, e := range eqs {
		key := s[keyStart:e]
		if key == "" || strings.TrimFunc(key, func(r rune) bool {
			return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		}) != "" {
			return nil, fmt.Errorf("bad key %q", key)
		}
		end := len(s)
		if j+1 < len(eqs) {
			sp := strings.LastIndexByte(s[e+1:eqs[j+1]], ' ')
			if sp < 0 {
				return nil, fmt.Errorf("no space before the key after %q", key)
			}
			end = e + 1 + sp
			keyStart = end + 1
		}
		v, err := unescapeCEF(s[e+1 : end])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q twice", key)
		}
		m[key] = v
	}
	return m, nil
}

func unescapeCEF(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i++; i == len(s) {
			return "", errors.New("dangling backslash")
		}
		switch s[i] {
		case '\\', '=':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// The parser reads the spec's own examples as the spec says.
func TestParseCEFSpecExamples(t *testing.T) {
	for line, want := range map[string]map[string]string{
		`CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1`: {
			"name": "detected a | in message", "src": "10.0.0.1", "act": "blocked a |", "dst": "1.1.1.1"},
		`CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`: {
			"name": `detected a \ in packet`, "act": `blocked a \`},
		`CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1`: {
			"name": "detected a = in message", "act": "blocked a ="},
		`CEF:0|security|threatmanager|1.0|100|Detected a threat. No action needed.|10|src=10.0.0.1 msg=Detected a threat.\n No action needed`: {
			"msg": "Detected a threat.\n No action needed"},
		`CEF:0|Security|threatmanager|1.0|100|worm|10|filePath=/user/username/dir/my file name.txt spt=1232`: {
			"filePath": "/user/username/dir/my file name.txt", "spt": "1232"},
	} {
		hdr, ext, err := parseCEF(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		for k, v := range want {
			got := ext[k]
			if k == "name" {
				got = hdr[5]
			}
			if got != v {
				t.Errorf("%s: %s = %q, want %q", line, k, got, v)
			}
		}
	}
	for _, bad := range []string{`CEF:0|a|b|c|d|e|10`, `CEF:0|a|b|c|d|e\x|10|`, `CEF:0|a|b|c|d|e|10|k=v\`, `CEF:0|a|b|c|d|e|10|k=a\tb`, `CEF:0|a|b|c|d|e|10|k=a x=b x=c`} {
		if _, _, err := parseCEF(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

// wantCEF is what a CEF consumer must read back from a: the header and
// every extension key.
func wantCEF(a *Alert) (hdr []string, ext map[string]string) {
	h := func(s string) string { return clean(s, "") }     // header: line breaks and controls → space
	v := func(s string) string { return clean(s, "\r\n") } // extension: CR and LF escaped
	ver := a.Version
	if ver == "" {
		ver = "dev"
	}
	sig := h(a.Kind) + ":" + h(a.Type)
	name := sig
	if a.Summary != "" {
		name = h(a.Summary)
	}
	sev := "Unknown"
	if l := SeverityLevel(a.Severity); l >= 0 {
		sev = []string{"1", "3", "5", "8", "10"}[l]
	}
	hdr = []string{"0", "apitap", "apitap", h(ver), sig, name, sev}

	ext = map[string]string{}
	put := func(k, s string) {
		if s != "" {
			ext[k] = v(s)
		}
	}
	custom := func(k, s, label string) {
		if s != "" {
			ext[k], ext[k+"Label"] = v(s), label
		}
	}
	ms := func(k string, t interface {
		IsZero() bool
		UnixMilli() int64
	}) {
		if !t.IsZero() {
			ext[k] = strconv.FormatInt(t.UnixMilli(), 10)
		}
	}
	ms("rt", a.Time)
	ms("start", a.FirstSeen)
	ms("end", a.LastSeen)
	put("externalId", a.ID)
	put("act", a.Action)
	put("cat", a.Kind)
	put("msg", a.Summary)
	put("dhost", a.Host)
	put("requestMethod", a.Method)
	put("request", a.Endpoint)
	put("suser", a.Principal)
	put("dvchost", a.Observer)
	if ip, err := netip.ParseAddr(a.ClientIP); err == nil && ip.Zone() == "" && ip.Is4() {
		put("src", a.ClientIP)
	} else if err == nil && ip.Zone() == "" {
		custom("c6a2", a.ClientIP, "Source IPv6 Address")
	} else {
		put("shost", a.ClientIP)
	}
	custom("cs1", a.Type, "type")
	custom("cs2", a.Confidence, "confidence")
	custom("cs3", a.Location, "location")
	custom("cs4", a.MaskedSample, "masked_sample")
	custom("cs5", a.FindingID, "finding_id")
	custom("cs6", a.DedupKey, "dedup_key")
	custom("flexString1", a.Field, "field")
	custom("flexString2", a.Fingerprint, "fingerprint")
	if a.Count > 0 {
		ext["cnt"] = strconv.FormatUint(min(a.Count, math.MaxInt32), 10)
	}
	if a.Revision > 0 {
		ext["cn1"], ext["cn1Label"] = strconv.FormatUint(uint64(a.Revision), 10), "revision"
	}
	if len(a.Evidence) > 0 {
		ext["apitapEvidence"] = v(wantEvidence(a.Evidence))
	}
	return hdr, ext
}

// checkCEF fails unless out is one line that a CEF parser reads back as a.
func checkCEF(t testing.TB, a *Alert, out []byte) {
	t.Helper()
	checkLine(t, out, "")
	hdr, ext, err := parseCEF(string(out))
	if err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	wantHdr, wantExt := wantCEF(a)
	for i := range wantHdr {
		if hdr[i] != wantHdr[i] {
			t.Errorf("header field %d = %q, want %q\nin %q", i, hdr[i], wantHdr[i], out)
		}
	}
	for k, v := range wantExt {
		if got, ok := ext[k]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q\nin %q", k, got, ok, v, out)
		}
	}
	for k, v := range ext {
		if _, ok := wantExt[k]; !ok {
			t.Errorf("unexpected %s=%q\nin %q", k, v, out)
		}
	}
}

func TestCEFExample(t *testing.T) {
	out, _ := Append(nil, CEF, sampleAlert())
	const want = `CEF:0|apitap|apitap|1.4.0|anomaly:bola_enumeration|bola_enumeration from 10.0.0.7 on GET /users/{id}|8|` +
		`rt=1793536205123 externalId=8f1c2a9be0d4473a91c5e2f0 act=new cat=anomaly cs1=bola_enumeration cs1Label=type ` +
		`cs2=likely cs2Label=confidence src=10.0.0.7 suser=jwt:alice@https://idp.example.com dhost=api.example.com ` +
		`requestMethod=GET request=/users/{id} cs3=behaviour cs3Label=location cs5=f-bola-10.0.0.7 cs5Label=finding_id ` +
		`cs6=3e9a1f04c2b7d6e8a0b1c2d3e4f50617 cs6Label=dedup_key dvchost=analyzer-1 ` +
		`msg=bola_enumeration from 10.0.0.7 on GET /users/{id} start=1793535965123 end=1793536204123 cnt=40 ` +
		`cn1=1 cn1Label=revision apitapEvidence={"distinct_ids":40,"denied":0.35}`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	checkCEF(t, sampleAlert(), out)
}

func TestCEFHostile(t *testing.T) {
	for _, v := range hostileValues {
		a := hostileAlert(v)
		out, _ := Append(nil, CEF, a)
		checkCEF(t, a, out)
		// A summary's key=value pairs never become keys.
		if _, ext, _ := parseCEF(string(out)); ext["act"] != clean(a.Action, "\r\n") {
			t.Fatalf("act spoofed: %q", out)
		}
	}
}

func TestCEFFields(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Alert)
		want string // a fragment of the line
	}{
		{func(a *Alert) { a.Severity = "info" }, "|1|rt="},
		{func(a *Alert) { a.Severity = "low" }, "|3|rt="},
		{func(a *Alert) { a.Severity = "medium" }, "|5|rt="},
		{func(a *Alert) { a.Severity = "critical" }, "|10|rt="},
		{func(a *Alert) { a.Severity = "" }, "|Unknown|rt="},
		{func(a *Alert) { a.ClientIP = "2001:db8::7" }, " c6a2=2001:db8::7 c6a2Label=Source IPv6 Address "},
		{func(a *Alert) { a.ClientIP = "fe80::1%eth0" }, " shost=fe80::1%eth0 "},
		{func(a *Alert) { a.ClientIP = "" }, " cs2Label=confidence suser="},
		{func(a *Alert) { a.Version = "" }, "CEF:0|apitap|apitap|dev|"},
		{func(a *Alert) { a.Summary = "" }, "|anomaly:bola_enumeration|anomaly:bola_enumeration|8|"},
		{func(a *Alert) { a.Field, a.Fingerprint = "$.user.email", "hmac:ab12" }, " flexString1=$.user.email flexString1Label=field "},
		{func(a *Alert) { a.Fingerprint = "hmac:ab12" }, " flexString2=hmac:ab12 flexString2Label=fingerprint "},
		{func(a *Alert) { a.MaskedSample = "a***@example.com" }, " cs4=a***@example.com cs4Label=masked_sample "},
		{func(a *Alert) { a.Count = 1 << 40 }, " cnt=2147483647 "},
		{func(a *Alert) { a.Evidence = []byte("{\n  \"a\": [1, 2]\n}\n") }, ` apitapEvidence={"a":[1,2]}`},
	} {
		a := sampleAlert()
		c.mod(a)
		out, _ := Append(nil, CEF, a)
		if !strings.Contains(string(out), c.want) {
			t.Errorf("no %q in\n%s", c.want, out)
		}
		checkCEF(t, a, out)
	}
	// Zero and empty values are left out.
	out, _ := Append(nil, CEF, &Alert{})
	if string(out) != "CEF:0|apitap|apitap|dev|:|:|Unknown|" {
		t.Fatalf("empty alert: %q", out)
	}
}

func FuzzCEF(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, ip string, count uint64, rev uint32, tm, first, last int64) {
		a := fuzzAlert(text, ip, count, rev, tm, first, last)
		out, err := Append(nil, CEF, a)
		if err != nil {
			t.Fatal(err)
		}
		checkCEF(t, a, out)
	})
}

func BenchmarkAppendCEF(b *testing.B) {
	a := sampleAlert()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf, _ = Append(buf[:0], CEF, a)
	}
	b.SetBytes(int64(len(buf)))
}
