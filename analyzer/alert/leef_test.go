package alert

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseLEEF is a LEEF 2.0 parser written from the spec, apart from the
// encoder: five '|'-ended header fields after "LEEF:2.0|", the last the
// delimiter (a character, or its hex value after x or 0x), then attributes
// separated by the delimiter, each key=value split at its first '='.
func parseLEEF(line string) (hdr []string, attrs map[string]string, err error) {
	p := strings.SplitN(line, "|", 7)
	if len(p) != 7 || p[0] != "LEEF:2.0" {
		return nil, nil, errors.New("not a LEEF 2.0 header")
	}
	hdr = p[1:6]
	delim, err := leefDelimiter(p[5])
	if err != nil {
		return nil, nil, err
	}
	attrs = map[string]string{}
	if p[6] == "" {
		return hdr, attrs, nil
	}
	for _, kv := range strings.Split(p[6], string(delim)) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, nil, fmt.Errorf("bad attribute %q", kv)
		}
		if _, dup := attrs[k]; dup {
			return nil, nil, fmt.Errorf("key %q twice", k)
		}
		attrs[k] = v
	}
	return hdr, attrs, nil
}

func leefDelimiter(s string) (rune, error) {
	if r := []rune(s); len(r) == 1 {
		return r[0], nil
	}
	h, ok := strings.CutPrefix(s, "0x")
	if !ok {
		h, ok = strings.CutPrefix(s, "x")
	}
	if !ok || len(h) < 1 || len(h) > 4 {
		return 0, fmt.Errorf("bad delimiter %q", s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	return rune(n), err
}

func TestParseLEEFSpecExamples(t *testing.T) {
	_, attrs, err := parseLEEF("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21")
	if err != nil || attrs["dst"] != "10.0.0.5" || attrs["dstPort"] != "21" || len(attrs) != 5 {
		t.Fatalf("caret: %v %v", attrs, err)
	}
	_, attrs, err = parseLEEF("LEEF:2.0|Vendor|Product|Version|EventID|x5E|a=1^b=x=y")
	if err != nil || attrs["a"] != "1" || attrs["b"] != "x=y" {
		t.Fatalf("hex: %v %v", attrs, err)
	}
	for _, bad := range []string{"LEEF:1.0|a|b|c|d|", "LEEF:2.0|a|b|c|d|xZZ|k=v", "LEEF:2.0|a|b|c|d|x09|k=v\tnokey"} {
		if _, _, err := parseLEEF(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

// leefTimeKeys are compared as instants, at the millisecond.
var leefTimeKeys = []string{"devTime", "firstSeen", "lastSeen"}

// wantLEEF is what a LEEF consumer must read back from a.
func wantLEEF(a *Alert) (hdr []string, attrs map[string]string, times map[string]time.Time) {
	h := func(s string) string { return strings.ReplaceAll(clean(s, ""), "|", "/") }
	ver := a.Version
	if ver == "" {
		ver = "dev"
	}
	hdr = []string{"apitap", "apitap", h(ver), h(a.Kind) + ":" + h(a.Type), "x09"}
	attrs = map[string]string{}
	put := func(k, s string) {
		if s != "" {
			attrs[k] = clean(s, "")
		}
	}
	times = map[string]time.Time{}
	for k, t := range map[string]time.Time{"devTime": a.Time, "firstSeen": a.FirstSeen, "lastSeen": a.LastSeen} {
		if !t.IsZero() {
			times[k] = time.UnixMilli(t.UnixMilli())
		}
	}
	if !a.Time.IsZero() {
		attrs["devTimeFormat"] = "MMM dd yyyy HH:mm:ss.SSS z"
	}
	put("cat", a.Kind)
	if l := SeverityLevel(a.Severity); l >= 0 {
		attrs["sev"] = []string{"1", "3", "5", "8", "10"}[l]
	}
	if ip, err := netip.ParseAddr(a.ClientIP); err == nil && ip.Zone() == "" {
		put("src", a.ClientIP)
	} else {
		put("client", a.ClientIP)
	}
	put("usrName", a.Principal)
	put("host", a.Host)
	put("apitapType", a.Type)
	put("apitapConfidence", a.Confidence)
	put("endpoint", a.Endpoint)
	put("method", a.Method)
	put("findingId", a.FindingID)
	put("alertId", a.ID)
	put("dedupKey", a.DedupKey)
	put("action", a.Action)
	put("summary", a.Summary)
	put("location", a.Location)
	put("field", a.Field)
	put("maskedSample", a.MaskedSample)
	put("fingerprint", a.Fingerprint)
	put("observer", a.Observer)
	if a.Count > 0 {
		attrs["count"] = strconv.FormatUint(a.Count, 10)
	}
	if a.Revision > 0 {
		attrs["revision"] = strconv.FormatUint(uint64(a.Revision), 10)
	}
	if len(a.Evidence) > 0 {
		attrs["evidence"] = clean(wantEvidence(a.Evidence), "")
	}
	return hdr, attrs, times
}

// checkLEEF fails unless out is one line that a LEEF parser reads back as
// a, modulo the documented replacements.
func checkLEEF(t testing.TB, a *Alert, out []byte) {
	t.Helper()
	checkLine(t, out, "\t")
	hdr, attrs, err := parseLEEF(string(out))
	if err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	wantHdr, wantAttrs, wantTimes := wantLEEF(a)
	for i := range wantHdr {
		if hdr[i] != wantHdr[i] {
			t.Errorf("header field %d = %q, want %q\nin %q", i, hdr[i], wantHdr[i], out)
		}
	}
	for _, k := range leefTimeKeys {
		v, ok := attrs[k]
		want, wantOK := wantTimes[k]
		if ok != wantOK {
			t.Errorf("%s present %v, want %v\nin %q", k, ok, wantOK, out)
			continue
		}
		delete(attrs, k)
		if !ok {
			continue
		}
		// Java's "MMM dd yyyy HH:mm:ss.SSS z" in Go.
		got, err := time.Parse("Jan 02 2006 15:04:05.000 MST", v)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %q (%v), want %v", k, v, err, want)
		}
	}
	for k, v := range wantAttrs {
		if got, ok := attrs[k]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q\nin %q", k, got, ok, v, out)
		}
	}
	for k, v := range attrs {
		if _, ok := wantAttrs[k]; !ok {
			t.Errorf("unexpected %s=%q\nin %q", k, v, out)
		}
	}
}

func TestLEEFExample(t *testing.T) {
	out, _ := Append(nil, LEEF, sampleAlert())
	want := strings.Join([]string{
		"LEEF:2.0|apitap|apitap|1.4.0|anomaly:bola_enumeration|x09|devTime=Nov 01 2026 12:30:05.123 GMT",
		"devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z", "cat=anomaly", "sev=8", "apitapType=bola_enumeration",
		"apitapConfidence=likely", "src=10.0.0.7", "usrName=jwt:alice@https://idp.example.com", "host=api.example.com",
		"method=GET", "endpoint=/users/{id}", "location=behaviour", "findingId=f-bola-10.0.0.7",
		"alertId=8f1c2a9be0d4473a91c5e2f0", "dedupKey=3e9a1f04c2b7d6e8a0b1c2d3e4f50617", "action=new", "revision=1",
		"count=40", "firstSeen=Nov 01 2026 12:26:05.123 GMT", "lastSeen=Nov 01 2026 12:30:04.123 GMT",
		"observer=analyzer-1", "summary=bola_enumeration from 10.0.0.7 on GET /users/{id}",
		`evidence={"distinct_ids":40,"denied":0.35}`,
	}, "\t")
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	checkLEEF(t, sampleAlert(), out)
}

func TestLEEFHostile(t *testing.T) {
	for _, v := range hostileValues {
		a := hostileAlert(v)
		out, _ := Append(nil, LEEF, a)
		checkLEEF(t, a, out)
	}
}

func TestLEEFFields(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Alert)
		want string
	}{
		{func(a *Alert) { a.Severity = "info" }, "\tsev=1\t"},
		{func(a *Alert) { a.Severity = "critical" }, "\tsev=10\t"},
		{func(a *Alert) { a.Severity = "bogus" }, "\tcat=anomaly\tapitapType="},
		{func(a *Alert) { a.ClientIP = "2001:db8::7" }, "\tsrc=2001:db8::7\t"},
		{func(a *Alert) { a.ClientIP = "_hidden" }, "\tclient=_hidden\t"},
		{func(a *Alert) { a.Kind = "a|b" }, "|a/b:bola_enumeration|x09|"},
		{func(a *Alert) { a.Summary = "a\tb=c\r\nd" }, "\tsummary=a b=c  d\t"},
		{func(a *Alert) { a.Version = "" }, "|apitap|dev|"},
		{func(a *Alert) { a.Count = 1 << 40 }, "\tcount=1099511627776\t"},
	} {
		a := sampleAlert()
		c.mod(a)
		out, _ := Append(nil, LEEF, a)
		if !strings.Contains(string(out), c.want) {
			t.Errorf("no %q in\n%q", c.want, out)
		}
		checkLEEF(t, a, out)
	}
	out, _ := Append(nil, LEEF, &Alert{})
	if string(out) != "LEEF:2.0|apitap|apitap|dev|:|x09|" {
		t.Fatalf("empty alert: %q", out)
	}
}

func FuzzLEEF(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, ip string, count uint64, rev uint32, tm, first, last int64) {
		a := fuzzAlert(text, ip, count, rev, tm, first, last)
		out, err := Append(nil, LEEF, a)
		if err != nil {
			t.Fatal(err)
		}
		checkLEEF(t, a, out)
	})
}
