package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/testutil"
	"github.com/apitap/apitap/sensor/decode"
)

type frameSum struct {
	n     int
	bytes int
	first int64
	last  int64
}

func readAll(t *testing.T, path, filter string) (frameSum, Stats) {
	t.Helper()
	s, err := OpenFile(path, filter, 65535)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sum frameSum
	var f Frame
	for {
		err := s.Next(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sum.n == 0 {
			sum.first = f.TS
		}
		sum.n++
		sum.bytes += len(f.Data)
		sum.last = f.TS
		if f.WireLen < len(f.Data) || f.Link != decode.LinkEthernet {
			t.Fatalf("frame %d: wire %d < captured %d or link %d", sum.n, f.WireLen, len(f.Data), f.Link)
		}
	}
	return sum, s.Stats()
}

// rewrite converts a little-endian microsecond pcap into another variant.
func rewrite(data []byte, order binary.ByteOrder, nanos bool) []byte {
	le := binary.LittleEndian
	out := make([]byte, 0, len(data))
	hdr := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], le.Uint16(data[4:]))
	order.PutUint16(hdr[6:], le.Uint16(data[6:]))
	order.PutUint32(hdr[16:], le.Uint32(data[16:]))
	order.PutUint32(hdr[20:], le.Uint32(data[20:]))
	out = append(out, hdr...)
	for off := 24; off+16 <= len(data); {
		rec := make([]byte, 16)
		frac := le.Uint32(data[off+4:])
		if nanos {
			frac *= 1000
		}
		order.PutUint32(rec[0:], le.Uint32(data[off:]))
		order.PutUint32(rec[4:], frac)
		order.PutUint32(rec[8:], le.Uint32(data[off+8:]))
		order.PutUint32(rec[12:], le.Uint32(data[off+12:]))
		n := int(le.Uint32(data[off+8:]))
		out = append(append(out, rec...), data[off+16:off+16+n]...)
		off += 16 + n
	}
	return out
}

func TestPcapVariantsReadAlike(t *testing.T) {
	var buf bytes.Buffer
	res, err := pcapgen.Write(&buf, pcapgen.Options{Exchanges: 50, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"le-us.pcap": buf.Bytes(),
		"le-ns.pcap": rewrite(buf.Bytes(), binary.LittleEndian, true),
		"be-us.pcap": rewrite(buf.Bytes(), binary.BigEndian, false),
		"be-ns.pcap": rewrite(buf.Bytes(), binary.BigEndian, true),
	}
	var want frameSum
	for _, name := range []string{"le-us.pcap", "le-ns.pcap", "be-us.pcap", "be-ns.pcap"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, files[name], 0o644)
		got, st := readAll(t, p, "")
		if got.n != res.Packets || st.Received != uint64(res.Packets) || st.TruncatedFile {
			t.Fatalf("%s: %d frames (stats %+v), want %d", name, got.n, st, res.Packets)
		}
		if name == "le-us.pcap" {
			want = got
		} else if got != want {
			t.Fatalf("%s reads differently: %+v vs %+v", name, got, want)
		}
	}
	// A filter in file mode runs in user space and counts what it rejects.
	got, st := readAll(t, filepath.Join(dir, "be-ns.pcap"), "tcp[tcpflags] & tcp-syn != 0")
	if got.n != 2*3 || st.Filtered != uint64(res.Packets-6) {
		t.Fatalf("SYN filter: %d frames, %d filtered", got.n, st.Filtered)
	}
	// Cut inside a record: everything before it, then EOF, flagged.
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, buf.Bytes()[:buf.Len()/2], 0o644)
	got, st = readAll(t, cut, "")
	if !st.TruncatedFile || got.n == 0 || got.n >= res.Packets {
		t.Fatalf("truncated file: %d frames, stats %+v", got.n, st)
	}
}

func TestPcapngFromCorpus(t *testing.T) {
	corpus := testutil.Corpus(t)
	got, st := readAll(t, filepath.Join(corpus, "pcap", "zeek", "cooper-grill-dvwa.pcapng"), "")
	// 64 packets according to SOURCES.md (tshark).
	if got.n != 64 || st.TruncatedFile {
		t.Fatalf("pcapng: %d frames, stats %+v", got.n, st)
	}
}

func TestNotCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty": nil,
		"short": {0xd4, 0xc3},
		"text":  []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := OpenFile(p, "", 65535); err == nil {
			t.Errorf("%s: opened as a capture", name)
		}
	}
	if _, err := OpenFile(filepath.Join(dir, "missing.pcap"), "", 65535); err == nil {
		t.Error("missing file opened")
	}
}
