package tcp

import (
	"encoding/binary"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/decode"
)

// Serial-number arithmetic (RFC 1982): a is before b when the distance from
// b to a, taken as a signed 32-bit number, is negative. Correct across the
// 2^32 wrap as long as the compared numbers are within 2^31 of each other,
// which the assembler guarantees by refusing data more than maxAhead bytes
// ahead of the stream.
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

const (
	// maxSegment: a payload longer than this (16 MiB, far above any GRO or
	// BIG TCP aggregate) is not a TCP segment; it is counted and dropped.
	maxSegment = 1 << 24
	// maxAhead: data starting further than this past the next expected
	// byte is not part of this stream (a forged or confused segment); with
	// the buffer caps at most 2^30 it keeps every sequence number the
	// assembler compares within 2^31 of each other.
	maxAhead = 1 << 30

	// Free-list bounds: enough to absorb churn, never a burst's worth.
	maxFreeConns    = 4096
	maxFreeReorders = 1024
	maxFreeInfos    = 1024
	// maxPoolBytes bounds the chunk pool of the reorder buffer.
	maxPoolBytes = 8 << 20
)

// Connection lists. Each has a single timeout, so it stays ordered by last
// activity (every packet moves its connection to the tail) and expiring is
// a look at the head: Advance costs O(1) plus O(expired).
const (
	lstHalfOpen   uint8 = iota // no payload yet, handshake incomplete: HalfOpenTimeout
	lstActive                  // established (payload or completed handshake): IdleTimeout
	lstHalfClosed              // one side sent FIN: HalfClosedTimeout
	lstLinger                  // closed by FIN/RST, absorbing strays: ClosedLinger
	numLists
)

// Per-direction flags (conn.hf).
const (
	hKnown   uint8 = 1 << iota // half.nxt is valid
	hSyn                       // half.isn is valid
	hFin                       // half.finSeq is valid
	hFinDone                   // every byte before the FIN was delivered or given up
	hAck                       // half.ack is valid
)

// Connection flags (conn.flags).
const (
	cClientIsLo uint8 = 1 << iota // the client is the Lo endpoint of the key
	cMidstream                    // no SYN was seen
	cIPv6
	cData     // payload (or a snaplen gap) was seen
	cDeclined // the Factory returned a nil Stream
	cClosed   // ended: flushed and End called; lingering or being released
)

// half is one direction of a connection.
type half struct {
	nxt    uint32 // next sequence number to deliver
	isn    uint32 // sequence number of this side's SYN
	finSeq uint32 // sequence number of this side's FIN
	ack    uint32 // highest ACK this side sent: the peer's next byte it expects
	ro     *reorder
}

// conn is one connection. It is kept small (160 bytes) because a SYN flood
// fills the table with them; everything needed only once bytes flow (the
// Stream, its ConnInfo, the reorder buffers) hangs off pointers.
type conn struct {
	key        mapKey
	list       uint8
	flags      uint8
	hf         [2]uint8 // per-direction flags, indexed by Dir
	stream     Stream
	info       *ConnInfo
	prev, next *conn // intrusive list (a.lists[list]), or the free list
	lastSeen   int64
	start      int64
	half       [2]half // indexed by Dir
}

type connList struct {
	head, tail *conn
}

func (l *connList) pushBack(c *conn) {
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// gapCause says why a gap was declared (for Stats).
type gapCause uint8

const (
	gapAck gapCause = iota
	gapTimeout
	gapPerConnCap
	gapTotalCap
	gapSnaplen
	gapClose
)

// Assembler reassembles the TCP connections of one worker. It is not safe
// for concurrent use; see the package comment.
type Assembler struct {
	cfg     Config
	factory Factory
	conns   map[mapKey]*conn
	// last is the connection of the previous packet: segments of one flow
	// often come in bursts, and a hit skips the map lookup.
	last     *conn
	lists    [numLists]connList
	timeouts [numLists]int64
	// holes lists every direction with buffered data, oldest first hole
	// first: GapTimeout expires from its head, and MaxBufferedTotal gives
	// up the hole at its head.
	holes        reorderList
	now          int64 // capture clock: the highest time seen
	buffered     int
	peakBuffered int
	stats        Stats

	freeConns     *conn
	nFreeConns    int
	freeReorders  *reorder
	nFreeReorders int
	freeInfos     []*ConnInfo
	freeSegs      [numClasses]*seg
	freeMarkers   *seg
	poolBytes     int
	poolLimit     int
}

// NewAssembler returns an Assembler that hands each connection with
// payload to a Stream from f. Zero fields of cfg take their defaults.
// It panics if cfg.Validate fails: validate configuration from users first.
func NewAssembler(cfg Config, f Factory) *Assembler {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	a := &Assembler{cfg: cfg, factory: f, conns: make(map[mapKey]*conn)}
	a.timeouts = [numLists]int64{
		lstHalfOpen:   int64(cfg.HalfOpenTimeout),
		lstActive:     int64(cfg.IdleTimeout),
		lstHalfClosed: int64(cfg.HalfClosedTimeout),
		lstLinger:     int64(cfg.ClosedLinger),
	}
	a.poolLimit = min(cfg.MaxBufferedTotal/4, maxPoolBytes)
	return a
}

// Stats returns a snapshot of the counters.
func (a *Assembler) Stats() Stats {
	s := a.stats
	s.Conns = uint64(len(a.conns))
	s.BufferedBytes = uint64(a.buffered)
	s.BufferedPeak = uint64(a.peakBuffered)
	return s
}

// mapKey is Key laid out without padding. flow.Outer ends in padding, and
// a key type with padding is hashed field by field by the runtime, which on
// the hot path costs about half again the map lookup; a padding-free key is
// hashed as one block of memory. TestMapKeyCoversOuter pins flow.Outer's
// fields so that one added later cannot be silently left out of the key.
type mapKey struct {
	lo, hi  decode.Addr
	ports   uint32 // LoPort<<16 | HiPort
	vlans   uint32 // VLAN<<16 | InnerVLAN
	vni     uint32
	session uint32
	tunnel  uint32
}

// key returns the public form of k.
func (k *mapKey) key() Key {
	return Key{
		LoAddr: k.lo, HiAddr: k.hi,
		LoPort: uint16(k.ports >> 16), HiPort: uint16(k.ports),
		Outer: flow.Outer{
			VLAN: uint16(k.vlans >> 16), InnerVLAN: uint16(k.vlans),
			VNI: k.vni, Session: k.session, Tunnel: flow.Tunnel(k.tunnel),
		},
	}
}

// equal is k == o, cheapest discriminating fields first (the compiler's
// struct comparison calls out to memequal for a key this size).
func (k *mapKey) equal(o *mapKey) bool {
	return k.ports == o.ports && k.lo == o.lo && k.hi == o.hi && k.vlans == o.vlans &&
		k.vni == o.vni && k.session == o.session && k.tunnel == o.tunnel
}

// makeKey fills k with p's connection key and reports whether p's source
// is the key's Lo endpoint. Endpoints are ordered by address, then port.
func makeKey(p *decode.Packet, k *mapKey) bool {
	var srcIsLo bool
	s0, d0 := binary.BigEndian.Uint64(p.Src[:8]), binary.BigEndian.Uint64(p.Dst[:8])
	if s0 != d0 {
		srcIsLo = s0 < d0
	} else if s1, d1 := binary.BigEndian.Uint64(p.Src[8:]), binary.BigEndian.Uint64(p.Dst[8:]); s1 != d1 {
		srcIsLo = s1 < d1
	} else {
		srcIsLo = p.SrcPort <= p.DstPort
	}
	if srcIsLo {
		k.lo, k.hi, k.ports = p.Src, p.Dst, uint32(p.SrcPort)<<16|uint32(p.DstPort)
	} else {
		k.lo, k.hi, k.ports = p.Dst, p.Src, uint32(p.DstPort)<<16|uint32(p.SrcPort)
	}
	o := &p.Outer
	k.vlans = uint32(o.VLAN)<<16 | uint32(o.InnerVLAN)
	k.vni, k.session, k.tunnel = o.VNI, o.Session, uint32(o.Tunnel)
	return srcIsLo
}

// isServerPort reports whether a port is one a server usually listens on:
// a system port, or one of the common HTTP alternatives.
func isServerPort(p uint16) bool {
	if p < 1024 {
		return true
	}
	switch p {
	case 1080, 2375, 3000, 3128, 4000, 4200, 4443, 5000, 5001, 5173, 5601,
		7001, 8000, 8001, 8008, 8080, 8081, 8082, 8088, 8443, 8888,
		9000, 9090, 9200, 9443:
		return true
	}
	return false
}

// guessSrcIsServer decides roles for a connection joined without a SYN:
// if exactly one port is a usual server port, that side is the server;
// otherwise the lower port is. With equal ports the destination of the
// first packet seen is taken as the server.
func guessSrcIsServer(srcPort, dstPort uint16) bool {
	if s, d := isServerPort(srcPort), isServerPort(dstPort); s != d {
		return s
	}
	return srcPort < dstPort
}

func (c *conn) dirOf(srcIsLo bool) Dir {
	if srcIsLo == (c.flags&cClientIsLo != 0) {
		return ClientToServer
	}
	return ServerToClient
}

// Packet feeds one decoded segment. p.Payload is only read during the call
// (in-order bytes are handed to the Stream straight from it; out-of-order
// bytes are copied).
func (a *Assembler) Packet(p *decode.Packet) {
	if p == nil {
		return
	}
	a.stats.Packets++
	a.stats.PayloadBytes += uint64(len(p.Payload))
	if p.TS > a.now {
		a.now = p.TS
	}
	if len(p.Payload) > maxSegment || p.Missing > maxSegment {
		a.stats.PacketsInvalid++
		return
	}
	var k mapKey
	srcIsLo := makeKey(p, &k)
	c := a.last
	if c == nil || !c.key.equal(&k) {
		c = a.conns[k]
	}
	if c == nil {
		if c = a.open(p, &k, srcIsLo); c == nil {
			return
		}
	} else if c.flags&cClosed != 0 || p.Flags&(decode.FlagSYN|decode.FlagACK|decode.FlagRST) == decode.FlagSYN {
		if c = a.revisit(c, p, &k, srcIsLo); c == nil {
			return
		}
	}
	a.last = c
	a.touch(c)
	a.segment(c, c.dirOf(srcIsLo), p)
	if c.hf[0]&c.hf[1]&hFinDone != 0 {
		a.maybeClose(c, p.TS)
	}
}

// maybeClose ends c with EndFIN once both directions are done.
func (a *Assembler) maybeClose(c *conn, ts int64) {
	if c.hf[0]&c.hf[1]&hFinDone != 0 && c.flags&cClosed == 0 {
		a.finish(c, EndFIN, ts)
		a.linger(c)
	}
}

// open creates the connection for a segment of an unknown key, or returns
// nil when the segment cannot start one: a pure ACK, FIN or RST says
// nothing worth keeping state for.
func (a *Assembler) open(p *decode.Packet, k *mapKey, srcIsLo bool) *conn {
	fl := p.Flags
	syn := fl&decode.FlagSYN != 0
	if fl&decode.FlagRST != 0 || !syn && len(p.Payload) == 0 && p.Missing <= 0 {
		a.stats.PacketsNoConn++
		return nil
	}
	for len(a.conns) >= a.cfg.MaxConns && a.evict(p.TS) {
	}
	c := a.freeConns
	if c != nil {
		a.freeConns = c.next
		a.nFreeConns--
		c.next = nil
	} else {
		c = new(conn)
	}
	c.key = *k
	var srcIsClient bool
	switch {
	case syn && fl&decode.FlagACK == 0:
		srcIsClient = true // the SYN sender is the client
	case syn:
		srcIsClient = false // the SYN-ACK sender is the server
	default:
		srcIsClient = !guessSrcIsServer(p.SrcPort, p.DstPort)
		c.flags |= cMidstream
		a.stats.ConnsMidstream++
	}
	if srcIsClient == srcIsLo {
		c.flags |= cClientIsLo
	}
	if p.IPv6 {
		c.flags |= cIPv6
	}
	c.start = p.TS
	c.list = lstHalfOpen
	c.lastSeen = a.now
	a.lists[lstHalfOpen].pushBack(c)
	a.conns[*k] = c
	a.stats.ConnsOpened++
	return c
}

// revisit handles a segment for a closed (lingering) connection, or a pure
// SYN for a live one. It returns the connection to process the segment on,
// or nil when the segment is absorbed.
func (a *Assembler) revisit(c *conn, p *decode.Packet, k *mapKey, srcIsLo bool) *conn {
	d := c.dirOf(srcIsLo)
	syn := p.Flags&(decode.FlagSYN|decode.FlagRST) == decode.FlagSYN
	sameISN := c.hf[d]&hSyn != 0 && c.half[d].isn == p.Seq
	if c.flags&cClosed != 0 {
		if syn && !sameISN {
			// Port reuse: a new connection on a key that just closed.
			a.release(c)
			return a.open(p, k, srcIsLo)
		}
		// A retransmission, late ACK or repeated RST/FIN of the closed
		// connection.
		a.stats.PacketsAbsorbed++
		a.stats.RetransBytes += uint64(len(p.Payload))
		return nil
	}
	if sameISN || c.hf[d]&hSyn == 0 && c.flags&cData == 0 {
		// A retransmitted SYN, or this side's first SYN on a connection
		// that so far only saw the other side's (simultaneous open, or
		// the SYN captured after the SYN-ACK).
		return c
	}
	// A new ISN on a live key: the old connection's close was not
	// captured. End it and start over.
	reason := EndReused
	if (c.hf[0]|c.hf[1])&hFin != 0 {
		reason = EndFIN
	}
	a.finish(c, reason, p.TS)
	a.release(c)
	return a.open(p, k, srcIsLo)
}

// touch records activity: c moves to the tail of its list.
func (a *Assembler) touch(c *conn) {
	c.lastSeen = a.now
	if l := &a.lists[c.list]; l.tail != c {
		l.remove(c)
		l.pushBack(c)
	}
}

func (a *Assembler) setList(c *conn, lst uint8) {
	a.lists[c.list].remove(c)
	c.list = lst
	c.lastSeen = a.now
	a.lists[lst].pushBack(c)
}

// segment applies one segment to a live connection.
func (a *Assembler) segment(c *conn, d Dir, p *decode.Packet) {
	fl := p.Flags
	if fl&decode.FlagRST != 0 {
		// The payload of a RST is diagnostic text, not stream data.
		a.stats.RSTPayloadBytes += uint64(len(p.Payload))
		a.finish(c, EndRST, p.TS)
		a.linger(c)
		return
	}
	od := d ^ 1
	h, o := &c.half[d], &c.half[od]
	seq := p.Seq
	if fl&decode.FlagSYN != 0 {
		if c.hf[d]&hSyn == 0 {
			c.hf[d] |= hSyn
			h.isn = seq
			if c.hf[d]&hKnown == 0 {
				h.nxt = seq + 1 // the SYN takes one sequence number
				c.hf[d] |= hKnown
			}
		} else if h.isn != seq {
			// A SYN-ACK contradicting the ISN already seen (a pure SYN
			// would have gone through revisit): not this connection's.
			a.stats.PacketsInvalid++
			return
		}
		if fl&decode.FlagACK != 0 && c.hf[od]&hKnown == 0 {
			// SYN-ACK without the SYN: its ACK is the client's ISN+1.
			o.nxt = p.Ack
			c.hf[od] |= hKnown
		}
		seq++
	}
	if fl&decode.FlagACK != 0 {
		if c.hf[d]&hAck == 0 || seqGT(p.Ack, h.ack) {
			h.ack = p.Ack
			c.hf[d] |= hAck
		}
		// The peer acknowledged bytes we are still waiting for while later
		// bytes (or the FIN) are already here: the capture lost them.
		if (o.ro != nil || c.hf[od]&(hFin|hFinDone) == hFin) && seqGT(h.ack, o.nxt) {
			a.ackProves(c, od, h.ack, p.TS)
		}
	}
	m := uint32(max(p.Missing, 0))
	if len(p.Payload) > 0 || m > 0 {
		if c.flags&cData == 0 {
			c.flags |= cData
			if c.list == lstHalfOpen {
				a.setList(c, lstActive)
			}
		}
		a.data(c, d, seq, p.Payload, m, p.TS)
	} else if c.list == lstHalfOpen && fl&decode.FlagSYN == 0 && c.hf[0]&c.hf[1]&hSyn != 0 {
		a.setList(c, lstActive) // the handshake's final ACK
	}
	if fl&decode.FlagFIN != 0 {
		a.fin(c, d, seq+uint32(len(p.Payload))+m, p.TS)
	}
}

// data handles the bytes [seq, seq+len(pl)) followed by m bytes the capture
// cut off.
func (a *Assembler) data(c *conn, d Dir, seq uint32, pl []byte, m uint32, ts int64) {
	h := &c.half[d]
	if c.hf[d]&hKnown == 0 {
		a.startMidstream(c, d, seq)
	}
	if seq == h.nxt && h.ro == nil && m == 0 && c.hf[d]&hFin == 0 {
		// The common case: exactly the next bytes with nothing buffered.
		// Delivered straight from the packet: no copy, no allocation.
		h.nxt += uint32(len(pl))
		a.emit(c, d, pl, ts)
		return
	}
	a.dataSlow(c, d, seq, pl, m, ts)
}

// startMidstream picks the first sequence number of a direction whose SYN
// was not seen: the segment's own, or the peer's latest ACK when that is
// a little before it (the bytes in between were sent and may still arrive
// reordered; if not, they are reported as a gap).
func (a *Assembler) startMidstream(c *conn, d Dir, seq uint32) {
	h, o := &c.half[d], &c.half[d^1]
	h.nxt = seq
	if c.hf[d^1]&hAck != 0 && seqLT(o.ack, seq) && seq-o.ack <= uint32(a.cfg.MaxBufferedPerConn) {
		h.nxt = o.ack
	}
	c.hf[d] |= hKnown
}

func (a *Assembler) dataSlow(c *conn, d Dir, seq uint32, pl []byte, m uint32, ts int64) {
	h := &c.half[d]
	end := seq + uint32(len(pl)) + m
	for {
		if c.hf[d]&hFin != 0 && seqGT(end, h.finSeq) {
			// Bytes past the FIN cannot be stream data.
			if seqGE(seq, h.finSeq) {
				a.stats.AfterFINBytes += uint64(end - seq)
				return
			}
			a.stats.AfterFINBytes += uint64(end - h.finSeq)
			end = h.finSeq
			if n := uint32(len(pl)); seqGT(seq+n, end) {
				pl = pl[:end-seq]
				m = 0
			} else {
				m = end - (seq + n)
			}
		}
		if seqLE(end, h.nxt) {
			// Nothing new: a retransmission (first copy wins) or a
			// keep-alive probe.
			a.stats.RetransSegments++
			a.stats.RetransBytes += uint64(end - seq)
			return
		}
		if seqLE(seq, h.nxt) {
			a.deliverFrom(c, d, seq, pl, end, ts)
			return
		}
		if seq-h.nxt > maxAhead {
			a.stats.PacketsInvalid++
			return
		}
		if a.buffer(c, d, seq, pl, end, ts) {
			return
		}
		// A cap made room by giving up a hole; the stream may have moved
		// up to or past seq: look again.
	}
}

// deliverFrom delivers the new part of a segment that starts at or before
// the next expected byte (seq <= nxt < end), interleaving buffered segments
// it runs into: bytes already buffered win over the segment's copy.
func (a *Assembler) deliverFrom(c *conn, d Dir, seq uint32, pl []byte, end uint32, ts int64) {
	h := &c.half[d]
	dataEnd := seq + uint32(len(pl))
	var fresh uint32
	for seqLT(h.nxt, end) && c.hf[d]&hFinDone == 0 {
		limit := end
		if r := h.ro; r != nil && seqLT(r.head.seq, limit) {
			limit = r.head.seq
		}
		from := h.nxt
		fresh += limit - from
		if seqLT(from, dataEnd) {
			e := limit
			if seqGT(e, dataEnd) {
				e = dataEnd
			}
			h.nxt = e
			a.emit(c, d, pl[from-seq:e-seq], ts)
			from = e
		}
		if seqLT(from, limit) {
			h.nxt = limit
			a.gap(c, d, limit-from, gapSnaplen, ts)
		}
		a.advance(c, d, ts)
	}
	if dup := (end - seq) - fresh; dup > 0 {
		a.stats.Overlaps++
		a.stats.RetransBytes += uint64(dup)
	}
}

// buffer copies the new parts of an out-of-order segment into the reorder
// buffer. When that would break a cap it gives up one hole instead and
// returns false: the caller looks at the segment again.
func (a *Assembler) buffer(c *conn, d Dir, seq uint32, pl []byte, end uint32, ts int64) bool {
	h := &c.half[d]
	dataEnd := seq + uint32(len(pl))
	need, dup := a.cover(h, seq, dataEnd, pl, seq, false, false)
	needM, dupM := a.cover(h, dataEnd, end, nil, 0, true, false)
	need += needM
	dup += dupM
	if need == 0 {
		a.stats.RetransSegments++
		a.stats.RetransBytes += uint64(dup)
		return true
	}
	if a.connBuffered(c)+need > a.cfg.MaxBufferedPerConn {
		a.stats.CapPerConnHits++
		switch {
		case h.ro != nil:
			a.forceFirst(c, d, gapPerConnCap, ts)
		case c.half[d^1].ro != nil:
			a.forceFirst(c, d^1, gapPerConnCap, ts)
		default:
			// The segment alone is over the cap: skip to it and
			// deliver it without buffering.
			a.forceTo(c, d, seq, gapPerConnCap, ts)
		}
		return false
	}
	if a.buffered+need > a.cfg.MaxBufferedTotal {
		a.stats.CapTotalHits++
		if v := a.holes.head; v != nil {
			vc := v.c
			a.forceFirst(vc, v.d, gapTotalCap, ts)
			if vc != c {
				a.maybeClose(vc, ts)
			}
		} else {
			a.forceTo(c, d, seq, gapTotalCap, ts)
		}
		return false
	}
	if h.ro == nil {
		h.ro = a.newReorder(c, d)
	}
	a.cover(h, seq, dataEnd, pl, seq, false, true)
	a.cover(h, dataEnd, end, nil, 0, true, true)
	a.stats.OutOfOrderSegments++
	if dup > 0 {
		a.stats.Overlaps++
		a.stats.RetransBytes += uint64(dup)
	}
	// The peer may already have acknowledged past the hole.
	if o := &c.half[d^1]; c.hf[d^1]&hAck != 0 && seqGT(o.ack, h.nxt) {
		a.ackProves(c, d, o.ack, ts)
	}
	return true
}

func (a *Assembler) connBuffered(c *conn) int {
	n := 0
	if r := c.half[0].ro; r != nil {
		n += r.bytes
	}
	if r := c.half[1].ro; r != nil {
		n += r.bytes
	}
	return n
}

// advance runs after the next expected byte moved: it notes a reached FIN,
// delivers buffered segments that became contiguous, and keeps the hole
// list in step.
func (a *Assembler) advance(c *conn, d Dir, ts int64) {
	h := &c.half[d]
	a.checkFin(c, d)
	r := h.ro
	if r == nil {
		return
	}
	moved := false
	for s := r.head; s != nil && c.hf[d]&hFinDone == 0 && seqLE(s.seq, h.nxt); s = r.head {
		r.head = s.next
		if r.head == nil {
			r.tail = nil
		}
		if end := s.seq + s.n; seqGT(end, h.nxt) {
			off := h.nxt - s.seq
			h.nxt = end
			if s.class < 0 {
				a.gap(c, d, s.n-off, gapSnaplen, ts)
			} else {
				a.emit(c, d, s.buf[off:], ts)
			}
			moved = true
		}
		a.uncharge(r, s)
		a.freeSeg(s)
		a.checkFin(c, d)
	}
	if r.head == nil || c.hf[d]&hFinDone != 0 {
		for s := r.head; s != nil; s = s.next {
			a.stats.AfterFINBytes += uint64(s.n)
		}
		a.dropReorder(h)
		return
	}
	if moved {
		// A new hole is now the first one: its wait starts now.
		r.since = a.now
		a.holes.remove(r)
		a.holes.pushBack(r)
	}
}

// checkFin marks the direction done once everything before its FIN is.
func (a *Assembler) checkFin(c *conn, d Dir) {
	h := &c.half[d]
	if c.hf[d]&(hFin|hFinDone) == hFin && seqGE(h.nxt, h.finSeq) {
		c.hf[d] |= hFinDone
		if h.nxt == h.finSeq {
			h.nxt++ // the FIN takes one sequence number
		}
	}
}

// fin records the FIN of direction d at finSeq. A repeated FIN with another
// sequence number is ignored: the first wins, as for data.
func (a *Assembler) fin(c *conn, d Dir, finSeq uint32, ts int64) {
	h := &c.half[d]
	if c.hf[d]&hFin != 0 {
		return
	}
	if c.hf[d]&hKnown == 0 {
		h.nxt = finSeq // a bare FIN is all we know of this direction
		c.hf[d] |= hKnown
	}
	c.hf[d] |= hFin
	h.finSeq = finSeq
	if r := h.ro; r != nil {
		// Buffered bytes past the FIN cannot be stream data.
		var prev *seg
		for s := r.head; s != nil; s = s.next {
			if seqGE(s.seq, finSeq) {
				for t := s; t != nil; {
					next := t.next
					a.stats.AfterFINBytes += uint64(t.n)
					a.uncharge(r, t)
					a.freeSeg(t)
					t = next
				}
				if prev == nil {
					r.head = nil
				} else {
					prev.next = nil
				}
				r.tail = prev
				break
			}
			if end := s.seq + s.n; seqGT(end, finSeq) {
				a.stats.AfterFINBytes += uint64(end - finSeq)
				s.n = finSeq - s.seq
				if s.class >= 0 {
					s.buf = s.buf[:s.n]
				}
			}
			prev = s
		}
		if r.head == nil {
			a.dropReorder(h)
		}
	}
	if c.list != lstHalfClosed && c.flags&cClosed == 0 {
		a.setList(c, lstHalfClosed)
	}
	a.advance(c, d, ts)
}

// ackProves declares lost the bytes of direction d below ack, the peer's
// acknowledgement, that the capture never held, as long as something
// (buffered bytes or the FIN) waits behind them.
func (a *Assembler) ackProves(c *conn, d Dir, ack uint32, ts int64) {
	h := &c.half[d]
	for seqGT(ack, h.nxt) && ack-h.nxt <= maxAhead {
		var target uint32
		switch {
		case h.ro != nil:
			target = h.ro.head.seq
		case c.hf[d]&(hFin|hFinDone) == hFin:
			target = h.finSeq
		default:
			return
		}
		if seqLT(ack, target) {
			target = ack
		}
		if target == h.nxt {
			return // cannot happen (holes start past nxt); never spin
		}
		a.forceTo(c, d, target, gapAck, ts)
	}
}

// forceFirst gives up the first hole of direction d: the bytes up to the
// first buffered segment (or the FIN) are reported lost and what follows is
// delivered. It reports whether there was a hole.
func (a *Assembler) forceFirst(c *conn, d Dir, cause gapCause, ts int64) bool {
	h := &c.half[d]
	switch {
	case h.ro != nil:
		a.forceTo(c, d, h.ro.head.seq, cause, ts)
	case c.hf[d]&(hFin|hFinDone) == hFin:
		a.forceTo(c, d, h.finSeq, cause, ts)
	default:
		return false
	}
	return true
}

// forceTo reports the bytes from the next expected one up to target as lost
// and moves the stream there.
func (a *Assembler) forceTo(c *conn, d Dir, target uint32, cause gapCause, ts int64) {
	h := &c.half[d]
	n := target - h.nxt
	h.nxt = target
	a.gap(c, d, n, cause, ts)
	a.advance(c, d, ts)
}

// stream returns c's Stream, asking the Factory on first use.
func (a *Assembler) streamOf(c *conn) Stream {
	if c.stream != nil || c.flags&cDeclined != 0 {
		return c.stream
	}
	if a.factory == nil {
		c.flags |= cDeclined
		return nil
	}
	var info *ConnInfo
	if n := len(a.freeInfos); n > 0 {
		info = a.freeInfos[n-1]
		a.freeInfos = a.freeInfos[:n-1]
	} else {
		info = new(ConnInfo)
	}
	k := &c.key
	*info = ConnInfo{
		Key:       k.key(),
		IPv6:      c.flags&cIPv6 != 0,
		Midstream: c.flags&cMidstream != 0,
		Start:     c.start,
	}
	if c.flags&cClientIsLo != 0 {
		info.ClientAddr, info.ClientPort, info.ServerAddr, info.ServerPort = info.Key.LoAddr, info.Key.LoPort, info.Key.HiAddr, info.Key.HiPort
	} else {
		info.ClientAddr, info.ClientPort, info.ServerAddr, info.ServerPort = info.Key.HiAddr, info.Key.HiPort, info.Key.LoAddr, info.Key.LoPort
	}
	s := a.factory.New(info)
	if s == nil {
		c.flags |= cDeclined
		a.putInfo(info)
		return nil
	}
	c.stream, c.info = s, info
	a.stats.Streams++
	return s
}

func (a *Assembler) putInfo(info *ConnInfo) {
	if len(a.freeInfos) < maxFreeInfos {
		a.freeInfos = append(a.freeInfos, info)
	}
}

// emit hands in-order bytes to the Stream.
func (a *Assembler) emit(c *conn, d Dir, b []byte, ts int64) {
	if len(b) == 0 {
		return
	}
	s := c.stream
	if s == nil {
		if s = a.streamOf(c); s == nil {
			a.stats.BytesDeclined += uint64(len(b))
			return
		}
	}
	a.stats.BytesDelivered += uint64(len(b))
	s.Data(d, b, ts)
}

// gap reports n lost bytes to the Stream and counts them.
func (a *Assembler) gap(c *conn, d Dir, n uint32, cause gapCause, ts int64) {
	if n == 0 {
		return
	}
	a.stats.Gaps++
	a.stats.GapBytes += uint64(n)
	switch cause {
	case gapAck:
		a.stats.GapBytesAck += uint64(n)
	case gapTimeout:
		a.stats.GapBytesTimeout += uint64(n)
	case gapPerConnCap:
		a.stats.GapBytesPerConnCap += uint64(n)
	case gapTotalCap:
		a.stats.GapBytesTotalCap += uint64(n)
	case gapSnaplen:
		a.stats.GapBytesSnaplen += uint64(n)
	case gapClose:
		a.stats.GapBytesClose += uint64(n)
	}
	if s := a.streamOf(c); s != nil {
		s.Gap(d, int(n), ts)
	}
}

// finish ends c: every hole is given up (Gap, then the buffered bytes
// behind it), then the Stream gets End. The caller then moves c to the
// linger list or releases it.
func (a *Assembler) finish(c *conn, reason EndReason, ts int64) {
	if c.flags&cClosed != 0 {
		return
	}
	c.flags |= cClosed
	for a.forceFirst(c, ClientToServer, gapClose, ts) {
	}
	for a.forceFirst(c, ServerToClient, gapClose, ts) {
	}
	switch reason {
	case EndFIN:
		a.stats.ClosedFIN++
	case EndRST:
		a.stats.ClosedRST++
	case EndIdle:
		if c.list == lstHalfOpen {
			a.stats.ClosedHalfOpen++
		} else {
			a.stats.ClosedIdle++
		}
	case EndFlush:
		a.stats.ClosedFlush++
	case EndEvicted:
		a.stats.ClosedEvicted++
	case EndReused:
		a.stats.ClosedReused++
	}
	if s := c.stream; s != nil {
		c.stream = nil
		s.End(reason, ts)
		a.putInfo(c.info)
		c.info = nil
	}
}

// linger keeps a closed connection's key (and ISNs) for ClosedLinger.
func (a *Assembler) linger(c *conn) {
	if c.list != lstLinger {
		a.setList(c, lstLinger)
	}
}

// release forgets c and recycles its struct.
func (a *Assembler) release(c *conn) {
	if a.last == c {
		a.last = nil
	}
	delete(a.conns, c.key)
	a.lists[c.list].remove(c)
	for d := range c.half {
		a.dropReorder(&c.half[d]) // normally none left: finish flushed them
	}
	if c.info != nil {
		a.putInfo(c.info)
	}
	*c = conn{}
	if a.nFreeConns < maxFreeConns {
		c.next = a.freeConns
		a.freeConns = c
		a.nFreeConns++
	}
}

// evict frees one table slot: a lingering closed connection first, then
// the least recently active half-open one (so a SYN flood evicts its own
// kind), then a half-closed one, then the least recently active
// established one. It reports false if the table is empty.
func (a *Assembler) evict(ts int64) bool {
	for _, l := range [...]uint8{lstLinger, lstHalfOpen, lstHalfClosed, lstActive} {
		c := a.lists[l].head
		if c == nil {
			continue
		}
		switch l {
		case lstLinger:
			a.stats.EvictedLinger++
		case lstHalfOpen:
			a.stats.EvictedHalfOpen++
		case lstHalfClosed:
			a.stats.EvictedHalfClosed++
		case lstActive:
			a.stats.EvictedEstablished++
		}
		a.finish(c, EndEvicted, ts)
		a.release(c)
		return true
	}
	return false
}

// Advance moves the capture clock to now (it never goes back) and expires
// what timed out: connections idle past their list's timeout, and holes
// older than GapTimeout. Cheap enough to call for every packet: with
// nothing to expire it looks at five list heads.
func (a *Assembler) Advance(now int64) {
	if now > a.now {
		a.now = now
	}
	now = a.now
	for l := range numLists {
		t := a.timeouts[l]
		for c := a.lists[l].head; c != nil && now-c.lastSeen >= t; c = a.lists[l].head {
			switch l {
			case lstHalfClosed:
				a.finish(c, EndFIN, now) // one FIN and the other side went quiet
			case lstLinger:
				// already ended
			default:
				a.finish(c, EndIdle, now)
			}
			a.release(c)
		}
	}
	gt := int64(a.cfg.GapTimeout)
	for r := a.holes.head; r != nil && now-r.since >= gt; r = a.holes.head {
		c := r.c
		a.forceFirst(c, r.d, gapTimeout, now)
		a.maybeClose(c, now)
	}
}

// FlushAll ends every connection at the end of a capture: holes are given
// up (Gap, then the buffered bytes behind them are delivered), then each
// Stream gets End(EndFlush). The Assembler is empty and reusable after.
func (a *Assembler) FlushAll(now int64) {
	if now > a.now {
		a.now = now
	}
	for l := range numLists {
		for c := a.lists[l].head; c != nil; c = a.lists[l].head {
			a.finish(c, EndFlush, a.now)
			a.release(c)
		}
	}
}
