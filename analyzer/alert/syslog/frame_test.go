package syslog

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apitap/apitap/internal/testutil"
)

var (
	testHeader = Header{Facility: 10, Hostname: "sensor-1.example.com", AppName: "apitap", ProcID: "4242"}
	testTime   = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
)

func TestAppendFrameExact(t *testing.T) {
	m := Message{Severity: 3, MsgID: "anomaly", Time: testTime, Payload: []byte(`CEF:0|apitap|apitap|1.0|bola|BOLA|7|src=10.0.0.1 msg=a\=b`)}
	got, cut := AppendFrame([]byte("keep:"), testHeader, m, 0)
	want := `keep:<83>1 2026-03-04T05:06:07.891234Z sensor-1.example.com apitap 4242 anomaly - CEF:0|apitap|apitap|1.0|bola|BOLA|7|src=10.0.0.1 msg=a\=b`
	if string(got) != want || cut {
		t.Fatalf("got  %s (cut %v)\nwant %s", got, cut, want)
	}
	// No payload: no SP before MSG.
	got, _ = AppendFrame(nil, Header{}, Message{Severity: 6}, 0)
	if want := "<6>1 - - - - - -"; string(got) != want { // facility 0 here: only Config maps 0 to the default
		t.Fatalf("empty: got %q, want %q", got, want)
	}
}

func TestPRI(t *testing.T) {
	for _, c := range []struct{ fac, sev, want int }{
		{10, 6, 86}, {10, 2, 82}, {0, 0, 0}, {23, 7, 191}, {4, 3, 35}, {16, 5, 133},
		{-1, 3, 83}, {24, 3, 83}, // facility out of range: DefaultFacility
		{10, -1, 84}, {10, 8, 84}, // severity out of range: warning
	} {
		b, _ := AppendFrame(nil, Header{Facility: c.fac}, Message{Severity: c.sev}, 0)
		p, err := parse5424(b)
		if err != nil || p.PRI != c.want {
			t.Errorf("facility %d severity %d: %q (%v), want PRI %d", c.fac, c.sev, b, err, c.want)
		}
	}
}

func TestSeverityOf(t *testing.T) {
	for sev, want := range map[string]int{"info": 6, "low": 5, "medium": 4, "high": 3, "critical": 2, "": 4, "HIGH": 4, "bogus": 4} {
		if got := SeverityOf(sev); got != want {
			t.Errorf("SeverityOf(%q) = %d, want %d", sev, got, want)
		}
	}
}

func TestHeaderSanitizing(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "-"},
		{"plain", "plain"},
		{"with space", "with_space"},
		{"tab\tnew\nline\x00nul\x7fdel", "tab_new_line_nul_del"},
		{"café", "caf_"},                 // one '_' per character, not per byte
		{"日本", "__"},                     // 3-byte sequences
		{"😀x", "_x"},                     // 4-byte sequence
		{"bad\xff\xfeutf8", "bad__utf8"}, // each invalid byte
		{"[]=\"\\-", "[]=\"\\-"},         // printable specials stay
	} {
		b, _ := AppendFrame(nil, Header{Hostname: c.in, AppName: c.in, ProcID: c.in}, Message{MsgID: c.in}, 0)
		p, err := parse5424(b)
		if err != nil {
			t.Fatalf("%q: %q: %v", c.in, b, err)
		}
		for name, got := range map[string]string{"HOSTNAME": p.Hostname, "APP-NAME": p.AppName, "PROCID": p.ProcID, "MSGID": p.MsgID} {
			if got != c.want {
				t.Errorf("%s of %q = %q, want %q", name, c.in, got, c.want)
			}
		}
	}
	// Cut to RFC 5424's lengths, counting replaced characters as one byte.
	long := strings.Repeat("é", 300)
	b, _ := AppendFrame(nil, Header{Hostname: long, AppName: long, ProcID: long}, Message{MsgID: long}, 0)
	p, err := parse5424(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		got string
		max int
	}{"HOSTNAME": {p.Hostname, 255}, "APP-NAME": {p.AppName, 48}, "PROCID": {p.ProcID, 128}, "MSGID": {p.MsgID, 32}} {
		if c.got != strings.Repeat("_", c.max) {
			t.Errorf("%s: %d bytes %q, want %d '_'", name, len(c.got), c.got, c.max)
		}
	}
}

func TestTimestamp(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{testTime, "2026-03-04T05:06:07.891234Z"},           // nanoseconds truncated
		{testTime.In(paris), "2026-03-04T05:06:07.891234Z"}, // always UTC
		{time.Date(2026, 1, 1, 0, 0, 0, 0, paris), "2025-12-31T23:00:00.000000Z"},
		{time.Time{}, "-"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "-"},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "-"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000000Z"},
	} {
		b, _ := AppendFrame(nil, Header{}, Message{Time: c.in}, 0)
		if got := strings.Fields(string(b))[1]; got != c.want {
			t.Errorf("%v: TIMESTAMP %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	payload := []byte("CEF:0|x|y|1|a|b|5|msg=aé日😀b" + strings.Repeat("é日😀", 40))
	full, _ := AppendFrame(nil, testHeader, Message{Time: testTime, Payload: payload}, 0)
	for max := len(full) - len(payload) - 1; max <= len(full)+1; max++ {
		b, cut := AppendFrame(nil, testHeader, Message{Time: testTime, Payload: payload}, max)
		if len(b) > max {
			t.Fatalf("max %d: %d bytes", max, len(b))
		}
		if cut != (max < len(full)) {
			t.Fatalf("max %d: cut %v, frame is %d bytes", max, cut, len(full))
		}
		p, err := parse5424(b)
		if err != nil {
			t.Fatalf("max %d: %v", max, err)
		}
		if !bytes.HasPrefix(payload, p.Msg) || !utf8.Valid(p.Msg) {
			t.Fatalf("max %d: MSG %q is not a valid UTF-8 prefix", max, p.Msg)
		}
		// The longest such prefix: at most a sequence's length short.
		if room := max - (len(full) - len(payload)); len(p.Msg) < room-(utf8.UTFMax-1) && len(p.Msg) < len(payload) {
			t.Fatalf("max %d: MSG %d bytes, room %d", max, len(p.Msg), room)
		}
	}
	// Invalid UTF-8 is cut where the limit is (no sequence to respect).
	bad := bytes.Repeat([]byte{0x80}, 100)
	b, _ := AppendFrame(nil, Header{}, Message{Payload: bad}, 50)
	if len(b) != 50 {
		t.Fatalf("invalid UTF-8: %d bytes, want 50", len(b))
	}
}

func TestTruncateBackslash(t *testing.T) {
	hdr, _ := AppendFrame(nil, Header{}, Message{}, 0)
	for _, c := range []struct{ payload, want string }{
		{`abc\=def`, `abc`},  // "abc\" would end in half of "\=": dropped
		{`ab\\=def`, `ab\\`}, // an escaped backslash stays
		{`a\\\|def`, `a\\`},  // "\\" then half of "\|"
	} {
		max := len(hdr) + 1 + 4 // room for 4 payload bytes
		b, cut := AppendFrame(nil, Header{}, Message{Payload: []byte(c.payload)}, max)
		p, err := parse5424(b)
		if err != nil || !cut || string(p.Msg) != c.want {
			t.Errorf("%q cut to %d: MSG %q (cut %v, %v), want %q", c.payload, max, p.Msg, cut, err, c.want)
		}
	}
}

func TestOctetCounting(t *testing.T) {
	msgs := []Message{
		{Severity: 2, MsgID: "pii", Time: testTime, Payload: []byte("CEF:0|a|b|c|d|e|9|msg=short")},
		{Severity: 6, MsgID: "x", Payload: []byte("LEEF:2.0|a|b|c|d|^|k=v^k2=日本語")},
		{Severity: 4, Payload: bytes.Repeat([]byte("123 "), 5000)}, // looks like counts inside
		{Severity: 4},
	}
	var stream []byte
	var frames [][]byte
	for _, m := range msgs {
		var f []byte
		f, _ = AppendFrame(nil, testHeader, m, 0)
		frames = append(frames, f)
		stream, _ = AppendOctetCounted(stream, testHeader, m, 0)
	}
	got, err := parseOctetCounted(stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(frames) {
		t.Fatalf("%d frames, want %d", len(got), len(frames))
	}
	for i := range got {
		if !bytes.Equal(got[i], frames[i]) {
			t.Errorf("frame %d: %q, want %q", i, got[i], frames[i])
		}
	}
	// The count is of the (cut) message only.
	b, cut := AppendOctetCounted(nil, testHeader, Message{Payload: bytes.Repeat([]byte("x"), 1000)}, 500)
	if !cut || !bytes.HasPrefix(b, []byte("500 ")) || len(b) != 504 {
		t.Fatalf("cut: %q... (%d bytes, cut %v), want \"500 \" and 504 bytes", b[:10], len(b), cut)
	}
}

func TestAppendFrameAllocs(t *testing.T) {
	m := Message{Severity: 3, MsgID: "anomaly", Time: testTime, Payload: bytes.Repeat([]byte("é"), 1000)}
	buf := make([]byte, 0, 4096)
	testutil.AssertAllocs(t, 0, func() {
		buf, _ = AppendOctetCounted(buf[:0], testHeader, m, 1500)
	})
}

func TestConfig(t *testing.T) {
	var c Config
	c.Defaults()
	if c.Network != "udp" || c.Facility != 10 || c.AppName != "apitap" || c.MaxMessageBytes != 2048 || c.Timeout != 5*time.Second || c.Hostname == "" {
		t.Fatalf("udp defaults: %+v", c)
	}
	c = Config{Network: "tls", Address: "logs.example.com:6514"}
	c.Defaults()
	if c.MaxMessageBytes != 64<<10 || c.ServerName != "logs.example.com" {
		t.Fatalf("tls defaults: %+v", c)
	}
	c = Config{Network: "tcp", Address: "127.0.0.1:514", Facility: 16}
	c.Defaults()
	if c.Facility != 16 || c.MaxMessageBytes != 64<<10 || c.ServerName != "" {
		t.Fatalf("tcp defaults: %+v", c)
	}
	for _, ok := range []Config{
		{Address: "127.0.0.1:514"},
		{Network: "tcp", Address: "[::1]:601", Facility: 23, MaxMessageBytes: 480},
		{Network: "tls", Address: "siem:6514", InsecureSkipVerify: true},
		{Network: "udp", Address: "siem:514", MaxMessageBytes: 65507},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "address is required"},
		{Config{Network: "relp", Address: "a:1"}, "network"},
		{Config{Address: "nohost"}, "host:port"},
		{Config{Address: ":514"}, "host:port"},
		{Config{Address: "a:0"}, "port"},
		{Config{Address: "a:syslog"}, "port"},
		{Config{Address: "a:1", Facility: 24}, "facility"},
		{Config{Address: "a:1", Facility: -1}, "facility"},
		{Config{Address: "a:1", MaxMessageBytes: 479}, "max_message_bytes"},
		{Config{Address: "a:1", MaxMessageBytes: 65508}, "max_message_bytes"},
		{Config{Address: "a:1", Timeout: -1}, "timeout"},
		{Config{Address: "a:1", MaxMessageBytes: 480, Hostname: strings.Repeat("h", 255), AppName: strings.Repeat("a", 48)}, "leaves"},
		{Config{Address: "a:1", CAFile: "/x"}, "for network tls"},
		{Config{Network: "tcp", Address: "a:1", InsecureSkipVerify: true}, "for network tls"},
		{Config{Network: "tls", Address: "a:1", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
		{Config{Network: "tls", Address: "a:1", CertFile: "/x"}, "go together"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.cfg, err, c.want)
		}
		if _, nerr := New(c.cfg); nerr == nil {
			t.Errorf("New(%+v) succeeded", c.cfg)
		}
	}
}

// frameFields are AppendFrame's inputs: the fuzz target's arguments.
type frameFields struct {
	facility, severity               int
	hostname, appName, procID, msgID string
	unixSec, nsec                    int64 // both 0: the zero time
	payload                          []byte
	max                              int
}

// sanitizedRef is the header rule, written independently of appendField:
// printable US-ASCII kept, any other character (range yields one
// utf8.RuneError per invalid byte) one '_', cut to max, "" is "-".
func sanitizedRef(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == max {
			break
		}
		if r >= 33 && r <= 126 {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// checkFrame frames f and checks that the result parses back to f.
func checkFrame(t *testing.T, f frameFields) {
	h := Header{Facility: f.facility, Hostname: f.hostname, AppName: f.appName, ProcID: f.procID}
	m := Message{Severity: f.severity, MsgID: f.msgID, Payload: f.payload}
	if f.unixSec != 0 || f.nsec != 0 {
		m.Time = time.Unix(f.unixSec, f.nsec)
	}
	b, cut := AppendFrame([]byte("prefix"), h, m, f.max)
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatal("dst's bytes changed")
	}
	b = b[len("prefix"):]
	p, err := parse5424(b)
	if err != nil {
		t.Fatalf("%q does not parse: %v", b, err)
	}
	fac, sev := f.facility, f.severity
	if fac < 0 || fac > 23 {
		fac = DefaultFacility
	}
	if sev < 0 || sev > 7 {
		sev = 4
	}
	if p.PRI != fac*8+sev {
		t.Fatalf("PRI %d, want %d", p.PRI, fac*8+sev)
	}
	if m.Time.IsZero() || m.Time.UTC().Year() > 9999 || m.Time.UTC().Year() < 0 {
		if !p.Time.IsZero() {
			t.Fatalf("TIMESTAMP %v for %v, want -", p.Time, m.Time)
		}
	} else if want := m.Time.Truncate(time.Microsecond); !p.Time.Equal(want) {
		t.Fatalf("TIMESTAMP %v, want %v", p.Time, want)
	}
	for _, c := range []struct{ name, got, want string }{
		{"HOSTNAME", p.Hostname, sanitizedRef(f.hostname, 255)},
		{"APP-NAME", p.AppName, sanitizedRef(f.appName, 48)},
		{"PROCID", p.ProcID, sanitizedRef(f.procID, 128)},
		{"MSGID", p.MsgID, sanitizedRef(f.msgID, 32)},
	} {
		if c.got != c.want {
			t.Fatalf("%s %q, want %q", c.name, c.got, c.want)
		}
	}
	if p.HasMsg != (len(p.Msg) > 0) {
		t.Fatalf("SP without MSG: %q", b)
	}
	headerLen := len(b) - len(p.Msg)
	if p.HasMsg {
		headerLen--
	}
	room := f.max - headerLen - 1
	switch {
	case f.max <= 0 || len(f.payload) <= room:
		if cut || !bytes.Equal(p.Msg, f.payload) {
			t.Fatalf("MSG %q (cut %v), want the payload %q", p.Msg, cut, f.payload)
		}
	default:
		if !cut || !bytes.HasPrefix(f.payload, p.Msg) {
			t.Fatalf("MSG %q (cut %v), want a prefix of %q", p.Msg, cut, f.payload)
		}
		if headerLen+1 < f.max && len(b) > f.max {
			t.Fatalf("%d bytes, max %d", len(b), f.max)
		}
		if room > 0 && len(p.Msg) < room-utf8.UTFMax {
			t.Fatalf("MSG %d bytes, room %d: cut too much", len(p.Msg), room)
		}
		// Not inside a valid UTF-8 sequence: the cut-off rest starts
		// where a sequence may start, or is invalid there.
		if rest := f.payload[len(p.Msg):]; len(rest) > 0 && !utf8.RuneStart(rest[0]) {
			for i := len(p.Msg) - 1; i >= 0 && i >= len(p.Msg)-utf8.UTFMax; i-- {
				if utf8.RuneStart(f.payload[i]) {
					if r, size := utf8.DecodeRune(f.payload[i:]); (r != utf8.RuneError || size > 1) && i+size > len(p.Msg) {
						t.Fatalf("cut at %d inside %q", len(p.Msg), f.payload[i:i+size])
					}
					break
				}
			}
		}
		if n := len(p.Msg) - len(bytes.TrimRight(p.Msg, `\`)); n%2 == 1 {
			t.Fatalf("MSG ends in half an escape: %q", p.Msg)
		}
	}
	// The same message octet-counted, after other bytes.
	oc, cut2 := AppendOctetCounted([]byte("x"), h, m, f.max)
	frames, err := parseOctetCounted(oc[1:])
	if err != nil || len(frames) != 1 || !bytes.Equal(frames[0], b) || cut2 != cut || oc[0] != 'x' {
		t.Fatalf("octet-counted %q: %q (%v), want %q", oc, frames, err, b)
	}
}

func FuzzFrame(f *testing.F) {
	f.Add(10, 3, "sensor-1", "apitap", "4242", "anomaly", testTime.Unix(), int64(testTime.Nanosecond()), []byte(`CEF:0|apitap|apitap|1.0|x|y|7|msg=a\=b\\c\|d`), 0)
	f.Add(16, 6, "host with space", "日本", "", "", int64(0), int64(0), []byte("LEEF:2.0|a|b|c|d|^|k=é日😀"), 60)
	f.Add(-5, 99, "", "\xff\xfe", "\x00", "m", int64(-62135596801), int64(-1), []byte("abc\\"), 52)
	f.Add(23, 7, strings.Repeat("h", 300), strings.Repeat("a", 60), strings.Repeat("p", 200), strings.Repeat("m", 40), int64(253402300800), int64(0), bytes.Repeat([]byte("é"), 100), 2048)
	f.Fuzz(func(t *testing.T, facility, severity int, hostname, appName, procID, msgID string, unixSec, nsec int64, payload []byte, max int) {
		if max > 1<<20 {
			max = 1 << 20
		}
		// ±34,000 years: beyond that time.Time's year arithmetic wraps.
		unixSec %= 1 << 40
		checkFrame(t, frameFields{facility, severity, hostname, appName, procID, msgID, unixSec, nsec, payload, max})
	})
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := []byte(`CEF:0|apitap|apitap|1.4.0|anomaly.bola_enumeration|BOLA enumeration on GET /api/users/{id}|7|rt=1767225600000 src=203.0.113.7 suser=fp:3f2a9c request=/api/users/{id} requestMethod=GET cnt=412 msg=client 203.0.113.7 read 412 distinct ids in 5m, 38% denied`)
	m := Message{Severity: 3, MsgID: "anomaly", Time: testTime, Payload: payload}
	for _, c := range []struct {
		name string
		max  int
		oc   bool
	}{{"udp", 2048, false}, {"octet-counted", 64 << 10, true}, {"truncated", 200, true}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if c.oc {
					buf, _ = AppendOctetCounted(buf[:0], testHeader, m, c.max)
				} else {
					buf, _ = AppendFrame(buf[:0], testHeader, m, c.max)
				}
			}
		})
	}
}

func ExampleAppendFrame() {
	h := Header{Facility: DefaultFacility, Hostname: "sensor-1", AppName: "apitap", ProcID: "4242"}
	m := Message{Severity: SeverityOf("high"), MsgID: "anomaly", Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Payload: []byte(`CEF:0|apitap|apitap|1.0|bola|BOLA enumeration|7|src=10.0.0.1`)}
	b, _ := AppendOctetCounted(nil, h, m, 2048)
	fmt.Println(string(b))
	// Output: 125 <83>1 2026-01-02T03:04:05.000006Z sensor-1 apitap 4242 anomaly - CEF:0|apitap|apitap|1.0|bola|BOLA enumeration|7|src=10.0.0.1
}
