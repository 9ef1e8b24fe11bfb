package decode

import "github.com/apitap/apitap/flow"

// IP fragment reassembly, IPv4 and IPv6.
//
// Policy:
//   - A datagram is keyed by source, destination, identification, protocol
//     (IPv4 only; IPv6 learns it from the first fragment) and the Outer
//     identity, so the same id in two tenants never mixes.
//   - Overlaps: the first copy of each byte wins; later overlapping bytes
//     are ignored and the fragment is counted in FragOverlap. (A host may
//     resolve overlaps the other way; an attacker can use that to show the
//     sensor something else than the server sees. The count says when.)
//   - Every fragment but the last must carry a multiple of 8 bytes; a
//     fragment that disagrees with the known end of the datagram (data past
//     it, two different ends) drops the whole datagram. Both are
//     MalformedFrag.
//   - Limits: FragMaxDatagrams datagrams and FragMaxBytes of buffers at
//     once; to admit a new datagram past either, the oldest are dropped
//     (FragDropCap). A datagram incomplete FragTimeout after its first
//     fragment (capture clock) is dropped (FragTimeout). A fragment reaching
//     past FragMaxDatagram drops its datagram (MalformedFrag).
//   - A fragment cut by the snaplen cannot be reassembled: MalformedFrag.
//
// Memory: per datagram a 1 KiB bitmap of the 8-byte blocks held, plus the
// payload buffer; buffers are counted in FragMaxBytes (including the ones
// kept on the free list for reuse), bitmaps are bounded by
// FragMaxDatagrams.
//
// A completed datagram's buffer is lent to the caller (the decoded packet's
// Payload points into it) and returns to the free list at the next Decode.

// blockWords is the bitmap size: one bit per 8-byte block of a 64 KiB payload.
const blockWords = 65536 / 8 / 64

type fragKey struct {
	src, dst Addr
	id       uint32
	proto    uint8 // IPv4 protocol; 0 for IPv6
	v6       bool
	outer    flow.Outer
}

type fragEntry struct {
	key   fragKey
	first int64  // capture time of the first fragment
	buf   []byte // payload; len is the highest end seen
	total int    // payload length once the last fragment came, else -1
	nhave int    // blocks held
	proto uint8  // protocol of the reassembled payload (from offset 0)
	live  bool

	prev, next *fragEntry // age list, oldest first
	have       [blockWords]uint64
}

type defrag struct {
	maxN, maxBytes, maxDatagram int
	timeout                     int64
	stats                       *Stats

	index      map[fragKey]*fragEntry
	head, tail *fragEntry   // live entries by age
	free       []*fragEntry // reusable entries (their buffers count in bytes)
	pinned     [maxHops]*fragEntry
	npinned    int
	n          int   // live entries
	total      int   // entries allocated (live + free + pinned)
	bytes      int   // sum of cap(buf) over all entries
	now        int64 // latest capture time seen
}

func (f *defrag) init(cfg *Config, s *Stats) {
	f.maxN = cfg.FragMaxDatagrams
	f.maxBytes = cfg.FragMaxBytes
	f.maxDatagram = cfg.FragMaxDatagram
	f.timeout = int64(cfg.FragTimeout)
	f.stats = s
	f.index = make(map[fragKey]*fragEntry)
}

// busy tells whether tick has anything to do: the fast path of Decode.
func (f *defrag) busy() bool { return f.n > 0 || f.npinned > 0 }

// tick releases the buffers lent by the previous Decode and expires
// datagrams older than the timeout.
func (f *defrag) tick(ts int64) {
	for i := 0; i < f.npinned; i++ {
		f.recycle(f.pinned[i])
		f.pinned[i] = nil
	}
	f.npinned = 0
	f.advance(ts)
	for f.head != nil && f.now-f.head.first > f.timeout {
		f.stats.FragTimeout++
		f.drop(f.head)
	}
}

// advance moves the capture clock; it never runs backwards.
func (f *defrag) advance(ts int64) {
	if ts > f.now {
		f.now = ts
	}
}

// fragment stores one fragment of the IP packet whose addresses and Outer
// are already in p. hl is the IP header length, for the datagram limit.
// When the datagram completes, the walk goes on into its payload.
func (d *Decoder) fragment(p *Packet, id uint32, off int, more bool, proto uint8, b []byte, hl int) ([]byte, step, Result) {
	if d.missing > 0 {
		return done(d.bad(atFrag))
	}
	d.frag.advance(p.TS)
	k := fragKey{src: p.Src, dst: p.Dst, id: id, v6: p.IPv6, outer: p.Outer}
	if !p.IPv6 {
		k.proto = proto
	}
	out, proto, r := d.frag.add(&k, off, more, proto, b, hl)
	switch r {
	case ResultMalformed:
		return done(d.bad(atFrag))
	case ResultFragment:
		return done(ResultFragment)
	}
	d.stats.FragDatagrams++
	d.missing = 0
	if p.IPv6 {
		return d.ipv6Ext(proto, out, p)
	}
	return d.ipProto(proto, out, p, false)
}

// add stores a fragment. It returns ResultFragment while the datagram is
// incomplete, ResultMalformed when the fragment (and maybe its datagram)
// was dropped, and ResultTCP with the payload and its protocol when the
// datagram is complete.
func (f *defrag) add(k *fragKey, off int, more bool, proto uint8, b []byte, hl int) ([]byte, uint8, Result) {
	end := off + len(b)
	e := f.index[*k]
	if more && (len(b) == 0 || len(b)%8 != 0) || end > f.maxDatagram-hl {
		if e != nil && end > f.maxDatagram-hl {
			f.drop(e)
		}
		return nil, 0, ResultMalformed
	}
	if e != nil {
		// Consistency with the known end of the datagram.
		if !more && (e.total >= 0 && e.total != end || len(e.buf) > end) ||
			more && e.total >= 0 && end > e.total {
			f.drop(e)
			return nil, 0, ResultMalformed
		}
	} else {
		e = f.insert(k)
	}
	if !more {
		e.total = end
	}
	if off == 0 {
		e.proto = proto
	}
	if !f.grow(e, end) {
		f.drop(e)
		f.stats.FragDropCap++
		return nil, 0, ResultFragment
	}
	if len(e.buf) < end {
		e.buf = e.buf[:end]
	}
	// Copy the blocks not held yet, run by run: the first copy wins.
	overlap := false
	run := -1
	for blk, last := off/8, (end+7)/8; blk <= last; blk++ {
		if blk < last && e.have[blk/64]&(1<<(blk%64)) == 0 {
			e.have[blk/64] |= 1 << (blk % 64)
			e.nhave++
			if run < 0 {
				run = blk
			}
			continue
		}
		if blk < last {
			overlap = true
		}
		if run >= 0 {
			lo, hi := run*8, min(blk*8, end)
			copy(e.buf[lo:hi], b[lo-off:hi-off])
			run = -1
		}
	}
	if overlap {
		f.stats.FragOverlap++
	}
	if e.total < 0 || e.nhave != (e.total+7)/8 {
		return nil, 0, ResultFragment
	}
	// Complete: lend the buffer until the next Decode.
	f.unlink(e)
	if f.npinned == len(f.pinned) {
		f.recycle(e) // cannot happen within maxHops; stay bounded anyway
		return nil, 0, ResultMalformed
	}
	f.pinned[f.npinned] = e
	f.npinned++
	return e.buf[:e.total:e.total], e.proto, ResultTCP
}

// insert creates the entry for k, dropping the oldest datagram if the
// table is full.
func (f *defrag) insert(k *fragKey) *fragEntry {
	for f.n >= f.maxN && f.head != nil {
		f.stats.FragDropCap++
		f.drop(f.head)
	}
	var e *fragEntry
	if n := len(f.free); n > 0 {
		e = f.free[n-1]
		f.free = f.free[:n-1]
	} else {
		e = &fragEntry{}
		f.total++
	}
	e.key = *k
	e.first = f.now
	e.total = -1
	e.live = true
	f.index[*k] = e
	// Append to the age list.
	e.prev, e.next = f.tail, nil
	if f.tail != nil {
		f.tail.next = e
	} else {
		f.head = e
	}
	f.tail = e
	f.n++
	return e
}

// grow makes e.buf able to hold end bytes within the byte limit, taking
// memory from the free list first and then from the oldest datagrams.
func (f *defrag) grow(e *fragEntry, end int) bool {
	if cap(e.buf) >= end {
		return true
	}
	// Double to keep copying linear; small first buffers for the common
	// two-fragment datagram.
	c := min(max(end, 2*cap(e.buf), 2048), f.maxDatagram)
	for f.bytes-cap(e.buf)+c > f.maxBytes {
		if n := len(f.free); n > 0 && cap(f.free[n-1].buf) > 0 {
			f.bytes -= cap(f.free[n-1].buf)
			f.free[n-1].buf = nil
			continue
		}
		if i := f.freeWithBuf(); i >= 0 {
			f.bytes -= cap(f.free[i].buf)
			f.free[i].buf = nil
			continue
		}
		if f.head == nil || f.head == e && e.next == nil {
			return false
		}
		victim := f.head
		if victim == e {
			victim = e.next
		}
		f.stats.FragDropCap++
		f.drop(victim)
	}
	nb := make([]byte, len(e.buf), c)
	copy(nb, e.buf)
	f.bytes += c - cap(e.buf)
	e.buf = nb
	return true
}

func (f *defrag) freeWithBuf() int {
	for i, e := range f.free {
		if cap(e.buf) > 0 {
			return i
		}
	}
	return -1
}

// unlink removes a live entry from the index and the age list.
func (f *defrag) unlink(e *fragEntry) {
	delete(f.index, e.key)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		f.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		f.tail = e.prev
	}
	e.prev, e.next = nil, nil
	e.live = false
	f.n--
}

// drop discards a live datagram.
func (f *defrag) drop(e *fragEntry) {
	f.unlink(e)
	f.recycle(e)
}

// recycle clears an unlinked entry and puts it on the free list.
func (f *defrag) recycle(e *fragEntry) {
	w := (len(e.buf)/8 + 64) / 64
	clear(e.have[:min(w, blockWords)])
	e.buf = e.buf[:0]
	e.nhave = 0
	e.total = -1
	e.proto = 0
	f.free = append(f.free, e)
}
