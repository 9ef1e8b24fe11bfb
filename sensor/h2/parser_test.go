package h2

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recorder is a Handler writing every event as a line.
type recorder struct {
	ev    []string
	sizes []uint32
}

func (r *recorder) Headers(id uint32, fields []Field, end, truncated bool, start, ts int64) {
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, " %s=%s", f.Name, f.Value)
	}
	r.ev = append(r.ev, fmt.Sprintf("H%d end=%v trunc=%v%s", id, end, truncated, b.String()))
}

func (r *recorder) Data(id uint32, data []byte, end bool, ts int64) {
	if n := len(r.ev); len(data) > 0 && n > 0 && strings.HasPrefix(r.ev[n-1], fmt.Sprintf("D%d ", id)) && !strings.HasSuffix(r.ev[n-1], "END") {
		r.ev[n-1] += string(data) // pieces of one frame or of consecutive frames
	} else if len(data) > 0 {
		r.ev = append(r.ev, fmt.Sprintf("D%d %s", id, data))
	}
	if end {
		r.ev = append(r.ev, fmt.Sprintf("D%d END", id))
	}
}

func (r *recorder) DataGap(id uint32, n int, ts int64) {
	r.ev = append(r.ev, fmt.Sprintf("G%d %d", id, n))
}
func (r *recorder) Reset(id uint32, ts int64) { r.ev = append(r.ev, fmt.Sprintf("R%d", id)) }
func (r *recorder) TableSize(v uint32)        { r.sizes = append(r.sizes, v) }
func (r *recorder) Lost(ts int64)             { r.ev = append(r.ev, "LOST") }

// conv writes frames with x/net/http2's Framer and HPACK encoder (an
// independent implementation of both).
type conv struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newConv(preface bool) *conv {
	c := &conv{}
	if preface {
		c.buf.WriteString(Preface)
	}
	c.fr = http2.NewFramer(&c.buf, nil)
	c.fr.AllowIllegalWrites = true
	c.enc = hpack.NewEncoder(&c.hb)
	return c
}

func (c *conv) block(kv ...string) []byte {
	c.hb.Reset()
	for i := 0; i < len(kv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), c.hb.Bytes()...)
}

// feedAll feeds b split every n bytes.
func feedAll(p *Parser, b []byte, n int) {
	for len(b) > 0 {
		k := min(n, len(b))
		p.Feed(b[:k], 1)
		b = b[k:]
	}
}

func TestFrames(t *testing.T) {
	c := newConv(true)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 8192}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	c.fr.WriteWindowUpdate(0, 1<<20)
	req := c.block(":method", "POST", ":path", "/api/v1/users?id=7", ":authority", "api.example.com", ":scheme", "http",
		"authorization", "Bearer abc.def.ghi", "content-type", "application/json")
	// A header block split over HEADERS and two CONTINUATION frames,
	// padded, with a priority.
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: req[:5], PadLength: 3,
		Priority: http2.PriorityParam{StreamDep: 0, Weight: 15}})
	c.fr.WriteContinuation(1, false, req[5:9])
	c.fr.WriteContinuation(1, true, req[9:])
	c.fr.WriteDataPadded(1, false, []byte(`{"name":`), []byte{0, 0})
	c.fr.WritePing(false, [8]byte{1})
	c.fr.WriteData(1, true, []byte(`"x"}`))
	// Stream 3 (headers only, the same fields again: dynamic table hits).
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: c.block(":method", "GET", ":path", "/api/v1/users",
		":authority", "api.example.com", ":scheme", "http", "authorization", "Bearer abc.def.ghi"), EndHeaders: true, EndStream: true})
	c.fr.WriteRSTStream(3, http2.ErrCodeCancel)
	c.fr.WriteGoAway(3, http2.ErrCodeNo, []byte("bye"))
	c.fr.WriteRawFrame(0xfa, 0, 0, []byte("an unknown frame type is ignored"))
	wire := c.buf.Bytes()

	want := []string{
		"H1 end=false trunc=false :method=POST :path=/api/v1/users?id=7 :authority=api.example.com :scheme=http authorization=Bearer abc.def.ghi content-type=application/json",
		`D1 {"name":"x"}`,
		"D1 END",
		"H3 end=true trunc=false :method=GET :path=/api/v1/users :authority=api.example.com :scheme=http authorization=Bearer abc.def.ghi",
		"R3",
	}
	for _, step := range []int{len(wire), 1, 2, 7, 9, 10, 64} {
		r := &recorder{}
		p := NewParser(true, DefaultLimits(), r)
		feedAll(p, wire, step)
		if strings.Join(r.ev, "\n") != strings.Join(want, "\n") {
			t.Fatalf("split %d:\n%s\nwant\n%s", step, strings.Join(r.ev, "\n"), strings.Join(want, "\n"))
		}
		if len(r.sizes) != 1 || r.sizes[0] != 8192 {
			t.Fatalf("split %d: table sizes %v", step, r.sizes)
		}
		if st := p.Stats(); st.Frames != 12 || st.HeaderBlocks != 2 || st.DataBytes != 12 || p.Lost() {
			t.Fatalf("split %d: stats %+v", step, st)
		}
	}
}

// A PUSH_PROMISE's header block is decoded (the HPACK table needs it) but
// not delivered; the pushed response is.
func TestPushPromise(t *testing.T) {
	c := newConv(false)
	c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true, PadLength: 2,
		BlockFragment: c.block(":method", "GET", ":path", "/style.css", ":authority", "a.example", ":scheme", "http", "x-pushed", "yes")})
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(":status", "200", "x-pushed", "yes")})
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2, EndHeaders: true, EndStream: true, BlockFragment: c.block(":status", "200", ":path", "/style.css")})
	r := &recorder{}
	feedAll(NewParser(false, DefaultLimits(), r), c.buf.Bytes(), 3)
	want := "H1 end=false trunc=false :status=200 x-pushed=yes\nH2 end=true trunc=false :status=200 :path=/style.css"
	if got := strings.Join(r.ev, "\n"); got != want {
		t.Fatalf("%s\nwant\n%s", got, want)
	}
}

// Bytes lost inside a DATA payload are skipped and reported; anywhere
// else the direction is lost for good.
func TestGaps(t *testing.T) {
	c := newConv(false)
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(":status", "200")})
	head := c.buf.Len()
	c.fr.WriteData(1, false, []byte("0123456789"))
	c.fr.WriteData(1, true, []byte("abc"))
	wire := c.buf.Bytes()

	r := &recorder{}
	p := NewParser(false, DefaultLimits(), r)
	p.Feed(wire[:head+9+2], 1) // the frame header and "01"
	p.Gap(5, 2)                // "23456"
	p.Feed(wire[head+9+7:], 3)
	want := "H1 end=false trunc=false :status=200\nD1 01\nG1 5\nD1 789abc\nD1 END"
	if got := strings.Join(r.ev, "\n"); got != want || p.Lost() {
		t.Fatalf("%s\nwant\n%s", got, want)
	}
	if st := p.Stats(); st.GapBytes != 5 || st.DataBytes != 8 {
		t.Fatalf("stats %+v", st)
	}

	// A gap across the DATA frame's end, or in a frame header, loses it.
	for _, cut := range []struct{ at, n int }{{head + 9 + 2, 12}, {head + 3, 2}, {2, 1}} {
		r := &recorder{}
		p := NewParser(false, DefaultLimits(), r)
		p.Feed(wire[:cut.at], 1)
		p.Gap(cut.n, 2)
		p.Feed(wire[cut.at+cut.n:], 3)
		if !p.Lost() || r.ev[len(r.ev)-1] != "LOST" || p.Stats().LostBytes == 0 {
			t.Fatalf("gap of %d at %d: %v %+v", cut.n, cut.at, r.ev, p.Stats())
		}
	}
}

// Malformed input is Lost, never a panic or a wrong event.
func TestMalformed(t *testing.T) {
	frame := func(length int, typ, flags byte, id uint32, payload ...byte) []byte {
		b := []byte{byte(length >> 16), byte(length >> 8), byte(length), typ, flags, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
		return append(b, payload...)
	}
	for name, b := range map[string][]byte{
		"bad preface":             []byte("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"),
		"data on stream 0":        append([]byte(Preface), frame(1, frameData, 0, 0, 'x')...),
		"headers on stream 0":     append([]byte(Preface), frame(1, frameHeaders, flagEndHeaders, 0, 0x82)...),
		"continuation alone":      append([]byte(Preface), frame(1, frameContinuation, flagEndHeaders, 1, 0x82)...),
		"interleaved block":       append(append([]byte(Preface), frame(1, frameHeaders, 0, 1, 0x82)...), frame(0, 0x6, 0, 0)...),
		"pad beyond payload":      append([]byte(Preface), frame(2, frameData, flagPadded, 1, 5, 'x')...),
		"settings not 6n":         append([]byte(Preface), frame(5, frameSettings, 0, 0, 0, 1, 0, 0, 0)...),
		"rst of 3 bytes":          append([]byte(Preface), frame(3, frameRSTStream, 0, 1, 0, 0, 0)...),
		"bad hpack index":         append([]byte(Preface), frame(1, frameHeaders, flagEndHeaders, 1, 0xff)...),
		"block ends mid-field":    append([]byte(Preface), frame(2, frameHeaders, flagEndHeaders, 1, 0x40, 0x05)...),
		"priority beyond payload": append([]byte(Preface), frame(3, frameHeaders, flagPriority|flagEndHeaders, 1, 0, 0, 0)...),
	} {
		r := &recorder{}
		p := NewParser(true, DefaultLimits(), r)
		feedAll(p, b, 1)
		if !p.Lost() || len(r.ev) != 1 || r.ev[0] != "LOST" {
			t.Errorf("%s: %v", name, r.ev)
		}
	}
}

// Header fields beyond the limits are decoded (the dynamic table stays in
// step) and dropped; the next block decodes right.
func TestLimits(t *testing.T) {
	c := newConv(false)
	kv := []string{":status", "200"}
	for i := range 10 {
		kv = append(kv, fmt.Sprintf("x-h%d", i), strings.Repeat("v", 20))
	}
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(kv...)})
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, EndHeaders: true, EndStream: true, BlockFragment: c.block(":status", "204", "x-h9", strings.Repeat("v", 20))})
	r := &recorder{}
	p := NewParser(false, Limits{MaxHeaders: 4, MaxHeaderBytes: 1 << 10}, r)
	p.Feed(c.buf.Bytes(), 1)
	if len(r.ev) != 2 || !strings.HasPrefix(r.ev[0], "H1 end=false trunc=true :status=200 x-h0=") || strings.Count(r.ev[0], "=v") != 3 ||
		r.ev[1] != "H3 end=true trunc=false :status=204 x-h9="+strings.Repeat("v", 20) {
		t.Fatalf("%q", r.ev)
	}
	// A string longer than MaxHeaderBytes cannot be skipped: Lost.
	c = newConv(false)
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(":status", "200", "x-big", strings.Repeat("v", 2000))})
	r = &recorder{}
	p = NewParser(false, Limits{MaxHeaderBytes: 1 << 10}, r)
	p.Feed(c.buf.Bytes(), 1)
	if !p.Lost() {
		t.Fatalf("%q", r.ev)
	}
}

// A peer may grow its HPACK table up to what the other side's SETTINGS
// allowed (capped at Limits.MaxTableSize), not beyond.
func TestTableSize(t *testing.T) {
	for _, tc := range []struct {
		allowed uint32
		update  uint32
		lost    bool
	}{{0, 4096, false}, {0, 8192, true}, {16384, 16384, false}, {1 << 20, 1 << 20, true}} {
		c := newConv(false)
		c.enc.SetMaxDynamicTableSizeLimit(tc.update)
		c.enc.SetMaxDynamicTableSize(tc.update)
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(":status", "200")})
		r := &recorder{}
		p := NewParser(false, DefaultLimits(), r)
		if tc.allowed > 0 {
			p.SetTableSize(tc.allowed)
		}
		p.Feed(c.buf.Bytes(), 1)
		if p.Lost() != tc.lost {
			t.Errorf("allowed %d, update %d: lost %v, events %v", tc.allowed, tc.update, p.Lost(), r.ev)
		}
	}
}

func TestMatchPreface(t *testing.T) {
	for _, tc := range []struct {
		in          string
		match, more bool
	}{{"", false, true}, {"PRI", false, true}, {Preface, true, false}, {Preface + "\x00\x00", true, false},
		{"PRJ", false, false}, {"GET / HTTP/1.1\r\n", false, false}} {
		if m, more := MatchPreface([]byte(tc.in)); m != tc.match || more != tc.more {
			t.Errorf("%q: %v %v", tc.in, m, more)
		}
	}
}

// A header block that never ends (CONTINUATION frames without
// END_HEADERS, the 2024 "CONTINUATION flood") holds no more than the
// limits: fields past them are decoded and dropped, nothing is buffered
// per frame, and the block is delivered only if it ever ends.
func TestContinuationFlood(t *testing.T) {
	c := newConv(false)
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(":status", "200")})
	r := &recorder{}
	p := NewParser(false, Limits{MaxHeaders: 8, MaxHeaderBytes: 1 << 10}, r)
	p.Feed(c.buf.Bytes(), 1)
	c.buf.Reset()
	for i := range 20000 {
		c.fr.WriteContinuation(1, false, c.block(fmt.Sprintf("x-flood-%d", i), strings.Repeat("v", 40)))
		p.Feed(c.buf.Bytes(), 1)
		c.buf.Reset()
	}
	if len(p.fields) > 8 || cap(p.fields) > 64 || p.fieldBytes > 1<<10 || !p.truncated || len(r.ev) != 0 || p.Lost() {
		t.Fatalf("fields %d (cap %d), %d bytes, truncated %v, events %v", len(p.fields), cap(p.fields), p.fieldBytes, p.truncated, r.ev)
	}
	c.fr.WriteContinuation(1, true, c.block("x-last", "1"))
	p.Feed(c.buf.Bytes(), 1)
	if len(r.ev) != 1 || !strings.HasPrefix(r.ev[0], "H1 end=false trunc=true :status=200 x-flood-0=") || strings.Count(r.ev[0], "=") != 2+8 {
		t.Fatalf("%v", r.ev)
	}
}
