package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
)

// FuzzDecode feeds arbitrary bytes as a frame of an arbitrary link type.
// Seeds (testdata/fuzz/FuzzDecode) are real frames of the corpus captures,
// written by TestWriteFuzzSeeds.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{}, uint16(LinkEthernet))
	raw4 := ser(f, in4()...)
	f.Add(join(radiotapHdr(0x10), dot11Frame(0x88, 0x83, 0, 0, join(snap(0x0800), raw4)), make([]byte, 4)), uint16(LinkRadiotap))
	f.Add(dot11Frame(0x08, 0x01, 0, 0, join(snap(0x0800), raw4)), uint16(LinkIEEE80211))
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		cfg := DefaultConfig()
		cfg.FragMaxDatagrams = 4
		cfg.FragMaxBytes = 70000
		d := NewDecoder(cfg)
		var p Packet
		// Twice, so a fragment meets its own copy (overlap path), then
		// once with every byte but the last (a snaplen cut).
		for i, fr := range [][]byte{data, data, data[:max(len(data)-1, 0)]} {
			before := d.stats.FragDatagrams
			frame := append([]byte(nil), fr...) // exact capacity: reading past it panics
			r := d.Decode(frame, LinkType(link), int64(i), &p)
			if r > ResultUnsupported {
				t.Fatalf("result %d", r)
			}
			if r == ResultTCP {
				if p.Missing < 0 || cap(p.Payload) != len(p.Payload) {
					t.Fatalf("missing %d, payload len %d cap %d", p.Missing, len(p.Payload), cap(p.Payload))
				}
				if d.stats.FragDatagrams == before && !aliases(p.Payload, frame) {
					t.Fatal("payload outside the frame")
				}
			}
			s := d.Stats()
			checkSums(t, &s)
			checkDefrag(t, &d.frag)
		}
	})
}

// checkDefrag asserts the defragmenter's bounds and bookkeeping.
func checkDefrag(t testing.TB, f *defrag) {
	t.Helper()
	if f.n > f.maxN || f.bytes > f.maxBytes || f.n != len(f.index) {
		t.Fatalf("defrag over its bounds: n %d/%d index %d bytes %d/%d", f.n, f.maxN, len(f.index), f.bytes, f.maxBytes)
	}
	if f.total > f.maxN+len(f.pinned) || f.total != f.n+len(f.free)+f.npinned {
		t.Fatalf("entries: total %d live %d free %d pinned %d", f.total, f.n, len(f.free), f.npinned)
	}
	n, held := 0, 0
	var last int64 = -1 << 62
	for e := f.head; e != nil; e = e.next {
		n++
		if e.first < last || !e.live || f.index[e.key] != e {
			t.Fatal("age list out of order or not indexed")
		}
		last = e.first
		ones := 0
		for _, w := range e.have[:min((len(e.buf)+511)/512, blockWords)] {
			ones += bits.OnesCount64(w)
		}
		if ones != e.nhave || len(e.buf) > cap(e.buf) || cap(e.buf) > f.maxDatagram {
			t.Fatalf("entry: nhave %d bits %d buf %d/%d", e.nhave, ones, len(e.buf), cap(e.buf))
		}
	}
	for _, e := range f.free {
		held += cap(e.buf)
	}
	for e := f.head; e != nil; e = e.next {
		held += cap(e.buf)
	}
	for _, e := range f.pinned[:f.npinned] {
		held += cap(e.buf)
	}
	if n != f.n || held != f.bytes {
		t.Fatalf("list %d live %d; buffers %d counted %d", n, f.n, held, f.bytes)
	}
}

// A FuzzDefrag input is a sequence of 6-byte fragment records:
//
//	byte 0: bits 0-1 datagram (0, 1: IPv4 ids; 2: IPv6; 3: IPv4 id 0 in VLAN 7),
//	        bit 2 more fragments, bits 3-7 seconds since the previous record
//	bytes 1-2: offset in 8-byte units (10 bits)
//	bytes 3-4: length in bytes (10 bits)
//
// Datagrams stay under 9 KB so an input runs in microseconds; the model
// instance's 8000-byte datagram limit is still within reach.
//
//	byte 5: protocol
type fragRec struct {
	key   int
	more  bool
	dt    int64
	off   int
	n     int
	proto uint8
}

func parseFragRecs(data []byte) []fragRec {
	var out []fragRec
	for ; len(data) >= 6; data = data[6:] {
		out = append(out, fragRec{
			key: int(data[0] & 3), more: data[0]&4 != 0, dt: int64(data[0]>>3) * int64(time.Second),
			off: int(binary.BigEndian.Uint16(data[1:])&0x3ff) * 8, n: int(binary.BigEndian.Uint16(data[3:]) & 0x3ff), proto: data[5]})
	}
	return out
}

func fuzzKeys() [4]fragKey {
	return [4]fragKey{
		{src: addr(cli4), dst: addr(srv4), id: 1},
		{src: addr(cli4), dst: addr(srv4), id: 2},
		{src: addr(cli6), dst: addr(srv6), id: 1, v6: true},
		{src: addr(cli4), dst: addr(srv4), id: 0, outer: flow.Outer{VLAN: 7}},
	}
}

// modelDatagram is the reference reassembler: bytes by offset, first wins.
type modelDatagram struct {
	data   []byte
	set    []bool
	nset   int
	maxEnd int
	total  int
	proto  uint8
}

// FuzzDefrag checks the defragmenter against a byte-by-byte model (with
// limits too large to bind) and, on a second instance with tiny limits,
// checks that the bounds and the bookkeeping hold whatever arrives.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 16, 6, 0, 0, 2, 0, 8, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := parseFragRecs(data)
		if len(recs) > 100 {
			recs = recs[:100]
		}
		keys := fuzzKeys()
		var stats, tstats Stats
		big := Config{FragMaxDatagrams: 64, FragMaxBytes: 1 << 24, FragTimeout: time.Duration(1 << 62), FragMaxDatagram: 8000}
		tight := Config{FragMaxDatagrams: 2, FragMaxBytes: 4096, FragTimeout: 5 * time.Second, FragMaxDatagram: 2000}
		var model, small defrag
		model.init(&big, &stats)
		small.init(&tight, &tstats)
		dgs := map[int]*modelDatagram{}
		var ts int64
		scratch := make([]byte, 1024)
		for i, r := range recs {
			ts += r.dt
			model.tick(ts)
			small.tick(ts)
			chunk := scratch[:r.n]
			for j := range chunk {
				chunk[j] = byte(i*37 + j*11 + 1)
			}
			hl := 20
			k := keys[r.key]
			if k.v6 {
				hl = 40
			} else {
				k.proto = r.proto
			}
			out, proto, res := model.add(&k, r.off, r.more, r.proto, chunk, hl)
			want, wantProto, wantRes := modelAdd(dgs, r, chunk, hl, big.FragMaxDatagram)
			if res != wantRes || !bytes.Equal(out, want) || res == ResultTCP && proto != wantProto {
				t.Fatalf("record %d %+v: got %v %d bytes proto %d, model %v %d bytes proto %d", i, r, res, len(out), proto, wantRes, len(want), wantProto)
			}
			checkDefrag(t, &model)
			small.add(&k, r.off, r.more, r.proto, chunk, hl)
			checkDefrag(t, &small)
		}
	})
}

// modelAdd applies one fragment to the model: the policy of defrag.add,
// written the slow and obvious way.
func modelAdd(dgs map[int]*modelDatagram, r fragRec, chunk []byte, hl, maxDatagram int) ([]byte, uint8, Result) {
	id := r.key<<8 | int(r.proto)
	if r.key == 2 {
		id = r.key << 8 // IPv6: the protocol is not part of the key
	}
	end := r.off + len(chunk)
	dg := dgs[id]
	if r.more && (len(chunk) == 0 || len(chunk)%8 != 0) || end > maxDatagram-hl {
		if end > maxDatagram-hl {
			delete(dgs, id)
		}
		return nil, 0, ResultMalformed
	}
	if dg != nil && (!r.more && (dg.total >= 0 && dg.total != end || dg.maxEnd > end) || r.more && dg.total >= 0 && end > dg.total) {
		delete(dgs, id)
		return nil, 0, ResultMalformed
	}
	if dg == nil {
		dg = &modelDatagram{total: -1}
		dgs[id] = dg
	}
	if !r.more {
		dg.total = end
	}
	if r.off == 0 {
		dg.proto = r.proto
	}
	if n := end - len(dg.data); n > 0 {
		dg.data = append(dg.data, make([]byte, n)...)
		dg.set = append(dg.set, make([]bool, n)...)
	}
	for j, c := range chunk {
		if !dg.set[r.off+j] {
			dg.set[r.off+j] = true
			dg.data[r.off+j] = c
			dg.nset++
		}
	}
	dg.maxEnd = max(dg.maxEnd, end)
	if dg.total < 0 || dg.nset != dg.total {
		return nil, 0, ResultFragment
	}
	delete(dgs, id)
	return dg.data[:dg.total], dg.proto, ResultTCP
}

// TestWriteFuzzSeeds regenerates the committed seed corpora from the
// corpus captures. Run with APITAP_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("APITAP_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set APITAP_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(dir, name string, args ...string) {
		body := "go test fuzz v1\n"
		for _, a := range args {
			body += a + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	quote := func(b []byte) string { return "[]byte(" + strconv.QuoteToASCII(string(b)) + ")" }
	n := 0
	// Up to four frames per capture, one per distinct result and Outer,
	// cut to 600 bytes: small seeds fuzz faster, and a cut frame is a
	// snaplen case worth having.
	for _, file := range []string{
		"zeek/http-vlan-0.pcap", "zeek/http-qinq-0.pcap", "zeek/vlan-qinqinq.pcap", "zeek/mpls-in-vlan.pcap",
		"zeek/mixed-vlan-mpls.pcap", "zeek/tunnels_vxlan-encapsulated-http.pcap", "zeek/tunnels_geneve-many-options.pcap",
		"zeek/tunnels_gre-over-udp-4754.pcap", "zeek/erspan.pcap", "suricata-verify/bug-5437-02__input.pcap",
		"suricata-verify/bug-6402-01__input.pcap", "suricata-verify/vxlan-non-zero-reserved-fields__input.pcap",
		"suricata-verify/bug-2576-02__temp1.pcap", "suricata-verify/bug-4810__pppoe-session-http.pcap",
		"arkime/gre-erspan-vxlan.pcap", "arkime/arkime_synthetic.pcap", "arkime/twovlan.pcap",
		"pcapplusplus/frag_http_req.pcap", "pcapplusplus/four_ipv6_http_streams.pcap", "ndpi/log4j-webapp-exploit.pcap",
		"gopacket/test_loopback.pcap", "zeek/nflog-http.pcap", "zeek/tunnels_Teredo.pcap", "arkime/v6-http.pcap",
	} {
		d := NewDecoder(DefaultConfig())
		var p Packet
		seen := map[string]bool{}
		for _, f := range readCapture(t, corpusPath(t, file)) {
			r := d.Decode(f.data, f.link, f.ts, &p)
			sig := fmt.Sprint(r, p.Outer, p.IPv6)
			if seen[sig] || len(seen) >= 4 && file != "arkime/arkime_synthetic.pcap" || len(seen) >= 12 {
				continue
			}
			seen[sig] = true
			data := f.data
			if len(data) > 600 {
				data = data[:600]
			}
			n++
			write(dir, fmt.Sprintf("%03d-%s", n, filepath.Base(file)), quote(data), fmt.Sprintf("uint16(%d)", f.link))
		}
	}
	// Hand-built frames for what the corpus lacks.
	for _, tc := range truncFramesSynthetic(t) {
		n++
		write(dir, fmt.Sprintf("%03d-%s", n, tc.name), quote(tc.f.data), fmt.Sprintf("uint16(%d)", tc.f.link))
	}

	// FuzzDefrag: the fragment sequences of two captures, as records.
	ddir := filepath.Join("testdata", "fuzz", "FuzzDefrag")
	os.RemoveAll(ddir)
	if err := os.MkdirAll(ddir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"pcapplusplus/frag_http_req.pcap", "zeek/erspan.pcap"} {
		var recs []byte
		for _, f := range readCapture(t, corpusPath(t, file)) {
			ip := f.data[14:]
			if len(ip) < 20 || ip[0]>>4 != 4 || binary.BigEndian.Uint16(ip[6:])&0x3fff == 0 {
				continue
			}
			ff := binary.BigEndian.Uint16(ip[6:])
			tot := int(binary.BigEndian.Uint16(ip[2:]))
			hl := int(ip[0]&15) * 4
			var b0 byte
			if ff&0x2000 != 0 {
				b0 |= 4
			}
			b0 |= byte(binary.BigEndian.Uint16(ip[4:]) & 1)
			recs = append(recs, b0)
			recs = binary.BigEndian.AppendUint16(recs, ff&0x1fff)
			recs = binary.BigEndian.AppendUint16(recs, uint16(tot-hl))
			recs = append(recs, ip[9])
			if len(recs) >= 6*40 {
				break
			}
		}
		write(ddir, filepath.Base(file), quote(recs))
	}
	// Overlaps, duplicates, inconsistent ends, IPv6, and a timeout.
	write(ddir, "overlap", quote([]byte{4, 0, 0, 0, 40, 6, 4, 0, 3, 0, 32, 6, 0, 0, 6, 0, 16, 6}))
	write(ddir, "inconsistent", quote([]byte{4, 0, 0, 0, 16, 6, 0, 0, 1, 0, 4, 6, 0, 0, 4, 0, 8, 6, 4, 0, 5, 0, 8, 6}))
	write(ddir, "ipv6-and-vlan", quote([]byte{6, 0, 0, 0, 24, 17, 2, 0, 3, 0, 5, 17, 7, 0, 0, 0, 8, 6, 3, 0, 1, 0, 8, 6}))
	write(ddir, "timeout", quote([]byte{4, 0, 0, 0, 8, 6, 0xf8, 0, 1, 0, 8, 6, 4, 0, 0, 0, 8, 6}))
	t.Logf("%d FuzzDecode seeds", n)
}

type namedFrame struct {
	name string
	f    frame
}

// truncFramesSynthetic are the hand-built frames of truncFrames, in a
// stable order.
func truncFramesSynthetic(t *testing.T) []namedFrame {
	all := truncFrames(t)
	var out []namedFrame
	for _, name := range []string{"sll2", "erspan III", "ipv6 ext"} {
		out = append(out, namedFrame{name: strings.ReplaceAll(name, " ", "-"), f: all[name]})
	}
	return out
}
