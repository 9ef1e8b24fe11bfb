package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzParser: arbitrary bytes, split and gapped as ops say, never panic,
// never deliver after Lost, never deliver stream 0; and header fields
// written by x/net/http2 (HEADERS + CONTINUATION, split where the input
// says) come back exactly, in order.
func FuzzParser(f *testing.F) {
	c := newConv(true)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 1024})
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: c.block(":method", "GET", ":path", "/", "a", "b")})
	c.fr.WriteDataPadded(1, true, []byte("body"), []byte{0, 0, 0})
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	f.Add(c.buf.Bytes(), []byte{0x13, 0x40, 0x02, 0x80}, "x-a\x00v1\x00:path\x00/p?q=1\x00cookie\x00c=d", uint8(3))
	f.Add([]byte(Preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00"), []byte{0xff}, "", uint8(0))
	f.Add([]byte("\x00\x00\x05\x01\x04\x00\x00\x00\x01\x82\x86\x84\x41\x8a"), []byte{0x01, 0x05}, "k\x00"+strings.Repeat("v", 300), uint8(200))
	f.Fuzz(func(t *testing.T, data, ops []byte, kv string, cut uint8) {
		// 1. Robustness over arbitrary bytes.
		for _, client := range []bool{true, false} {
			r := &checker{t: t}
			p := NewParser(client, Limits{MaxHeaders: 16, MaxHeaderBytes: 512, MaxTableSize: 8192}, r)
			b := data
			for _, op := range ops {
				n := int(op>>1) + 1
				if op&1 == 1 {
					p.Gap(n, 1)
					continue
				}
				n = min(n, len(b))
				p.Feed(b[:n], 1)
				b = b[n:]
			}
			p.Feed(b, 2)
			if r.lost != p.Lost() {
				t.Fatalf("Lost reported %v, state %v", r.lost, p.Lost())
			}
		}

		// 2. Round trip of header fields.
		parts := strings.Split(kv, "\x00")
		var want []Field
		for i := 0; i+1 < len(parts) && len(want) < 16; i += 2 {
			want = append(want, Field{Name: parts[i], Value: parts[i+1]})
		}
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, fd := range want {
			enc.WriteField(fd)
		}
		block := hb.Bytes()
		k := int(cut) % (len(block) + 1)
		var wire bytes.Buffer
		fr := http2.NewFramer(&wire, nil)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: block[:k], EndHeaders: k == len(block), EndStream: true})
		if k < len(block) {
			fr.WriteContinuation(5, true, block[k:])
		}
		r := &recorder{}
		p := NewParser(false, Limits{MaxHeaders: 64, MaxHeaderBytes: 64 << 10}, r)
		b := wire.Bytes()
		for i := 0; i < len(b); i += int(cut%7) + 1 {
			p.Feed(b[i:min(i+int(cut%7)+1, len(b))], 1)
		}
		var sb strings.Builder
		sb.WriteString("H5 end=true trunc=false")
		for _, fd := range want {
			sb.WriteString(" " + fd.Name + "=" + fd.Value)
		}
		if len(r.ev) != 1 || r.ev[0] != sb.String() {
			t.Fatalf("round trip:\n%q\nwant\n%q", r.ev, sb.String())
		}
	})
}

// checker is a Handler that fails on impossible events.
type checker struct {
	t    *testing.T
	lost bool
}

func (c *checker) check(id uint32) {
	if c.lost {
		c.t.Fatal("event after Lost")
	}
	if id == 0 {
		c.t.Fatal("event on stream 0")
	}
}
func (c *checker) Headers(id uint32, fields []Field, end, truncated bool, start, ts int64) {
	c.check(id)
	if len(fields) > 16 {
		c.t.Fatalf("%d fields over the limit", len(fields))
	}
}
func (c *checker) Data(id uint32, data []byte, end bool, ts int64) { c.check(id) }
func (c *checker) DataGap(id uint32, n int, ts int64)              { c.check(id) }
func (c *checker) Reset(id uint32, ts int64)                       { c.check(id) }
func (c *checker) TableSize(v uint32)                              {}
func (c *checker) Lost(ts int64) {
	if c.lost {
		c.t.Fatal("Lost twice")
	}
	c.lost = true
}

// FuzzSync: arbitrary bytes, split and gapped as ops say, never panic and
// keep the state bounded; once recognised, a direction stays recognised;
// and after a gap, frames that start where the gap ends are recognised
// within four frames, whatever came before.
func FuzzSync(f *testing.F) {
	f.Add(grpcTraffic(2)[40:], []byte{0x10, 0x01, 0xff})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x01"), []byte{0x02})
	f.Add([]byte{0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}, []byte{})
	c := newConv(false)
	for id := uint32(1); id <= 5; id += 2 {
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: c.block(":method", "POST", ":path", "/a.B/C")})
		c.fr.WriteData(id, true, []byte("\x00\x00\x00\x00\x02\x08\x01"))
	}
	frames := c.buf.Bytes()
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		var s Sync
		done := false
		check := func(ok bool) {
			if done && !ok {
				t.Fatal("recognised, then not")
			}
			done = done || ok
			if s.nh > len(s.hdr) || s.nt > len(s.tail) || s.skip < 0 || s.skip > maxChainLength || s.run > SyncFrames+1 {
				t.Fatalf("state out of bounds: %+v", s)
			}
		}
		b := data
		for _, op := range ops {
			if op&1 == 1 {
				s.Gap()
				check(s.Feed(nil))
				continue
			}
			n := min(int(op>>1)+1, len(b))
			check(s.Feed(b[:n]))
			b = b[n:]
		}
		check(s.Feed(b))
		s.Gap()
		piece := 1
		if len(ops) > 0 {
			piece = int(ops[0]) + 1
		}
		for r := frames; len(r) > 0; {
			n := min(piece, len(r))
			check(s.Feed(r[:n]))
			r = r[n:]
		}
		if !done {
			t.Fatal("frames after a gap not recognised")
		}
	})
}
