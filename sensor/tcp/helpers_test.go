package tcp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/decode"
)

// recStream records everything a connection's Stream receives.
type recStream struct {
	info   ConnInfo
	events []string // "c>hello", "s>[gap:5]", "end:fin"
	out    [2]bytes.Buffer
	ended  bool
	reason EndReason
	endTS  int64
	// misuse seen: callbacks after End, non-positive gaps.
	errs []string
	// ref, when set, is the expected byte stream per direction starting
	// at the stream's first byte: every Data must match it at its
	// position (gaps skip positions).
	ref [2][]byte
	pos [2]int
}

func dirTag(d Dir) string {
	if d == ClientToServer {
		return "c>"
	}
	return "s>"
}

func (s *recStream) Data(d Dir, b []byte, ts int64) {
	if s.ended {
		s.errs = append(s.errs, "Data after End")
	}
	if len(b) == 0 {
		s.errs = append(s.errs, "empty Data")
	}
	if d > ServerToClient {
		s.errs = append(s.errs, "bad dir")
		return
	}
	if ref := s.ref[d]; ref != nil {
		p := s.pos[d]
		if p+len(b) > len(ref) || !bytes.Equal(ref[p:p+len(b)], b) {
			s.errs = append(s.errs, fmt.Sprintf("%sData at %d (%d bytes) does not match the reference", dirTag(d), p, len(b)))
		}
	}
	s.pos[d] += len(b)
	s.out[d].Write(b)
	s.events = append(s.events, dirTag(d)+string(b))
}

func (s *recStream) Gap(d Dir, n int, ts int64) {
	if s.ended {
		s.errs = append(s.errs, "Gap after End")
	}
	if n <= 0 {
		s.errs = append(s.errs, fmt.Sprintf("Gap(%d)", n))
	}
	if d > ServerToClient {
		s.errs = append(s.errs, "bad dir")
		return
	}
	if ref := s.ref[d]; ref != nil && s.pos[d]+n > len(ref) {
		s.errs = append(s.errs, fmt.Sprintf("%sGap(%d) at %d runs past the reference (%d)", dirTag(d), n, s.pos[d], len(ref)))
	}
	s.pos[d] += n
	fmt.Fprintf(&s.out[d], "[gap:%d]", n)
	s.events = append(s.events, fmt.Sprintf("%s[gap:%d]", dirTag(d), n))
}

func (s *recStream) End(reason EndReason, ts int64) {
	if s.ended {
		s.errs = append(s.errs, "End twice")
	}
	s.ended, s.reason, s.endTS = true, reason, ts
	s.events = append(s.events, "end:"+reason.String())
}

func (s *recStream) c2s() string { return s.out[ClientToServer].String() }
func (s *recStream) s2c() string { return s.out[ServerToClient].String() }

// recFactory makes recStreams and keeps them in creation order.
type recFactory struct {
	streams []*recStream
	// ref is copied into every new stream.
	ref [2][]byte
}

func (f *recFactory) New(info *ConnInfo) Stream {
	s := &recStream{info: *info, ref: f.ref}
	f.streams = append(f.streams, s)
	return s
}

func (f *recFactory) only(t *testing.T) *recStream {
	t.Helper()
	if len(f.streams) != 1 {
		t.Fatalf("want 1 stream, got %d", len(f.streams))
	}
	return f.streams[0]
}

func (f *recFactory) check(t *testing.T) {
	t.Helper()
	for i, s := range f.streams {
		for _, e := range s.errs {
			t.Errorf("stream %d: %s", i, e)
		}
	}
}

func addr4(a, b, c, d byte) decode.Addr {
	return decode.Addr{10: 0xff, 11: 0xff, 12: a, 13: b, 14: c, 15: d}
}

const ms = int64(time.Millisecond)

// tconn builds the packets of one test connection. Offsets are relative to
// the first data byte of each direction (ISN+1).
type tconn struct {
	a        *Assembler
	cli, srv decode.Addr
	cport    uint16
	sport    uint16
	isn      [2]uint32 // per Dir
	ts       int64
}

func newTConn(a *Assembler) *tconn {
	return &tconn{
		a: a, cli: addr4(10, 0, 0, 1), srv: addr4(10, 0, 0, 2),
		cport: 40000, sport: 80,
		isn: [2]uint32{1000, 5000000}, ts: 1_000_000_000,
	}
}

// pkt builds a segment from direction d with sequence offset off, payload,
// and the ACK flag acknowledging the peer's offset ackOff (ackOff < 0: no
// ACK flag).
func (tc *tconn) pkt(d Dir, flags uint8, off uint32, payload string, ackOff int64) *decode.Packet {
	p := &decode.Packet{TS: tc.ts, Flags: flags, Payload: []byte(payload), Window: 65535}
	if d == ClientToServer {
		p.Src, p.Dst, p.SrcPort, p.DstPort = tc.cli, tc.srv, tc.cport, tc.sport
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort = tc.srv, tc.cli, tc.sport, tc.cport
	}
	p.Seq = tc.isn[d] + 1 + off
	if ackOff >= 0 {
		p.Flags |= decode.FlagACK
		p.Ack = tc.isn[d^1] + 1 + uint32(ackOff)
	}
	return p
}

func (tc *tconn) send(p *decode.Packet) {
	tc.ts += ms
	p.TS = tc.ts
	tc.a.Packet(p)
}

func (tc *tconn) handshake() {
	tc.syn()
	tc.synAck()
	tc.send(tc.pkt(ClientToServer, 0, 0, "", 0))
}

func (tc *tconn) syn() {
	p := tc.pkt(ClientToServer, decode.FlagSYN, 0, "", -1)
	p.Seq = tc.isn[ClientToServer]
	tc.send(p)
}

func (tc *tconn) synAck() {
	p := tc.pkt(ServerToClient, decode.FlagSYN, 0, "", 0)
	p.Seq = tc.isn[ServerToClient]
	tc.send(p)
}

// data sends payload at offset off from d, acknowledging nothing new.
func (tc *tconn) data(d Dir, off uint32, payload string) {
	tc.send(tc.pkt(d, decode.FlagPSH, off, payload, 0))
}

// ack sends a pure ACK from d acknowledging the peer's offset ackOff.
func (tc *tconn) ack(d Dir, ackOff int64) {
	tc.send(tc.pkt(d, 0, 0, "", ackOff))
}

func (tc *tconn) fin(d Dir, off uint32) {
	tc.send(tc.pkt(d, decode.FlagFIN, off, "", 0))
}

func (tc *tconn) rst(d Dir, off uint32) {
	tc.send(tc.pkt(d, decode.FlagRST, off, "", -1))
}

// missing sends payload at off followed by m bytes the capture cut off.
func (tc *tconn) missing(d Dir, off uint32, payload string, m int) {
	p := tc.pkt(d, decode.FlagPSH, off, payload, 0)
	p.Missing = m
	tc.send(p)
}

// checkInvariants verifies the assembler's internal bookkeeping: buffered
// bytes add up and stay under the caps, lists and map agree, every buffered
// segment lies strictly ahead of its stream, sorted and non-overlapping.
func checkInvariants(t testing.TB, a *Assembler) {
	t.Helper()
	if a.buffered > a.cfg.MaxBufferedTotal {
		t.Fatalf("buffered %d > total cap %d", a.buffered, a.cfg.MaxBufferedTotal)
	}
	if a.poolBytes > a.poolLimit {
		t.Fatalf("pool %d > limit %d", a.poolBytes, a.poolLimit)
	}
	inLists := 0
	sum := 0
	for l := range numLists {
		var prev *conn
		for c := a.lists[l].head; c != nil; c = c.next {
			inLists++
			if c.list != l || c.prev != prev {
				t.Fatalf("list %d corrupt", l)
			}
			if a.conns[c.key] != c {
				t.Fatalf("conn in list %d not in map", l)
			}
			if prev != nil && prev.lastSeen > c.lastSeen {
				t.Fatalf("list %d not ordered by lastSeen", l)
			}
			cb := 0
			for d := range c.half {
				r := c.half[d].ro
				if r == nil {
					continue
				}
				if r.head == nil || r.c != c || r.d != Dir(d) {
					t.Fatalf("empty or foreign reorder")
				}
				if c.flags&cClosed != 0 {
					t.Fatalf("closed conn buffers")
				}
				bytes := 0
				last := c.half[d].nxt
				for s := r.head; s != nil; s = s.next {
					if !seqGT(s.seq, c.half[d].nxt) && s == r.head {
						t.Fatalf("head segment %d not ahead of nxt %d", s.seq, c.half[d].nxt)
					}
					if seqLT(s.seq, last) {
						t.Fatalf("segments overlap or unsorted")
					}
					if s.n == 0 {
						t.Fatalf("empty segment")
					}
					last = s.seq + s.n
					bytes += segOverhead
					if s.class >= 0 {
						bytes += classSize(int(s.class))
						if len(s.buf) != int(s.n) {
							t.Fatalf("segment buf len %d != n %d", len(s.buf), s.n)
						}
					}
					if s.next == nil && r.tail != s {
						t.Fatalf("tail wrong")
					}
				}
				if bytes != r.bytes {
					t.Fatalf("reorder bytes %d, counted %d", r.bytes, bytes)
				}
				cb += bytes
			}
			if cb > a.cfg.MaxBufferedPerConn {
				t.Fatalf("conn buffers %d > cap %d", cb, a.cfg.MaxBufferedPerConn)
			}
			sum += cb
			prev = c
		}
	}
	if inLists != len(a.conns) {
		t.Fatalf("lists hold %d conns, map %d", inLists, len(a.conns))
	}
	if sum != a.buffered {
		t.Fatalf("buffered %d, counted %d", a.buffered, sum)
	}
	holes := 0
	var prevSince int64
	for r := a.holes.head; r != nil; r = r.next {
		holes++
		if r.c.half[r.d].ro != r {
			t.Fatalf("hole list entry not owned")
		}
		if r.since < prevSince {
			t.Fatalf("hole list not ordered")
		}
		prevSince = r.since
	}
	_ = holes
}

// show renders a direction's output compactly for failure messages.
func show(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return strings.ReplaceAll(s, "\r\n", "\\r\\n")
}
