package spool

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// payload is the record for seq: its length and bytes derive from seq, so
// a check can tell a right record from a shifted, stale or garbage one.
func payload(seq uint64, maxLen int) []byte {
	h := fnv.New64a()
	fmt.Fprint(h, seq)
	sum := h.Sum64()
	n := int(sum % uint64(maxLen+1))
	b := fmt.Appendf(nil, "seq=%d;", seq)
	for i := 0; len(b) < n; i++ {
		b = append(b, byte(sum>>(i%8*8))+byte(i))
	}
	return b
}

func openT(t testing.TB, dir string, mut func(*Config)) *Spool {
	t.Helper()
	cfg := Config{Dir: dir, NoSync: true}
	if mut != nil {
		mut(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// appendSeqs appends the payloads of the next n sequence numbers in
// batches of batch and checks the numbers Append returns.
func appendSeqs(t testing.TB, s *Spool, n, batch, maxLen int) {
	t.Helper()
	for n > 0 {
		k := min(batch, n)
		next := s.Stats().NextSeq
		recs := make([][]byte, k)
		for i := range recs {
			recs[i] = payload(next+uint64(i), maxLen)
		}
		first, err := s.Append(recs...)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if first != next {
			t.Fatalf("Append returned %d, want %d", first, next)
		}
		n -= k
	}
}

// peekAll reads every pending record with Peek without acknowledging.
func peekAll(t testing.TB, s *Spool) []Entry {
	t.Helper()
	es, err := s.Peek(1<<30, 0)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return es
}

// checkRun checks that es are the records from..to, payloads included.
func checkRun(t testing.TB, es []Entry, from, to uint64, maxLen int) {
	t.Helper()
	if want := int(to - from + 1); from > to && len(es) != 0 || from <= to && len(es) != want {
		t.Fatalf("got %d records, want %d..%d", len(es), from, to)
	}
	for i, e := range es {
		if e.Seq != from+uint64(i) {
			t.Fatalf("record %d has seq %d, want %d", i, e.Seq, from+uint64(i))
		}
		if !bytes.Equal(e.Data, payload(e.Seq, maxLen)) {
			t.Fatalf("record %d: wrong payload %q", e.Seq, e.Data)
		}
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestConfig(t *testing.T) {
	var c Config
	if c.Validate() == nil {
		t.Fatal("empty config validated")
	}
	c = Config{Dir: "x"}
	c.Defaults()
	if c.MaxBytes != DefaultMaxBytes || c.SegmentBytes != DefaultSegmentBytes {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c = Config{Dir: "x", MaxBytes: 1 << 20}
	c.Defaults()
	if c.SegmentBytes != 256<<10 {
		t.Fatalf("SegmentBytes %d for a 1 MiB spool, want a quarter", c.SegmentBytes)
	}
	for _, bad := range []Config{{Dir: "x", MaxBytes: -1, SegmentBytes: 1}, {Dir: "x", MaxBytes: 10, SegmentBytes: 11}, {Dir: "x", MaxBytes: 10, SegmentBytes: -1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatal("Open without Dir")
	}
}

func TestOrderAndDurabilityAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	const maxLen = 900
	s := openT(t, dir, func(c *Config) { c.NoSync = false; c.SegmentBytes = 8 << 10 })
	if es := peekAll(t, s); len(es) != 0 {
		t.Fatalf("new spool has %d records", len(es))
	}
	select {
	case <-s.Ready():
		t.Fatal("Ready signalled on an empty spool")
	default:
	}
	appendSeqs(t, s, 1, 1, maxLen)
	select {
	case <-s.Ready():
	default:
		t.Fatal("Ready not signalled after Append")
	}
	for _, batch := range []int{1, 7, 64, 3} {
		appendSeqs(t, s, 50, batch, maxLen)
	}
	if first, err := s.Append(); err != nil || first != 202 {
		t.Fatalf("empty Append = %d, %v", first, err)
	}
	st := s.Stats()
	if st.Pending != 201 || st.Appended != 201 || st.NextSeq != 202 || st.Segments < 2 || st.PendingBytes != st.DiskBytes {
		t.Fatalf("stats %+v", st)
	}
	checkRun(t, peekAll(t, s), 1, 201, maxLen)
	// Peek does not remove: the same records come back.
	checkRun(t, peekAll(t, s), 1, 201, maxLen)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, func(c *Config) { c.SegmentBytes = 8 << 10 })
	defer s.Close()
	select {
	case <-s.Ready():
	default:
		t.Fatal("Ready not signalled at Open with records pending")
	}
	st2 := s.Stats()
	if st2.Pending != 201 || st2.DiskBytes != st.DiskBytes || st2.Corrupt != 0 || st2.NextSeq != 202 || st2.Segments != st.Segments {
		t.Fatalf("stats after reopen %+v, before %+v", st2, st)
	}
	checkRun(t, peekAll(t, s), 1, 201, maxLen)
	appendSeqs(t, s, 10, 4, maxLen)
	checkRun(t, peekAll(t, s), 1, 211, maxLen)
}

func TestPeekLimitsAndAckAnywhere(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, func(c *Config) { c.SegmentBytes = 2 << 10 })
	defer s.Close()
	recs := [][]byte{[]byte("aaaa"), []byte(""), []byte("bbbbbbbbbb"), []byte("cc"), bytes.Repeat([]byte("d"), 5000), []byte("e")}
	if _, err := s.Append(recs...); err != nil {
		t.Fatal(err)
	}
	data := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, string(e.Data[:min(len(e.Data), 4)]))
		}
		return out
	}
	for _, c := range []struct {
		n, bytes int
		want     string
	}{
		{0, 0, ""},
		{2, 0, "aaaa,"},
		{10, 4, "aaaa,"},
		{10, 3, "aaaa"}, // at least one record
		{10, 16, "aaaa,,bbbb,cc"},
		{10, 0, "aaaa,,bbbb,cc,dddd,e"},
	} {
		es, err := s.Peek(c.n, c.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(data(es), ","); got != c.want {
			t.Errorf("Peek(%d, %d) = %q, want %q", c.n, c.bytes, got, c.want)
		}
	}
	// Acks that are not where the last Peek stopped: inside a batch.
	if _, err := s.Peek(10, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	es, _ := s.Peek(1, 0)
	if len(es) != 1 || es[0].Seq != 3 || string(es[0].Data) != "bbbbbbbbbb" {
		t.Fatalf("after Ack(2): %+v", es)
	}
	if err := s.Ack(1); err != nil { // behind: no-op
		t.Fatal(err)
	}
	if err := s.Ack(7); err == nil {
		t.Fatal("Ack past the last record accepted")
	}
	if err := s.Ack(5); err != nil {
		t.Fatal(err)
	}
	es, _ = s.Peek(10, 0)
	if len(es) != 1 || es[0].Seq != 6 || string(es[0].Data) != "e" {
		t.Fatalf("after Ack(5): %+v", es)
	}
	if st := s.Stats(); st.Pending != 1 || st.Acked != 5 || st.PendingBytes != 9 || st.AckSeq != 5 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Ack(6); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.Peek(10, 0); len(es) != 0 {
		t.Fatalf("records after acking all: %+v", es)
	}
}

func TestAckSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	const maxLen = 200
	s := openT(t, dir, func(c *Config) { c.NoSync = false })
	appendSeqs(t, s, 100, 10, maxLen)
	es, err := s.Peek(30, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, es, 1, 30, maxLen)
	if err := s.Ack(es[len(es)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ack")); string(b) != "30\n" {
		t.Fatalf("ack file %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "ack.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ack.tmp left behind: %v", err)
	}
	s.Close()

	s = openT(t, dir, nil)
	st := s.Stats()
	if st.Pending != 70 || st.AckSeq != 30 || st.NextSeq != 101 {
		t.Fatalf("stats after reopen %+v", st)
	}
	checkRun(t, peekAll(t, s), 31, 100, maxLen)
	var scanned []Entry
	if err := s.Scan(func(e Entry) error { scanned = append(scanned, e); return nil }); err != nil {
		t.Fatal(err)
	}
	checkRun(t, scanned, 31, 100, maxLen)
	if err := s.Ack(100); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openT(t, dir, nil)
	defer s.Close()
	if st := s.Stats(); st.Pending != 0 || st.NextSeq != 101 || st.DiskBytes != 0 || st.Segments != 0 {
		t.Fatalf("stats after acking all %+v", st)
	}
	if segs := segFiles(t, dir); len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
	}
	// Numbers go on after the acknowledged ones even with no segment left.
	appendSeqs(t, s, 5, 5, maxLen)
	checkRun(t, peekAll(t, s), 101, 105, maxLen)
	if segs := segFiles(t, dir); len(segs) != 1 || filepath.Base(segs[0]) != "00000000000000000101.seg" {
		t.Fatalf("segments %v", segs)
	}
}

func TestFullAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	const cap = 8 << 10
	s := openT(t, dir, func(c *Config) { c.MaxBytes = cap; c.SegmentBytes = 2 << 10 })
	rec := bytes.Repeat([]byte("r"), 292) // 300-byte frames
	var n uint64
	for {
		_, err := s.Append(rec, rec, rec)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += 3
	}
	st := s.Stats()
	if st.DiskBytes > cap || st.DiskBytes+900 <= cap || st.Dropped != 3 || st.Pending != n {
		t.Fatalf("at the cap: %+v", st)
	}
	// One record may still fit where three did not: all or nothing.
	room := (cap - st.DiskBytes) / 300
	if room > 0 {
		recs := make([][]byte, room+1)
		for i := range recs {
			recs[i] = rec
		}
		if _, err := s.Append(recs...); !errors.Is(err, ErrFull) {
			t.Fatalf("batch over the cap: %v", err)
		}
		if st2 := s.Stats(); st2.Pending != st.Pending || st2.DiskBytes != st.DiskBytes || st2.Dropped != st.Dropped+uint64(room)+1 {
			t.Fatalf("a refused batch changed the spool: %+v", st2)
		}
		if _, err := s.Append(recs[:room]...); err != nil {
			t.Fatalf("what fits was refused: %v", err)
		}
		n += uint64(room)
	}
	if fi := dirBytes(t, dir); fi != s.Stats().DiskBytes || fi > cap {
		t.Fatalf("files hold %d bytes, stats %d, cap %d", fi, s.Stats().DiskBytes, cap)
	}
	// Acking the first segment's records brings space back (a segment
	// holds two batches: 1800 bytes).
	full := s.Stats()
	es, _ := s.Peek(10, 0)
	if err := s.Ack(es[len(es)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.DiskBytes != full.DiskBytes-1800 || st.PendingBytes != st.DiskBytes-1200 {
		t.Fatalf("no space back after Ack: %+v, full %+v", st, full)
	}
	if _, err := s.Append(rec, rec, rec); err != nil {
		t.Fatalf("Append after Ack: %v", err)
	}
	s.Close()
	s = openT(t, dir, func(c *Config) { c.MaxBytes = cap; c.SegmentBytes = 2 << 10 })
	defer s.Close()
	if st := s.Stats(); st.Pending != n+3-uint64(len(es)) || st.NextSeq != n+4 {
		t.Fatalf("refused records reappeared or accepted ones vanished: %+v (n %d)", st, n)
	}
}

func dirBytes(t testing.TB, dir string) int64 {
	var n int64
	for _, p := range segFiles(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestTooLarge(t *testing.T) {
	s := openT(t, t.TempDir(), func(c *Config) { c.MaxBytes = 1 << 20 })
	defer s.Close()
	if _, err := s.Append([]byte("ok"), make([]byte, 1<<20)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("record over MaxBytes: %v", err)
	}
	s2 := openT(t, t.TempDir(), func(c *Config) { c.MaxBytes = 64 << 20 })
	defer s2.Close()
	if _, err := s2.Append(make([]byte, MaxRecordBytes+1)); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("record over 16 MiB: %v", err)
	}
	if _, err := s2.Append(make([]byte, MaxRecordBytes)); err != nil {
		t.Fatalf("16 MiB record: %v", err)
	}
	if es, err := s2.Peek(5, 0); err != nil || len(es) != 1 || len(es[0].Data) != MaxRecordBytes {
		t.Fatalf("Peek of a 16 MiB record: %d, %v", len(es), err)
	}
	if st := s.Stats(); st.Pending != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSegmentRollAndDelete(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, func(c *Config) { c.SegmentBytes = 1000 })
	defer s.Close()
	rec := bytes.Repeat([]byte("x"), 92) // 100-byte frames: 10 per segment
	for i := 0; i < 35; i++ {
		if _, err := s.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"00000000000000000001.seg", "00000000000000000011.seg", "00000000000000000021.seg", "00000000000000000031.seg"}
	var got []string
	for _, p := range segFiles(t, dir) {
		got = append(got, filepath.Base(p))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	// A record larger than a segment gets its own.
	if first, err := s.Append(make([]byte, 3000)); err != nil || first != 36 {
		t.Fatal(first, err)
	}
	if _, err := s.Append(rec); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 6 || s.Stats().Segments != 6 {
		t.Fatalf("%d segments after a big record, want 6", n)
	}
	if err := s.Ack(15); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 5 {
		t.Fatalf("%d segments after Ack(15), want 5", n)
	}
	if st := s.Stats(); st.Pending != 22 || st.DiskBytes != 2500+3008+100 || st.PendingBytes != st.DiskBytes-500 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Ack(36); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments after Ack(36), want 1", n)
	}
	// Acking everything deletes the segment being appended to as well.
	if err := s.Ack(37); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); len(segFiles(t, dir)) != 0 || st.DiskBytes != 0 || st.Pending != 0 || st.PendingBytes != 0 || st.Segments != 0 {
		t.Fatalf("after acking all: %v %+v", segFiles(t, dir), st)
	}
	if first, err := s.Append(rec); err != nil || first != 38 {
		t.Fatal(first, err)
	}
	if es, _ := s.Peek(5, 0); len(es) != 1 || es[0].Seq != 38 {
		t.Fatalf("%+v", es)
	}
}

// lastSeg returns the path of the newest segment file.
func lastSeg(t testing.TB, dir string) string {
	segs := segFiles(t, dir)
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return segs[len(segs)-1]
}

func TestTornTailRepaired(t *testing.T) {
	const maxLen = 300
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, path string)
		last   uint64 // last good record after the damage
	}{
		{"cut mid-payload", func(t *testing.T, p string) { truncateBy(t, p, 5) }, 19},
		{"cut mid-header", func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			truncateBy(t, p, fi.Size()-lastFrameStart(t, p)-3)
		}, 19},
		{"garbage appended", func(t *testing.T, p string) { appendBytes(t, p, []byte("\x05\x00\x00\x00garbagegarbage")) }, 20},
		{"zeros appended", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 4096)) }, 20},
		{"short garbage", func(t *testing.T, p string) { appendBytes(t, p, []byte{1, 2, 3}) }, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, func(c *Config) { c.SegmentBytes = 4 << 10 })
			appendSeqs(t, s, 20, 3, maxLen)
			s.Close()
			c.damage(t, lastSeg(t, dir))

			s = openT(t, dir, func(c *Config) { c.SegmentBytes = 4 << 10 })
			st := s.Stats()
			if st.Corrupt != 1 || st.NextSeq != c.last+1 || st.Pending != c.last {
				t.Fatalf("after repair: %+v", st)
			}
			checkRun(t, peekAll(t, s), 1, c.last, maxLen)
			appendSeqs(t, s, 10, 4, maxLen)
			checkRun(t, peekAll(t, s), 1, c.last+10, maxLen)
			s.Close()

			s = openT(t, dir, nil)
			defer s.Close()
			if st := s.Stats(); st.Corrupt != 0 || st.Pending != c.last+10 {
				t.Fatalf("second open: %+v", st)
			}
			checkRun(t, peekAll(t, s), 1, c.last+10, maxLen)
		})
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// frameStarts returns the offsets of the frames of a valid segment file.
func frameStarts(t *testing.T, path string) []int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := 0; off+headerSize <= len(b); {
		offs = append(offs, int64(off))
		off += headerSize + int(uint32(b[off])|uint32(b[off+1])<<8|uint32(b[off+2])<<16|uint32(b[off+3])<<24)
	}
	return offs
}

func lastFrameStart(t *testing.T, path string) int64 {
	offs := frameStarts(t, path)
	return offs[len(offs)-1]
}

func TestCorruptRecordInOlderSegment(t *testing.T) {
	const maxLen = 300
	dir := t.TempDir()
	cfg := func(c *Config) { c.SegmentBytes = 2 << 10 }
	s := openT(t, dir, cfg)
	appendSeqs(t, s, 60, 1, maxLen)
	s.Close()
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want 3 segments or more, got %d", len(segs))
	}
	// Flip a payload byte of the third record of the second segment.
	var second uint64
	fmt.Sscanf(filepath.Base(segs[1]), "%d.seg", &second)
	offs := frameStarts(t, segs[1])
	b, _ := os.ReadFile(segs[1])
	b[offs[2]+headerSize+1] ^= 0x40
	if err := os.WriteFile(segs[1], b, 0o600); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, cfg)
	st := s.Stats()
	lost := uint64(len(offs) - 2)
	if st.Corrupt != 1 || st.Pending != 60-lost || st.NextSeq != 61 {
		t.Fatalf("stats %+v (lost %d)", st, lost)
	}
	es := peekAll(t, s)
	checkRun(t, es[:second+1], 1, second+1, maxLen)
	checkRun(t, es[second+1:], second+2+lost, 60, maxLen)
	// Acking across the gap works and counts only real records.
	if err := s.Ack(second + 5); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Acked != second+1 || st.Pending != 60-lost-second-1 {
		t.Fatalf("after Ack across the gap: %+v", st)
	}
	checkRun(t, peekAll(t, s), second+2+lost, 60, maxLen)
	s.Close()
	s = openT(t, dir, cfg)
	defer s.Close()
	if st := s.Stats(); st.Corrupt != 0 {
		t.Fatalf("second open: %+v", st)
	}
	checkRun(t, peekAll(t, s), second+2+lost, 60, maxLen)
}

func TestAckFileMissingOrGarbage(t *testing.T) {
	const maxLen = 100
	for _, c := range []struct {
		name    string
		content *string
		corrupt uint64
	}{
		{"missing", nil, 0},
		{"garbage", ptr("12x\n"), 1},
		{"no newline", ptr("12"), 1},
		{"empty", ptr(""), 1},
		{"huge", ptr("99999999999999999999\n"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, nil)
			appendSeqs(t, s, 20, 5, maxLen)
			if err := s.Ack(12); err != nil {
				t.Fatal(err)
			}
			s.Close()
			p := filepath.Join(dir, "ack")
			if c.content == nil {
				os.Remove(p)
			} else {
				os.WriteFile(p, []byte(*c.content), 0o600)
			}
			s = openT(t, dir, nil)
			defer s.Close()
			// Everything still on disk is pending again: at-least-once.
			st := s.Stats()
			if st.Corrupt != c.corrupt || st.AckSeq != 0 || st.NextSeq != 21 || st.Pending != 20 {
				t.Fatalf("stats %+v", st)
			}
			checkRun(t, peekAll(t, s), 1, 20, maxLen)
			if err := s.Ack(20); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestENOSPCLeavesSpoolConsistent(t *testing.T) {
	const maxLen = 400
	for _, roll := range []bool{false, true} {
		t.Run(fmt.Sprint("roll=", roll), func(t *testing.T) {
			dir := t.TempDir()
			cfg := func(c *Config) { c.SegmentBytes = 8 << 10 }
			s := openT(t, dir, cfg)
			appendSeqs(t, s, 5, 5, maxLen)
			before := s.Stats()
			sizeBefore := dirBytes(t, dir)
			n := 6
			if roll {
				n = 100 // more than the segment's room: a new segment
			}
			recs := make([][]byte, n)
			for i := range recs {
				recs[i] = payload(6+uint64(i), maxLen)
			}
			// The disk fills in the middle of the batch.
			s.writeAt = func(f *os.File, p []byte, off int64) (int, error) {
				k, _ := f.WriteAt(p[:len(p)/2], off)
				return k, syscall.ENOSPC
			}
			if _, err := s.Append(recs...); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Append on a full disk: %v", err)
			}
			if st := s.Stats(); st != before {
				t.Fatalf("failed Append changed stats: %+v, before %+v", st, before)
			}
			if got := dirBytes(t, dir); got != sizeBefore || len(segFiles(t, dir)) != 1 {
				t.Fatalf("partial write not cut back: %d bytes in %v, want %d", got, segFiles(t, dir), sizeBefore)
			}
			checkRun(t, peekAll(t, s), 1, 5, maxLen)
			s.writeAt = (*os.File).WriteAt
			if first, err := s.Append(recs...); err != nil || first != 6 {
				t.Fatalf("Append after the disk has room: %d, %v", first, err)
			}
			checkRun(t, peekAll(t, s), 1, 5+uint64(n), maxLen)
			if want := map[bool]int{false: 1, true: 2}[roll]; len(segFiles(t, dir)) != want {
				t.Fatalf("%d segments, want %d", len(segFiles(t, dir)), want)
			}
			s.Close()
			s = openT(t, dir, cfg)
			defer s.Close()
			if st := s.Stats(); st.Corrupt != 0 || st.Pending != 5+uint64(n) {
				t.Fatalf("reopen: %+v", st)
			}
			checkRun(t, peekAll(t, s), 1, 5+uint64(n), maxLen)
		})
	}
}

func TestLockedAgainstSecondOpen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, nil)
	if _, err := Open(Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	s = openT(t, dir, nil)
	s.Close()
}

func TestScan(t *testing.T) {
	const maxLen = 500
	dir := t.TempDir()
	s := openT(t, dir, func(c *Config) { c.SegmentBytes = 1 << 10 })
	defer s.Close()
	appendSeqs(t, s, 50, 3, maxLen)
	if err := s.Ack(17); err != nil {
		t.Fatal(err)
	}
	var got []Entry
	stop := errors.New("stop")
	err := s.Scan(func(e Entry) error {
		got = append(got, e)
		if e.Seq == 30 {
			// fn may use the spool: acking what it has seen.
			if err := s.Ack(25); err != nil {
				return err
			}
		}
		if e.Seq == 40 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("Scan error %v, want fn's", err)
	}
	checkRun(t, got, 18, 40, maxLen)
	got = nil
	if err := s.Scan(func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	checkRun(t, got, 26, 50, maxLen)
}

// TestConcurrentAppendAndDeliver runs the analyzer side and the sender side
// at once, with a cap small enough to refuse appends, under -race: every
// accepted record arrives once, in order.
func TestConcurrentAppendAndDeliver(t *testing.T) {
	const maxLen = 600
	dir := t.TempDir()
	s := openT(t, dir, func(c *Config) { c.MaxBytes = 32 << 10; c.SegmentBytes = 4 << 10 })
	defer s.Close()
	const total = 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	var appendErr error
	wg.Add(1)
	go func() { // the analyzer
		defer wg.Done()
		defer close(done)
		for sent := 0; sent < total; {
			k := min(1+sent%13, total-sent)
			recs := make([][]byte, k)
			for i := range recs {
				recs[i] = payload(uint64(sent+i+1), maxLen)
			}
			first, err := s.Append(recs...)
			if errors.Is(err, ErrFull) {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			if err != nil || first != uint64(sent+1) {
				appendErr = fmt.Errorf("Append = %d, %v; want %d", first, err, sent+1)
				return
			}
			sent += k
		}
	}()
	wg.Add(1)
	stop := make(chan struct{})
	go func() { // anyone reading gauges
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = s.Stats()
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	// Let the analyzer hit the cap before the sender starts.
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Dropped == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the appender never hit the cap")
		}
		time.Sleep(time.Millisecond)
	}
	var next uint64 = 1
	for next <= total {
		es, err := s.Peek(1+int(next%50), 2000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			select {
			case <-s.Ready():
			case <-done:
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		for _, e := range es {
			if e.Seq != next || !bytes.Equal(e.Data, payload(e.Seq, maxLen)) {
				t.Fatalf("got record %d (%d bytes), want %d", e.Seq, len(e.Data), next)
			}
			next++
		}
		// Sometimes acknowledge only part of what was peeked.
		ack := es[len(es)-1].Seq
		if next%3 == 0 && len(es) > 1 {
			ack = es[len(es)/2].Seq
			next = ack + 1
		}
		if err := s.Ack(ack); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if appendErr != nil {
		t.Fatal(appendErr)
	}
	st := s.Stats()
	if st.Pending != 0 || st.Appended != total || st.Acked != total || st.DiskBytes != 0 {
		t.Fatalf("final stats %+v", st)
	}
}
