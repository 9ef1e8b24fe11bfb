package tcp

import (
	"encoding/binary"
	"runtime"
	"testing"
	"unsafe"

	"github.com/apitap/apitap/sensor/decode"
)

// keepAlive drives one established connection with the keep-alive pattern:
// a request segment (which acknowledges the previous response) and a 1 KB
// response segment (which acknowledges the request) per exchange.
type keepAlive struct {
	q, r       decode.Packet
	cisn, sisn uint32
	coff, soff uint32
}

func newKeepAlive(a *Assembler, cli, srv decode.Addr, cport uint16) *keepAlive {
	k := &keepAlive{cisn: 1000, sisn: 0xFFFF0000} // the server side wraps soon
	k.q = decode.Packet{Src: cli, Dst: srv, SrcPort: cport, DstPort: 80, Flags: decode.FlagACK | decode.FlagPSH, Payload: make([]byte, 180)}
	k.r = decode.Packet{Src: srv, Dst: cli, SrcPort: 80, DstPort: cport, Flags: decode.FlagACK | decode.FlagPSH, Payload: make([]byte, 1024)}
	syn := decode.Packet{Src: cli, Dst: srv, SrcPort: cport, DstPort: 80, Flags: decode.FlagSYN, Seq: k.cisn}
	a.Packet(&syn)
	synAck := decode.Packet{Src: srv, Dst: cli, SrcPort: 80, DstPort: cport, Flags: decode.FlagSYN | decode.FlagACK, Seq: k.sisn, Ack: k.cisn + 1}
	a.Packet(&synAck)
	return k
}

// next feeds the next packet of the pattern (request on even i, response
// on odd i).
func (k *keepAlive) next(a *Assembler, i int, ts int64) {
	if i&1 == 0 {
		k.q.Seq, k.q.Ack, k.q.TS = k.cisn+1+k.coff, k.sisn+1+k.soff, ts
		a.Packet(&k.q)
		k.coff += uint32(len(k.q.Payload))
	} else {
		k.r.Seq, k.r.Ack, k.r.TS = k.sisn+1+k.soff, k.cisn+1+k.coff, ts
		a.Packet(&k.r)
		k.soff += uint32(len(k.r.Payload))
	}
}

// BenchmarkInOrder: one op is one packet of an established keep-alive
// connection (2 packets per exchange, 1 KB responses).
func BenchmarkInOrder(b *testing.B) {
	a := NewAssembler(Config{}, countFactory{})
	k := newKeepAlive(a, addr4(10, 0, 0, 1), addr4(10, 0, 0, 2), 40000)
	b.ReportAllocs()
	b.SetBytes(602) // average payload per packet
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.next(a, i, int64(i)*1000)
	}
	b.StopTimer()
	if st := a.Stats(); st.Gaps != 0 || st.OutOfOrderSegments != 0 {
		b.Fatalf("%+v", st)
	}
}

// BenchmarkInOrderInterleaved is BenchmarkInOrder over 64 connections
// whose packets interleave, so every packet pays the map lookup (the
// previous-packet cache never hits) while everything stays in CPU caches.
func BenchmarkInOrderInterleaved(b *testing.B) {
	a := NewAssembler(Config{}, countFactory{})
	conns := make([]*keepAlive, 64)
	for i := range conns {
		conns[i] = newKeepAlive(a, addr4(10, 0, 0, byte(i)), addr4(10, 0, 1, 2), uint16(40000+i))
	}
	for i := 0; i < 2*len(conns); i++ {
		conns[i>>1].next(a, i, int64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Request of every connection, then the response of every one.
		conns[i%64].next(a, i/64, int64(i+1000)*1000)
	}
}

// BenchmarkInOrderAdvance is BenchmarkInOrder with Advance after every
// packet, as the sensor's worker loop calls it.
func BenchmarkInOrderAdvance(b *testing.B) {
	a := NewAssembler(Config{}, countFactory{})
	k := newKeepAlive(a, addr4(10, 0, 0, 1), addr4(10, 0, 0, 2), 40000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts := int64(i) * 1000
		k.next(a, i, ts)
		a.Advance(ts)
	}
}

// BenchmarkOutOfOrder: a bulk transfer in 1448-byte segments where every
// pair arrives swapped, so half of the segments go through the reorder
// buffer. One op is one packet.
func BenchmarkOutOfOrder(b *testing.B) {
	a := NewAssembler(Config{}, countFactory{})
	cli, srv := addr4(10, 0, 0, 1), addr4(10, 0, 0, 2)
	k := newKeepAlive(a, cli, srv, 40000)
	const mss = 1448
	p := decode.Packet{Src: srv, Dst: cli, SrcPort: 80, DstPort: 40000, Flags: decode.FlagACK, Payload: make([]byte, mss), Ack: k.cisn + 1}
	base := k.sisn + 1
	b.ReportAllocs()
	b.SetBytes(mss)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Pair j = i/2: segments 2j and 2j+1, sent as 2j+1 then 2j.
		idx := uint32(i ^ 1)
		p.Seq, p.TS = base+idx*mss, int64(i)*1000
		a.Packet(&p)
	}
	b.StopTimer()
	if st := a.Stats(); st.Gaps != 0 {
		b.Fatalf("%+v", st)
	}
}

// BenchmarkManyConnections: 100k established keep-alive connections, the
// packets visiting them round-robin (every lookup misses the CPU caches).
// One op is one packet.
func BenchmarkManyConnections(b *testing.B) {
	const n = 100000
	a := NewAssembler(Config{MaxConns: 2 * n}, countFactory{})
	conns := make([]*keepAlive, n)
	for i := range conns {
		var cli decode.Addr
		cli[10], cli[11] = 0xff, 0xff
		binary.BigEndian.PutUint32(cli[12:], 0x0a000000+uint32(i))
		conns[i] = newKeepAlive(a, cli, addr4(10, 255, 0, 1), uint16(1024+i%60000))
		conns[i].q.Payload = conns[i].q.Payload[:100]
		conns[i].r.Payload = conns[i].r.Payload[:200]
	}
	// One exchange on each connection first: Streams are created lazily,
	// on the first payload, and that is setup, not the measured path.
	for i := 0; i < 2*n; i++ {
		conns[i>>1].next(a, i, int64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := conns[(i>>1)%n]
		c.next(a, i, int64(2*n+i)*10)
	}
	b.StopTimer()
	if st := a.Stats(); st.Conns != n || st.Gaps != 0 {
		b.Fatalf("%+v", st)
	}
}

// TestHalfOpenMemory measures what one lone SYN costs: the conn struct and
// its table slot.
func TestHalfOpenMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const n = 100000
	t.Logf("sizeof(conn)=%d sizeof(half)=%d sizeof(seg)=%d sizeof(reorder)=%d",
		unsafe.Sizeof(conn{}), unsafe.Sizeof(half{}), unsafe.Sizeof(seg{}), unsafe.Sizeof(reorder{}))
	pkts := make([]decode.Packet, n)
	for i := range pkts {
		p := &pkts[i]
		p.Src[10], p.Src[11] = 0xff, 0xff
		binary.BigEndian.PutUint32(p.Src[12:], 0x0b000000+uint32(i))
		p.Dst = addr4(10, 0, 0, 80)
		p.SrcPort, p.DstPort = uint16(1024+i%50000), 80
		p.Flags, p.Seq, p.TS = decode.FlagSYN, uint32(i)*7919, int64(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := NewAssembler(Config{MaxConns: 2 * n}, countFactory{})
	for i := range pkts {
		a.Packet(&pkts[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := a.Stats(); st.Conns != n {
		t.Fatalf("%+v", st)
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("half-open connection: %.0f bytes each (%d connections, %.1f MiB)", per, n, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	if per > 400 {
		t.Fatalf("half-open connections cost %.0f bytes each", per)
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(pkts)
}
