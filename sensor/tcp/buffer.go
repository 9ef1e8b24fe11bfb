package tcp

import "unsafe"

// The reorder buffer of one direction is a singly linked list of segments
// sorted by sequence number that never overlap: when a new segment arrives,
// only the parts no buffered segment already covers are copied in, so the
// first copy of any byte wins and every byte is charged once.
//
// Payload is copied into pooled chunks of a power-of-two size from 64 B to
// 2 KiB; a larger segment is split into 2 KiB chunks. Chunks keep the memory
// overhead under 2x for small segments and near zero for large ones, and the
// pool keeps the out-of-order path mostly allocation-free.

// seg is one buffered run of sequence space: bytes (buf) or a snaplen
// marker (buf == nil): bytes known to exist that the capture cut off.
type seg struct {
	next  *seg
	buf   []byte // len n; cap is the chunk size; nil for a marker
	seq   uint32
	n     uint32
	class int8 // chunk class index; -1 for a marker
}

// segOverhead is charged for every buffered segment on top of its chunk.
var segOverhead = int(unsafe.Sizeof(seg{}))

const (
	minChunkShift = 6  // 64 B
	maxChunkShift = 11 // 2 KiB
	maxChunk      = 1 << maxChunkShift
	numClasses    = maxChunkShift - minChunkShift + 1
)

// classOf returns the chunk class for n bytes (1 <= n <= maxChunk).
func classOf(n uint32) int {
	c := 0
	for size := uint32(1) << minChunkShift; size < n; size <<= 1 {
		c++
	}
	return c
}

func classSize(c int) int { return 1 << (minChunkShift + c) }

// chargeOf is what buffering the sequence range [lo, hi) costs: bytes in
// chunks, or one marker.
func chargeOf(lo, hi uint32, marker bool) int {
	l := hi - lo
	if marker {
		return segOverhead
	}
	charge := 0
	for l > 0 {
		k := l
		if k > maxChunk {
			k = maxChunk
		}
		charge += segOverhead + classSize(classOf(k))
		l -= k
	}
	return charge
}

// reorder holds the out-of-order segments of one direction of one
// connection. It exists only while something is buffered, so idle and
// in-order connections pay one nil pointer per direction. Every reorder is
// on the Assembler's hole list, ordered by since, which drives GapTimeout
// and picks the victim when MaxBufferedTotal is hit.
type reorder struct {
	c          *conn
	head, tail *seg
	prev, next *reorder
	since      int64 // capture time its current first hole became first
	bytes      int   // charged bytes buffered
	d          Dir
}

// reorderList is an intrusive doubly linked list of reorders.
type reorderList struct {
	head, tail *reorder
}

func (l *reorderList) pushBack(r *reorder) {
	r.prev, r.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = r
	} else {
		l.head = r
	}
	l.tail = r
}

func (l *reorderList) remove(r *reorder) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		l.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		l.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

// allocSeg returns a segment for [seq, seq+n): a chunk of the right class
// from the pool (or new), or a marker.
func (a *Assembler) allocSeg(seq, n uint32, marker bool) *seg {
	var s *seg
	if marker {
		if s = a.freeMarkers; s != nil {
			a.freeMarkers = s.next
			a.poolBytes -= segOverhead
		} else {
			s = &seg{class: -1}
		}
	} else {
		c := classOf(n)
		if s = a.freeSegs[c]; s != nil {
			a.freeSegs[c] = s.next
			a.poolBytes -= segOverhead + classSize(c)
		} else {
			s = &seg{buf: make([]byte, 0, classSize(c)), class: int8(c)}
		}
		s.buf = s.buf[:n]
	}
	s.next, s.seq, s.n = nil, seq, n
	return s
}

// freeSeg returns s to the pool, unless the pool already holds poolLimit
// bytes (then the garbage collector takes it): the pool never pins more
// than a fixed amount after a burst of reordering.
func (a *Assembler) freeSeg(s *seg) {
	charge := segOverhead
	if s.class >= 0 {
		charge += classSize(int(s.class))
	}
	if a.poolBytes+charge > a.poolLimit {
		return
	}
	a.poolBytes += charge
	if s.class < 0 {
		s.next = a.freeMarkers
		a.freeMarkers = s
		return
	}
	s.buf = s.buf[:0]
	s.next = a.freeSegs[s.class]
	a.freeSegs[s.class] = s
}

func (a *Assembler) newReorder(c *conn, d Dir) *reorder {
	r := a.freeReorders
	if r != nil {
		a.freeReorders = r.next
		a.nFreeReorders--
		r.next = nil
	} else {
		r = new(reorder)
	}
	r.c, r.d, r.since = c, d, a.now
	a.holes.pushBack(r)
	return r
}

// dropReorder unlinks h's reorder, frees what it still buffers (the caller
// has counted those bytes) and recycles it.
func (a *Assembler) dropReorder(h *half) {
	r := h.ro
	if r == nil {
		return
	}
	for s := r.head; s != nil; {
		next := s.next
		a.uncharge(r, s)
		a.freeSeg(s)
		s = next
	}
	a.holes.remove(r)
	h.ro = nil
	*r = reorder{}
	if a.nFreeReorders < maxFreeReorders {
		r.next = a.freeReorders
		a.freeReorders = r
		a.nFreeReorders++
	}
}

func (a *Assembler) uncharge(r *reorder, s *seg) {
	charge := segOverhead
	if s.class >= 0 {
		charge += classSize(int(s.class))
	}
	r.bytes -= charge
	a.buffered -= charge
}

// cover visits the parts of [lo, hi) that no buffered segment of h covers.
// With insert false it only returns what buffering them would charge; with
// insert true it buffers them (copying from pl, whose first byte is sequence
// number base; marker ranges copy nothing). dup is the number of bytes of
// [lo, hi) already buffered. The dry run and the insert walk the list the
// same way, so the charge the caller checked against the caps is exactly
// the charge applied.
func (a *Assembler) cover(h *half, lo, hi uint32, pl []byte, base uint32, marker, insert bool) (charge int, dup uint32) {
	if !seqLT(lo, hi) {
		return 0, 0
	}
	r := h.ro
	var prev, e *seg
	if r != nil && r.tail != nil {
		// Appending past the tail is the common case (one lost segment,
		// the following ones arriving in order): skip the walk.
		if t := r.tail; seqGE(lo, t.seq+t.n) {
			prev = t
		} else {
			e = r.head
		}
	}
	cur := lo
	for e != nil && seqLT(cur, hi) {
		eEnd := e.seq + e.n
		if seqLE(eEnd, cur) {
			prev, e = e, e.next
			continue
		}
		if seqLE(hi, e.seq) {
			break
		}
		if seqLT(cur, e.seq) {
			charge += chargeOf(cur, e.seq, marker)
			if insert {
				prev = a.link(r, prev, cur, e.seq, pl, base, marker)
			}
			cur = e.seq
		}
		covered := eEnd
		if seqGT(covered, hi) {
			covered = hi
		}
		dup += covered - cur
		cur = covered
		prev, e = e, e.next
	}
	if seqLT(cur, hi) {
		charge += chargeOf(cur, hi, marker)
		if insert {
			a.link(r, prev, cur, hi, pl, base, marker)
		}
	}
	return charge, dup
}

// link buffers [lo, hi) right after prev (at the head when prev is nil) and
// returns the last segment linked.
func (a *Assembler) link(r *reorder, prev *seg, lo, hi uint32, pl []byte, base uint32, marker bool) *seg {
	for lo != hi {
		n := hi - lo
		if !marker && n > maxChunk {
			n = maxChunk
		}
		s := a.allocSeg(lo, n, marker)
		if !marker {
			off := lo - base
			copy(s.buf, pl[off:off+n])
		}
		charge := segOverhead
		if !marker {
			charge += classSize(int(s.class))
		}
		r.bytes += charge
		a.buffered += charge
		if prev == nil {
			s.next = r.head
			r.head = s
		} else {
			s.next = prev.next
			prev.next = s
		}
		if s.next == nil {
			r.tail = s
		}
		prev = s
		lo += n
	}
	if a.buffered > a.peakBuffered {
		a.peakBuffered = a.buffered
	}
	return prev
}
