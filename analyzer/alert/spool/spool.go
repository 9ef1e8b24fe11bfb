// Package spool is a bounded, crash-safe, on-disk FIFO queue of opaque
// records: one per alert destination. The analyzer appends alerts before it
// commits its Kafka offsets (so Append is durable when it returns), one
// sender goroutine peeks them, delivers them to a SIEM and acknowledges
// them. A SIEM outage fills the spool up to its cap; a restart (even
// kill -9) loses nothing that Append reported as written. Delivery is
// at-least-once: a crash can resend the records of an interrupted Ack.
//
// On disk (docs/spool.md): segment files named by the sequence number of
// their first record (00000000000000000001.seg), each a run of frames
// [len uint32 LE][crc32c uint32 LE][payload], the CRC covering the length
// and the payload; a file "ack" holding the last acknowledged sequence
// number in decimal; a file "lock" that keeps a second process out.
//
// Sequence numbers are not stored in the frames: a record's number is its
// segment's first number plus its index. They start at 1, increase by one
// per record and survive restarts; after a corrupt record is skipped at
// Open there can be gaps, never reuse.
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Defaults and limits.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultSegmentBytes = 4 << 20
	// MaxRecordBytes caps one record: an alert is a few KiB, anything near
	// this is a bug upstream, and the cap bounds what Open and Peek allocate
	// for a (possibly corrupt) length field.
	MaxRecordBytes = 16 << 20
)

const (
	headerSize = 8
	// maxSeq bounds sequence numbers (records are numbered below it) so
	// that first+n never overflows, even from a forged file name or ack
	// file. 2^63 records outlast any disk.
	maxSeq    = 1 << 63
	segSuffix = ".seg"
	segDigits = 20 // enough for any uint64 in decimal
	ackName   = "ack"
	ackTemp   = "ack.tmp"
	lockName  = "lock"
	// writeChunk is how much Append gathers before one write: few syscalls
	// for small alerts, no big copy of large records.
	writeChunk = 256 << 10
)

var (
	// ErrFull is returned by Append when the records would take the spool
	// past MaxBytes; nothing of the call is written.
	ErrFull = errors.New("spool: full")
	// ErrTooLarge is returned by Append for a record that can never fit:
	// over MaxRecordBytes, or alone larger than MaxBytes.
	ErrTooLarge = errors.New("spool: record too large")
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrCorrupt is returned by Peek when a record that was valid at Open
	// no longer is (the disk changed under the spool). Reopening the spool
	// skips it.
	ErrCorrupt = errors.New("spool: corrupt record")
	// errExhausted: only a forged ack file or segment name gets here.
	errExhausted = errors.New("spool: sequence numbers exhausted (the ack file or a segment name holds a number near 2^63: remove it)")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Config configures a spool.
type Config struct {
	// Dir holds the spool's files; created if missing (mode 0700: alerts
	// can carry masked personal data). Required.
	Dir string
	// MaxBytes caps the bytes on disk (segments); an Append that would pass
	// it is refused with ErrFull and the records are counted as dropped.
	// Default 64 MiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file starts; fully
	// acknowledged segments are deleted, which is how space comes back.
	// Default 4 MiB, but at most MaxBytes/4 so that a full spool frees
	// space in quarters.
	SegmentBytes int64
	// NoSync skips fsync (tests, benchmarks). Default false: Append fsyncs
	// before it returns, Ack before it deletes anything.
	NoSync bool
}

// Defaults fills the zero values.
func (c *Config) Defaults() {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = min(DefaultSegmentBytes, max(c.MaxBytes/4, 1))
	}
}

// Validate reports what is wrong with the configuration (after Defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("spool: Dir is required"))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("spool: MaxBytes must be > 0, got %d", c.MaxBytes))
	}
	if c.SegmentBytes <= 0 {
		errs = append(errs, fmt.Errorf("spool: SegmentBytes must be > 0, got %d", c.SegmentBytes))
	} else if c.MaxBytes > 0 && c.SegmentBytes > c.MaxBytes {
		errs = append(errs, fmt.Errorf("spool: SegmentBytes (%d) must be <= MaxBytes (%d)", c.SegmentBytes, c.MaxBytes))
	}
	return errors.Join(errs...)
}

// Entry is one record and its sequence number.
type Entry struct {
	Seq  uint64
	Data []byte
}

// Stats are the spool's gauges and, since Open, its counters.
type Stats struct {
	Pending      uint64 // records appended and not acknowledged
	PendingBytes int64  // their bytes on disk, frame headers included
	DiskBytes    int64  // bytes of all segment files (what MaxBytes caps)
	Appended     uint64 // records appended since Open
	Acked        uint64 // records acknowledged since Open
	Dropped      uint64 // records refused with ErrFull since Open
	Corrupt      uint64 // corrupt records or tails skipped at Open, unreadable ack file
	Segments     int    // segment files
	NextSeq      uint64 // the sequence number the next record gets
	AckSeq       uint64 // the last acknowledged sequence number (0: none)
}

// segment is the in-memory index entry of one segment file: O(segments).
type segment struct {
	first uint64 // sequence number of the first record (the file name)
	n     uint64 // whole valid records
	size  int64  // their bytes: the committed length of the file
}

func (g *segment) end() uint64 { return g.first + g.n }

// cursor is a position in a segment: the record seq starts at off.
type cursor struct {
	seg *segment
	off int64
	seq uint64
}

// Spool is an open spool. One appender and one reader (Peek, Ack) may run
// concurrently; Stats and Scan are safe from anywhere.
//
// Locks, always taken in this order: rmu serializes the reader (Peek, Ack
// and the reader's open file), wmu the writer (Append, and Ack while it
// deletes segments, so it never deletes the file being written), mu guards
// the index and counters and is never held across a write or fsync, so an
// fsync in Append does not stall Peek or Stats.
type Spool struct {
	cfg   Config
	dirf  *os.File // the directory, for fsync after create and rename
	lockf *os.File
	ready chan struct{}

	rmu sync.Mutex
	wmu sync.Mutex
	mu  sync.Mutex

	// Guarded by mu.
	closed    bool
	segs      []*segment // sorted by first, non-overlapping
	next      uint64
	ack       uint64
	headOff   int64 // offset in segs[0] of its first unacknowledged record
	diskBytes int64
	pending   uint64
	pendBytes int64
	appended  uint64
	acked     uint64
	dropped   uint64
	corrupt   uint64

	// Guarded by wmu.
	w    *os.File // the segment being appended to, nil: the next Append starts one
	wseg *segment
	wbuf []byte
	// writeAt is (*os.File).WriteAt; tests replace it to inject ENOSPC.
	writeAt func(f *os.File, p []byte, off int64) (int, error)

	// Guarded by rmu.
	rf    *os.File // reader's open segment, kept across Peeks
	rseg  *segment
	br    *bufio.Reader
	after cursor // where the last Peek stopped: the usual next Ack target
}

// Open opens (or creates) the spool in cfg.Dir, repairing what a crash
// left: a torn tail is truncated, a corrupt record skips the rest of its
// segment, a missing or unreadable ack file makes everything pending. Only
// an unusable directory (permissions, I/O errors) fails it.
func Open(cfg Config) (*Spool, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := cfg.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, dirError(dir, err)
	}
	if err := checkAccess(dir); err != nil {
		return nil, dirError(dir, err)
	}
	lockf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, dirError(dir, err)
	}
	if err := lockFile(lockf); err != nil {
		lockf.Close()
		return nil, fmt.Errorf("spool: %s is in use by another spool (lock file %s): %w", dir, lockf.Name(), err)
	}
	s := &Spool{cfg: cfg, lockf: lockf, ready: make(chan struct{}, 1), writeAt: (*os.File).WriteAt}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if s.pending > 0 {
		s.ready <- struct{}{} // work from before the restart
	}
	return s, nil
}

func dirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("spool: no permission to use directory %s (it must be readable and writable by the analyzer): %w", dir, err)
	}
	return fmt.Errorf("spool: cannot use directory %s: %w", dir, err)
}

// load reads the directory: ack file, segments, repairs; fills the index.
func (s *Spool) load() error {
	dir := s.cfg.Dir
	var err error
	if s.dirf, err = os.Open(dir); err != nil {
		return dirError(dir, err)
	}
	ack, ok := readAck(filepath.Join(dir, ackName))
	if !ok {
		s.corrupt++ // everything is pending again: at-least-once
	}
	s.ack = ack
	_ = os.Remove(filepath.Join(dir, ackTemp)) // an Ack the crash interrupted

	ents, err := os.ReadDir(dir)
	if err != nil {
		return dirError(dir, err)
	}
	var firsts []uint64
	for _, e := range ents {
		first, ok := parseSegName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if first == 0 || first >= maxSeq {
			s.corrupt++ // ours by its name, but no valid sequence number: left alone
			continue
		}
		firsts = append(firsts, first)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })

	headOffs := make([]int64, len(firsts))
	for i, first := range firsts {
		limit := uint64(maxSeq) - first
		if i+1 < len(firsts) {
			limit = firsts[i+1] - first // no sequence number twice
		}
		last := i == len(firsts)-1
		g, headOff, f, err := s.loadSegment(first, limit, ack+1, last)
		if err != nil {
			return err
		}
		headOffs[i] = headOff
		s.segs = append(s.segs, g)
		s.diskBytes += g.size
		s.pending += pendingIn(g, ack)
		if f != nil {
			s.w, s.wseg = f, g
		}
	}
	s.next = max(ack+1, 1)
	if n := len(s.segs); n > 0 {
		s.next = max(s.next, s.segs[n-1].end())
	}
	// Segments an Ack had acknowledged but not yet deleted.
	dropped := 0
	for _, g := range s.prune() {
		dropped++
		if err := os.Remove(s.segPath(g.first)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spool: delete acknowledged segment: %w", err)
		}
	}
	if len(s.segs) > 0 && s.segs[0].first <= ack {
		s.headOff = headOffs[dropped]
	}
	s.pendBytes = s.diskBytes - s.headOff
	return nil
}

// pendingIn counts the records of g after ack.
func pendingIn(g *segment, ack uint64) uint64 {
	if g.end() <= ack+1 {
		return 0
	}
	return g.end() - max(g.first, ack+1)
}

// loadSegment validates one segment file and cuts it after its last good
// record (at most limit records). It returns the offset of record headSeq
// when the segment holds it, and the open file when last (the writer).
func (s *Spool) loadSegment(first, limit, headSeq uint64, last bool) (*segment, int64, *os.File, error) {
	path := s.segPath(first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool: open segment: %w", err)
	}
	fail := func(err error) (*segment, int64, *os.File, error) {
		f.Close()
		return nil, 0, nil, fmt.Errorf("spool: segment %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	fileSize := fi.Size()
	g := &segment{first: first}
	var headOff int64
	br := bufio.NewReaderSize(f, 64<<10)
	var hdr [headerSize]byte
	var buf []byte
	for g.n < limit && fileSize-g.size >= headerSize {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fail(err)
		}
		l := binary.LittleEndian.Uint32(hdr[0:4])
		if l > MaxRecordBytes || int64(l) > fileSize-g.size-headerSize {
			break
		}
		if cap(buf) < int(l) {
			buf = make([]byte, l)
		}
		buf = buf[:l]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fail(err)
		}
		if frameCRC(hdr[0:4], buf) != binary.LittleEndian.Uint32(hdr[4:8]) {
			break
		}
		if g.first+g.n == headSeq {
			headOff = g.size
		}
		g.size += headerSize + int64(l)
		g.n++
	}
	if g.size < fileSize {
		// A torn tail (a crash mid-write), a corrupt record or records past
		// the next segment's first number: unreadable or not ours to serve.
		// Cutting them makes the repair durable and the next Open clean.
		s.corrupt++
		if err := f.Truncate(g.size); err != nil {
			return fail(err)
		}
		if !s.cfg.NoSync {
			if err := f.Sync(); err != nil {
				return fail(err)
			}
		}
	}
	if !last {
		f.Close()
		f = nil
	}
	return g, headOff, f, nil
}

// prune drops from the index the leading segments with nothing pending
// (an empty segment only when it cannot be the writer's) and returns them
// for deletion. Called with mu held, and wmu or before any Append.
func (s *Spool) prune() []*segment {
	var gone []*segment
	for len(s.segs) > 0 {
		g := s.segs[0]
		if g.n == 0 {
			if len(s.segs) == 1 && g.first == s.next {
				break // the writer's fresh segment
			}
		} else if g.end() > s.ack+1 {
			break
		}
		gone = append(gone, g)
		s.segs = s.segs[1:]
		s.diskBytes -= g.size
		s.headOff = 0
		if g == s.wseg {
			s.w.Close()
			s.w, s.wseg = nil, nil
		}
	}
	return gone
}

func (s *Spool) segPath(first uint64) string {
	return filepath.Join(s.cfg.Dir, fmt.Sprintf("%0*d%s", segDigits, first, segSuffix))
}

func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != segDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return maxSeq, true // 20 digits past 2^64: counted as unusable
	}
	return v, true
}

func frameCRC(lenBytes, payload []byte) uint32 {
	// The length is covered too: a zero-filled tail (a file extended by a
	// crash before its data reached the disk) must not read as empty records.
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, payload)
}

func appendHeader(b []byte, payload []byte) []byte {
	// Built in b itself: a local array would escape through crc32 and
	// cost an allocation per record.
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	return binary.LittleEndian.AppendUint32(b, frameCRC(b[len(b)-4:], payload))
}

// Append writes the records in order, durably (one fsync per call; a new
// segment also fsyncs the directory), and returns the sequence number of
// the first; they are consecutive. All or nothing: ErrFull when the cap
// would be passed (Stats().Dropped += len(recs)), ErrTooLarge for a record
// that can never fit, or the I/O error (ENOSPC...) after cutting the
// partial write back. Appending no records returns NextSeq and nil.
//
// A call's records always go to one segment, which keeps all-or-nothing to
// one truncate; a batch larger than SegmentBytes makes a larger segment.
func (s *Spool) Append(recs ...[]byte) (first uint64, err error) {
	var batch int64
	for i, r := range recs {
		if len(r) > MaxRecordBytes {
			return 0, fmt.Errorf("%w: record %d of the call is %d bytes, the limit is %d", ErrTooLarge, i, len(r), MaxRecordBytes)
		}
		if int64(len(r))+headerSize > s.cfg.MaxBytes {
			return 0, fmt.Errorf("%w: record %d of the call is %d bytes, the spool holds %d", ErrTooLarge, i, len(r), s.cfg.MaxBytes)
		}
		batch += headerSize + int64(len(r))
	}
	n := uint64(len(recs))

	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	seq := s.next
	if n == 0 {
		s.mu.Unlock()
		return seq, nil
	}
	if s.diskBytes+batch > s.cfg.MaxBytes {
		s.dropped += n
		disk := s.diskBytes
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %d records (%d bytes) do not fit, %d of %d bytes used", ErrFull, n, batch, disk, s.cfg.MaxBytes)
	}
	if seq+n > maxSeq {
		s.mu.Unlock()
		return 0, errExhausted
	}
	g := s.wseg
	roll := s.w == nil || (g.size > 0 && g.size+batch > s.cfg.SegmentBytes)
	var off int64
	var reuse *segment
	if roll {
		// An empty last segment named seq (after a failed write) is reused:
		// one file name, one index entry.
		if k := len(s.segs); k > 0 && s.segs[k-1].first == seq {
			reuse = s.segs[k-1]
		}
	} else {
		off = g.size
	}
	s.mu.Unlock()

	f := s.w
	path := ""
	if roll {
		path = s.segPath(seq)
		if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return 0, fmt.Errorf("spool: new segment: %w", err)
		}
	}
	synced := false
	err = s.writeFrames(f, off, recs)
	if err == nil && !s.cfg.NoSync {
		synced = true
		err = f.Sync()
		if err == nil && roll {
			err = syncDir(s.dirf)
		}
	}
	if err != nil {
		// Nothing of the call is committed: the reader never reads past
		// the committed size, and the bytes are cut back for the next Open.
		if roll {
			f.Close()
			if reuse != nil {
				_ = os.Truncate(path, 0)
			} else {
				_ = os.Remove(path)
			}
		} else if terr := f.Truncate(off); terr != nil || synced {
			// After a failed fsync the page cache cannot be trusted, and a
			// failed truncate leaves bytes behind: continue in a new file;
			// Open cuts whatever remains past this one's records.
			s.mu.Lock()
			s.w.Close()
			s.w, s.wseg = nil, nil
			s.mu.Unlock()
		}
		return 0, fmt.Errorf("spool: append: %w", err)
	}

	s.mu.Lock()
	var old *os.File
	if roll {
		if reuse != nil {
			g = reuse
		} else {
			g = &segment{first: seq}
			s.segs = append(s.segs, g)
		}
		old = s.w
		s.w, s.wseg = f, g
	}
	g.size += batch
	g.n += n
	s.next += n
	s.diskBytes += batch
	s.pending += n
	s.pendBytes += batch
	s.appended += n
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
	return seq, nil
}

// writeFrames writes recs as frames at off, gathering small ones.
func (s *Spool) writeFrames(f *os.File, off int64, recs [][]byte) error {
	buf := s.wbuf[:0]
	write := func(p []byte) error {
		_, err := s.writeAt(f, p, off)
		off += int64(len(p))
		return err
	}
	for _, r := range recs {
		buf = appendHeader(buf, r)
		if len(r) >= writeChunk/4 {
			// Large payloads go straight from the caller's slice.
			if err := write(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if err := write(r); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, r...)
		if len(buf) >= writeChunk {
			if err := write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	var err error
	if len(buf) > 0 {
		err = write(buf)
	}
	s.wbuf = buf[:0]
	return err
}

// Ready is signalled (a non-blocking send on a 1-buffered channel) after
// each successful Append, and at Open when records are pending, so a
// sender can sleep until there is work.
func (s *Spool) Ready() <-chan struct{} { return s.ready }

// Peek returns up to maxRecs records (and up to maxBytes of payload, at least
// one record; maxBytes <= 0 is no limit) from the oldest unacknowledged
// one, without removing them: the same records come back until acked.
// Data is a copy owned by the caller. Empty when nothing is pending.
func (s *Spool) Peek(maxRecs int, maxBytes int) ([]Entry, error) {
	if maxRecs <= 0 {
		return nil, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.pending == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	g := s.segs[0]
	cur := cursor{seg: g, off: s.headOff, seq: max(s.ack+1, g.first)}
	size := g.size
	out := make([]Entry, 0, min(uint64(maxRecs), s.pending, 1024))
	s.mu.Unlock()

	total := 0
	var hdr [headerSize]byte
	for len(out) < maxRecs {
		if cur.off >= size {
			s.mu.Lock()
			size = cur.seg.size // the appender may have added records
			if cur.off >= size {
				ng := s.nextSeg(cur.seg)
				if ng == nil {
					s.mu.Unlock()
					break
				}
				cur = cursor{seg: ng, seq: ng.first}
				size = ng.size
			}
			s.mu.Unlock()
			continue
		}
		if err := s.openReader(cur.seg); err != nil {
			return nil, err
		}
		// Bounded by the committed size: bytes past it may be a write in
		// progress or one being cut back.
		s.br.Reset(io.NewSectionReader(s.rf, cur.off, size-cur.off))
		for len(out) < maxRecs && cur.off < size {
			if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
				return nil, s.readErr(cur, err)
			}
			l := binary.LittleEndian.Uint32(hdr[0:4])
			if l > MaxRecordBytes || int64(l) > size-cur.off-headerSize {
				return nil, s.readErr(cur, nil)
			}
			if len(out) > 0 && maxBytes > 0 && total+int(l) > maxBytes {
				s.after = cur
				return out, nil
			}
			data := make([]byte, l)
			if _, err := io.ReadFull(s.br, data); err != nil {
				return nil, s.readErr(cur, err)
			}
			if frameCRC(hdr[0:4], data) != binary.LittleEndian.Uint32(hdr[4:8]) {
				return nil, s.readErr(cur, nil)
			}
			out = append(out, Entry{Seq: cur.seq, Data: data})
			total += int(l)
			cur.off += headerSize + int64(l)
			cur.seq++
		}
	}
	s.after = cur
	return out, nil
}

func (s *Spool) readErr(c cursor, err error) error {
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: record %d in segment %s at offset %d", ErrCorrupt, c.seq, s.segPath(c.seg.first), c.off)
	}
	return fmt.Errorf("spool: read segment %s: %w", s.segPath(c.seg.first), err)
}

// nextSeg is the segment after g, nil if g is the last. mu held.
func (s *Spool) nextSeg(g *segment) *segment {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > g.first })
	if i < len(s.segs) {
		return s.segs[i]
	}
	return nil
}

// openReader points the reader's file at g. rmu held.
func (s *Spool) openReader(g *segment) error {
	if s.rseg == g && s.rf != nil {
		return nil
	}
	s.closeReader()
	f, err := os.Open(s.segPath(g.first))
	if err != nil {
		return fmt.Errorf("spool: open segment: %w", err)
	}
	s.rf, s.rseg = f, g
	if s.br == nil {
		s.br = bufio.NewReaderSize(nil, 64<<10)
	}
	return nil
}

func (s *Spool) closeReader() {
	if s.rf != nil {
		s.rf.Close()
	}
	s.rf, s.rseg = nil, nil
}

// Ack marks every record with Seq <= seq delivered. The position is
// persisted before anything is deleted (a restart resends at most the
// records of an Ack the crash interrupted); then the segments holding only
// acknowledged records are deleted, the one being appended to included.
// Acking at or below the current position is a no-op; past the last
// appended record is an error.
func (s *Spool) Ack(seq uint64) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if seq <= s.ack {
		s.mu.Unlock()
		return nil
	}
	if seq >= s.next {
		last := s.next - 1
		s.mu.Unlock()
		return fmt.Errorf("spool: ack %d is past the last appended record %d", seq, last)
	}
	s.mu.Unlock()

	head, headOff, err := s.locate(seq + 1)
	if err != nil {
		return err
	}
	if err := s.writeAck(seq); err != nil {
		return err
	}

	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	var n uint64
	for _, g := range s.segs {
		if g.first > seq {
			break
		}
		n += pendingIn(g, s.ack) - pendingIn(g, seq)
	}
	s.ack = seq
	s.pending -= n
	s.acked += n
	gone := s.prune()
	s.headOff = 0
	if len(s.segs) > 0 && s.segs[0] == head {
		s.headOff = headOff
	}
	s.pendBytes = 0
	for _, g := range s.segs {
		s.pendBytes += g.size
	}
	s.pendBytes -= s.headOff
	s.mu.Unlock()

	var errs []error
	for _, g := range gone {
		if g == s.rseg {
			s.closeReader()
		}
		if s.after.seg == g {
			s.after = cursor{}
		}
		// A failed delete is retried by the next Open (the ack says so).
		if err := os.Remove(s.segPath(g.first)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("spool: delete acknowledged segment: %w", err))
		}
	}
	return errors.Join(errs...)
}

// locate finds where the first record with Seq >= target is or will be:
// its segment and offset; when it is not appended yet, the end of the last
// segment (nil if none), where an Append into that segment puts it. It
// starts from the last Peek's stop, the usual Ack target, else from the
// head, else the segment's start, and skips records by their headers.
// rmu held.
func (s *Spool) locate(target uint64) (*segment, int64, error) {
	s.mu.Lock()
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end() > target })
	if i == len(s.segs) {
		var g *segment
		var off int64
		if i > 0 {
			g = s.segs[i-1]
			off = g.size
		}
		s.mu.Unlock()
		return g, off, nil
	}
	g := s.segs[i]
	size := g.size
	from := cursor{seg: g, seq: g.first}
	if s.after.seg == g && s.after.seq <= target {
		from = s.after
	}
	if i == 0 {
		if hs := max(s.ack+1, g.first); hs <= target && hs > from.seq {
			from = cursor{seg: g, off: s.headOff, seq: hs}
		}
	}
	s.mu.Unlock()
	if from.seq >= target {
		return g, from.off, nil
	}
	if err := s.openReader(g); err != nil {
		return nil, 0, err
	}
	var hdr [headerSize]byte
	for from.seq < target {
		if _, err := s.rf.ReadAt(hdr[:], from.off); err != nil {
			return nil, 0, s.readErr(from, err)
		}
		l := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		if l > MaxRecordBytes || from.off+headerSize+l > size {
			return nil, 0, s.readErr(from, nil)
		}
		from.off += headerSize + l
		from.seq++
	}
	return g, from.off, nil
}

// The ack position lives in a small file replaced atomically (write a
// temporary, fsync, rename, fsync the directory) rather than an append-only
// log: an Ack follows a delivery to a SIEM (a network round trip, batched),
// so its two fsyncs are noise, and a renamed file is never torn, needs no
// compaction and can be read and edited by hand (`cat ack`).
func (s *Spool) writeAck(seq uint64) error {
	tmp := filepath.Join(s.cfg.Dir, ackTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: write ack: %w", err)
	}
	_, err = f.Write(strconv.AppendUint(nil, seq, 10))
	if err == nil {
		_, err = f.Write([]byte{'\n'})
	}
	if err == nil && !s.cfg.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.cfg.Dir, ackName))
	}
	if err == nil && !s.cfg.NoSync {
		err = syncDir(s.dirf)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: write ack: %w", err)
	}
	return nil
}

// readAck returns the acknowledged position; ok is false when the file
// exists but cannot be read or parsed (then 0: everything is pending).
func readAck(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, true
	}
	if err != nil || len(b) < 2 || len(b) > segDigits+1 || b[len(b)-1] != '\n' {
		return 0, false
	}
	for _, c := range b[:len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(string(b[:len(b)-1]), 10, 64)
	if err != nil || v >= maxSeq {
		return 0, false
	}
	return v, true
}

// Scan calls fn for every pending record in order, from a snapshot of the
// index taken when it starts (records appended meanwhile are not seen). It
// holds no lock while fn runs, so fn may call Append, Peek or Ack. Data is
// owned by fn. Used at start to rebuild in-memory indexes.
func (s *Spool) Scan(fn func(Entry) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	segs := make([]segment, len(s.segs))
	for i, g := range s.segs {
		segs[i] = *g
	}
	ack, headOff := s.ack, s.headOff
	s.mu.Unlock()

	var br *bufio.Reader
	var hdr [headerSize]byte
	for i, g := range segs {
		cur := cursor{seg: &segs[i], seq: g.first}
		if i == 0 && g.first <= ack {
			cur.off, cur.seq = headOff, ack+1
		}
		if cur.off >= g.size {
			continue
		}
		f, err := os.Open(s.segPath(g.first))
		if errors.Is(err, fs.ErrNotExist) {
			continue // acknowledged and deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("spool: open segment: %w", err)
		}
		if br == nil {
			br = bufio.NewReaderSize(nil, 64<<10)
		}
		br.Reset(io.NewSectionReader(f, cur.off, g.size-cur.off))
		for cur.off < g.size {
			_, err := io.ReadFull(br, hdr[:])
			l := binary.LittleEndian.Uint32(hdr[0:4])
			if err == nil && (l > MaxRecordBytes || int64(l) > g.size-cur.off-headerSize) {
				err = io.ErrUnexpectedEOF
			}
			var data []byte
			if err == nil {
				data = make([]byte, l)
				_, err = io.ReadFull(br, data)
			}
			if err == nil && frameCRC(hdr[0:4], data) != binary.LittleEndian.Uint32(hdr[4:8]) {
				err = io.ErrUnexpectedEOF
			}
			if err == nil {
				err = fn(Entry{Seq: cur.seq, Data: data})
				if err != nil {
					f.Close()
					return err
				}
			} else {
				f.Close()
				return s.readErr(cur, err)
			}
			cur.off += headerSize + int64(l)
			cur.seq++
		}
		f.Close()
	}
	return nil
}

// Stats returns the spool's gauges and counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Pending:      s.pending,
		PendingBytes: s.pendBytes,
		DiskBytes:    s.diskBytes,
		Appended:     s.appended,
		Acked:        s.acked,
		Dropped:      s.dropped,
		Corrupt:      s.corrupt,
		Segments:     len(s.segs),
		NextSeq:      s.next,
		AckSeq:       s.ack,
	}
}

// Close releases the files and the directory lock. Appended records are
// already durable; Close does not sync. Later calls return ErrClosed.
func (s *Spool) Close() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeReader()
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{s.w, s.dirf, s.lockf} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.w, s.wseg, s.dirf, s.lockf = nil, nil, nil, nil
	return errors.Join(errs...)
}
