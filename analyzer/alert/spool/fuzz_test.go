package spool

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// frames encodes records as a segment file's bytes.
func frames(recs ...string) []byte {
	var b []byte
	for _, r := range recs {
		b = appendHeader(b, []byte(r))
		b = append(b, r...)
	}
	return b
}

// fixCRCs rewrites the CRC of every frame whose length fits, so that the
// fuzzer explores lengths and layouts rather than fighting checksums.
func fixCRCs(b []byte) []byte {
	b = bytes.Clone(b)
	for off := 0; off+headerSize <= len(b); {
		l := int(binary.LittleEndian.Uint32(b[off:]))
		if l > MaxRecordBytes || off+headerSize+l > len(b) {
			break
		}
		binary.LittleEndian.PutUint32(b[off+4:], frameCRC(b[off:off+4], b[off+headerSize:off+headerSize+l]))
		off += headerSize + l
	}
	return b
}

// FuzzOpen writes fuzzed bytes as two segment files (the second named
// 1+gap, absent when gap is 0) and the ack file. Open must not fail or
// panic; Scan and Peek must agree on strictly increasing records past the
// ack; draining must empty the disk; Append, Peek and Ack must work; and a
// second Open must find nothing to repair.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("0\n"), frames("a", "bb", "ccc"), frames("d", "e"), uint8(3), false)
	f.Add([]byte("2\n"), frames("a", "bb", "ccc"), frames("d", "e"), uint8(2), false)
	f.Add([]byte("9\n"), frames("a", "", "ccc"), []byte{}, uint8(0), false)
	f.Add([]byte("x"), append(frames("a", "bb"), 0, 0, 0, 0, 0, 0, 0, 0), frames("z"), uint8(7), true)
	f.Add([]byte("1\n"), frames("a", "bb")[:11], frames("q"), uint8(200), false)
	f.Fuzz(func(t *testing.T, ack, seg1, seg2 []byte, gap uint8, fix bool) {
		if len(seg1)+len(seg2) > 64<<10 {
			return // bigger inputs find nothing more, slowly
		}
		if fix {
			seg1, seg2 = fixCRCs(seg1), fixCRCs(seg2)
		}
		dir := t.TempDir()
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("00000000000000000001.seg", seg1)
		if gap > 0 {
			write(filepath.Base(fmtSeg(1+uint64(gap))), seg2)
		}
		write("ack", ack)
		cfg := Config{Dir: dir, NoSync: true, MaxBytes: 64 << 10, SegmentBytes: 4 << 10}

		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		st := s.Stats()
		var scanned []Entry
		if err := s.Scan(func(e Entry) error { scanned = append(scanned, e); return nil }); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if uint64(len(scanned)) != st.Pending {
			t.Fatalf("Scan saw %d records, Pending %d", len(scanned), st.Pending)
		}
		var peeked []Entry
		for i := uint64(0); i <= st.Pending; i++ {
			// Small batches first (Ack by the fast path and not), then
			// the rest at once: an Ack per frame of a zero-filled file
			// would make the target slow.
			n, mb := 1+int(i%4), 100
			if i >= 40 {
				n, mb = 1<<20, 0
			}
			es, err := s.Peek(n, mb)
			if err != nil {
				t.Fatalf("Peek: %v", err)
			}
			if len(es) == 0 {
				break
			}
			peeked = append(peeked, es...)
			ack := es[len(es)-1].Seq
			if i%3 == 1 {
				ack = es[0].Seq // not where Peek stopped
				peeked = peeked[:len(peeked)-len(es)+1]
			}
			if err := s.Ack(ack); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
		if len(peeked) != len(scanned) {
			t.Fatalf("Peek drained %d records, Scan saw %d", len(peeked), len(scanned))
		}
		prev := st.AckSeq
		for i, e := range peeked {
			if e.Seq <= prev || e.Seq >= st.NextSeq || e.Seq != scanned[i].Seq || !bytes.Equal(e.Data, scanned[i].Data) {
				t.Fatalf("record %d: seq %d (previous %d, next %d), scan %d", i, e.Seq, prev, st.NextSeq, scanned[i].Seq)
			}
			prev = e.Seq
		}
		if st := s.Stats(); st.Pending != 0 || st.PendingBytes != 0 || st.DiskBytes != 0 {
			t.Fatalf("drained spool: %+v", st)
		}

		next := s.Stats().NextSeq
		recs := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte("3"), 300)}
		first, err := s.Append(recs...)
		if next+3 > maxSeq {
			// A forged ack file or name near the end of the numbers.
			if err != errExhausted {
				t.Fatalf("Append at %d: %v", next, err)
			}
			return
		}
		if err != nil || first != next {
			t.Fatalf("Append = %d, %v; want %d", first, err, next)
		}
		es, err := s.Peek(10, 0)
		if err != nil || len(es) != 3 {
			t.Fatalf("Peek after Append: %d, %v", len(es), err)
		}
		for i, e := range es {
			if e.Seq != first+uint64(i) || !bytes.Equal(e.Data, recs[i]) {
				t.Fatalf("appended record %d: %d %q", i, e.Seq, e.Data)
			}
		}
		if err := s.Ack(first + 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s, err = Open(cfg)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		if st := s.Stats(); st.Corrupt != 0 || st.Pending != 1 || st.NextSeq != first+3 || st.AckSeq != first+1 {
			t.Fatalf("reopen: %+v (first %d)", st, first)
		}
		if es, err := s.Peek(10, 0); err != nil || len(es) != 1 || es[0].Seq != first+2 || !bytes.Equal(es[0].Data, recs[2]) {
			t.Fatalf("reopen Peek: %+v, %v", es, err)
		}
	})
}

func fmtSeg(first uint64) string {
	return (&Spool{cfg: Config{Dir: "."}}).segPath(first)
}
