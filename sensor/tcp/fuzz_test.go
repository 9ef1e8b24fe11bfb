package tcp

import (
	"reflect"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/decode"
)

// fuzzLen is the length of each direction's reference stream.
const fuzzLen = 3000

// fuzzRef is the known byte stream of direction d: position-dependent, so
// a byte delivered at the wrong offset is caught.
func fuzzRef(d Dir) []byte {
	b := make([]byte, fuzzLen)
	for i := range b {
		b[i] = byte(i*7+int(d)*101) ^ byte(i>>8)
	}
	return b
}

// FuzzAssembler interprets its input as a connection setup and a sequence
// of segment operations on two known streams (one per direction): data
// segments at any offset and length (so reordering, duplicates, overlaps
// and wraparound), snaplen cuts, ACKs (honest or not), FINs, RSTs and clock
// jumps, under random buffer caps. Invariants:
//   - no panic;
//   - every byte delivered equals the reference byte at its position, where
//     a position advances by each Data length and each Gap n (delivered
//     bytes and gaps reconstruct the stream exactly in positions);
//   - Gap n > 0, nothing after End, End exactly once;
//   - buffered bytes never exceed the per-connection or total cap, and the
//     internal accounting adds up after every operation;
//   - after FlushAll nothing is left.
func FuzzAssembler(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		runFuzz(t, in)
	})
}

type fuzzReader struct {
	b []byte
}

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// fuzzFactory checks positions on the first connection only: a later one
// (after a RST and a timeout, say) starts midstream at an unknown offset.
type fuzzFactory struct {
	recFactory
	a *Assembler
}

func (f *fuzzFactory) New(info *ConnInfo) Stream {
	s := &recStream{info: *info}
	if f.a.Stats().ConnsOpened == 1 {
		s.ref = [2][]byte{fuzzRef(ClientToServer), fuzzRef(ServerToClient)}
	}
	f.streams = append(f.streams, s)
	return s
}

func runFuzz(t testing.TB, in []byte) {
	r := &fuzzReader{b: in}
	mode := r.byte()
	cfg := Config{
		MaxBufferedPerConn: [...]int{1 << 20, 400, 1500, 6000}[mode&3],
		MaxBufferedTotal:   [...]int{64 << 20, 700, 4000, 1 << 20}[mode>>2&3],
	}
	midstream := mode&0x10 != 0
	ff := &fuzzFactory{}
	a := NewAssembler(cfg, ff)
	ff.a = a
	tc := newTConn(a)
	// ISNs near the 2^32 wrap, or anywhere.
	tc.isn[ClientToServer] = 0xFFFFFFFF - uint32(r.byte())*16
	tc.isn[ServerToClient] = uint32(r.byte())<<24 | uint32(r.byte())<<8
	if mode&0x20 != 0 {
		tc.isn[ServerToClient] = 0xFFFFFFFF - uint32(r.byte())
	}
	if !midstream {
		tc.handshake()
	}
	ref := [2][]byte{fuzzRef(ClientToServer), fuzzRef(ServerToClient)}
	var sent [2]bool
	var last [2]*decode.Packet
	dataSeg := func(d Dir, off, n, m int, ackOff int64) {
		if midstream && !sent[d] {
			off = 0 // the stream's position 0 is where it was joined
		}
		end := min(fuzzLen, off+n)
		if off >= end {
			return
		}
		m = min(m, end-off)
		p := tc.pkt(d, decode.FlagPSH, uint32(off), "", ackOff)
		p.Payload = ref[d][off : end-m]
		p.Missing = m
		tc.send(p)
		sent[d] = true
		last[d] = p
	}
	for ops := 0; len(r.b) > 0 && ops < 3000; ops++ {
		op, x, y := r.byte(), r.byte(), r.byte()
		d := Dir(op & 1)
		// An ACK from d for the peer's stream: honest zero, or anything
		// up to its end (the peer's capture may have lost bytes).
		ackOff := int64(0)
		if op&0x80 != 0 {
			ackOff = int64(int(x) * 13 % (fuzzLen + 1))
		}
		switch op >> 1 & 7 {
		case 0, 1, 2:
			m := 0
			if op&0x40 != 0 {
				m = int(y) % 9
			}
			dataSeg(d, int(x)*12%fuzzLen, 1+int(y)%300, m, ackOff)
		case 3:
			tc.send(tc.pkt(d, 0, 0, "", int64(int(x)*12%(fuzzLen+1))))
		case 4:
			off := fuzzLen
			if y&1 != 0 {
				off = int(x) * 12 % fuzzLen
			}
			tc.send(tc.pkt(d, decode.FlagFIN, uint32(off), "", ackOff))
		case 5:
			tc.ts += int64(y) * 50 * ms
			a.Advance(tc.ts)
		case 6:
			if p := last[d]; p != nil {
				q := *p
				tc.send(&q) // retransmission
			}
		case 7:
			if x == 0 && y == 0 {
				tc.rst(d, 0)
			} else {
				dataSeg(d, int(x)*12%fuzzLen, 1+int(y)*12, 0, ackOff) // a large segment
			}
		}
		checkInvariants(t, a)
	}
	a.FlushAll(tc.ts + int64(time.Hour))
	checkInvariants(t, a)
	if st := a.Stats(); st.Conns != 0 || st.BufferedBytes != 0 || a.holes.head != nil {
		t.Fatalf("left after FlushAll: %+v", st)
	}
	if st := a.Stats(); st.BufferedPeak > uint64(min(cfg.MaxBufferedPerConn, cfg.MaxBufferedTotal)) {
		t.Fatalf("peak %d over the caps", st.BufferedPeak)
	}
	for i, s := range ff.streams {
		for _, e := range s.errs {
			t.Fatalf("stream %d: %s", i, e)
		}
		if !s.ended {
			t.Fatalf("stream %d never ended", i)
		}
	}
}

// fuzzSeeds are hand-made inputs covering each operation; the committed
// corpus under testdata/fuzz/FuzzAssembler holds more.
func fuzzSeeds() [][]byte {
	return [][]byte{
		// Handshake, in-order data both ways, FINs.
		{0x00, 1, 2, 3, 0x00, 0, 99, 0x01, 0, 199, 0x00, 25, 99, 0x09, 0, 1, 0x08, 0, 1},
		// Reversed pairs with honest ACKs, then a clock jump.
		{0x00, 200, 0, 0, 0x02, 10, 50, 0x02, 0, 119, 0x04, 20, 80, 0x00, 15, 59, 0x0a, 0, 200},
		// Hole proven by a dishonest ACK, snaplen cut, retransmission.
		{0x01, 5, 5, 5, 0x00, 0, 10, 0x00, 3, 10, 0x87, 40, 0, 0x40, 10, 70, 0x0c, 0, 0},
		// Tiny caps flooded with out-of-order segments.
		{0x05, 9, 9, 9, 0x00, 50, 200, 0x00, 70, 200, 0x00, 90, 200, 0x00, 110, 200, 0x00, 130, 200, 0x00, 5, 200},
		// Midstream join, wrap near 2^32, RST.
		{0x30, 1, 0, 0, 7, 0x01, 0, 30, 0x00, 0, 30, 0x01, 9, 30, 0x0e, 0, 0},
		// Large segments and a FIN inside the data.
		{0x02, 3, 3, 3, 0x0e, 10, 100, 0x0e, 0, 5, 0x08, 30, 1, 0x0a, 0, 255, 0x0a, 0, 255},
	}
}

func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds() {
		runFuzz(t, s)
	}
}

// mapKey must carry every field of Key: if flow.Outer gains a field, this
// fails until mapKey (and makeKey, key) carry it too.
func TestMapKeyCoversOuter(t *testing.T) {
	want := []string{"VLAN uint16", "InnerVLAN uint16", "VNI uint32", "Session uint32", "Tunnel flow.Tunnel"}
	typ := reflect.TypeOf(flow.Outer{})
	var got []string
	for i := 0; i < typ.NumField(); i++ {
		got = append(got, typ.Field(i).Name+" "+typ.Field(i).Type.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("flow.Outer changed: %v; update mapKey, makeKey and mapKey.key", got)
	}
	if reflect.TypeOf(flow.Tunnel(0)).Size() > 4 {
		t.Fatal("flow.Tunnel no longer fits mapKey.tunnel")
	}
	p := &decode.Packet{
		Src: addr4(10, 9, 8, 7), Dst: addr4(10, 9, 8, 6), SrcPort: 1234, DstPort: 443,
		Outer: flow.Outer{VLAN: 4094, InnerVLAN: 7, VNI: 0xABCDEF, Session: 0xDEADBEEF, Tunnel: flow.TunnelGENEVE},
	}
	var k mapKey
	if makeKey(p, &k) {
		t.Fatal("10.9.8.7 is not the lower address")
	}
	want2 := Key{LoAddr: p.Dst, HiAddr: p.Src, LoPort: 443, HiPort: 1234, Outer: p.Outer}
	if k.key() != want2 {
		t.Fatalf("key %+v", k.key())
	}
	// Both directions give the same key.
	q := *p
	q.Src, q.Dst, q.SrcPort, q.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	var k2 mapKey
	if !makeKey(&q, &k2) || k2 != k || !k2.equal(&k) {
		t.Fatal("directions disagree")
	}
	// Same address, ports decide.
	q.Src = q.Dst
	var k3 mapKey
	if !makeKey(&q, &k3) || k3.key().LoPort != 443 {
		t.Fatalf("same-address key %+v", k3.key())
	}
}
