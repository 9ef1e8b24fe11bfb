package encap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/apitap/apitap/internal/pcapgen"
)

type frame struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// input returns a generated capture (multi-segment messages, so there is
// something to reorder) and its frames.
func input(t *testing.T, o pcapgen.Options) ([]byte, []frame) {
	t.Helper()
	var b bytes.Buffer
	if _, err := pcapgen.Write(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), frames(t, b.Bytes())
}

func defaultInput(t *testing.T) ([]byte, []frame) {
	return input(t, pcapgen.Options{Exchanges: 300, Conns: 6, MSS: 256, GzipShare: 0.3})
}

func frames(t *testing.T, b []byte) []frame {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	var out []frame
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frame{ci, d})
	}
}

func rewrite(t *testing.T, in []byte, o Options) ([]byte, Stats) {
	t.Helper()
	var out bytes.Buffer
	st, err := Rewrite(bytes.NewReader(in), &out, o)
	if err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	if st.Written != len(frames(t, out.Bytes())) {
		t.Fatalf("Stats.Written %d, file has %d frames", st.Written, len(frames(t, out.Bytes())))
	}
	return out.Bytes(), st
}

// seg is the inner TCP segment of a frame, as gopacket decodes it.
type seg struct {
	src, dst   string
	sport      uint16
	dport      uint16
	seq        uint32
	flags      string
	payload    string
	hasPayload bool
}

func tcpOf(p gopacket.Packet) (seg, bool) {
	tl, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		return seg{}, false
	}
	var ip *layers.IPv4
	for _, l := range p.Layers() {
		if v, ok := l.(*layers.IPv4); ok {
			ip = v // the innermost IPv4 header
		}
	}
	if ip == nil {
		return seg{}, false
	}
	return seg{
		src: ip.SrcIP.String(), dst: ip.DstIP.String(), sport: uint16(tl.SrcPort), dport: uint16(tl.DstPort), seq: tl.Seq,
		flags:   fmt.Sprintf("%v%v%v%v", tl.SYN, tl.ACK, tl.FIN, tl.RST),
		payload: string(tl.Payload), hasPayload: len(tl.Payload) > 0,
	}, true
}

func decodeEther(data []byte) gopacket.Packet {
	return gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
}

// checkOuterIPv4 verifies every IPv4 header that is not the innermost one:
// a valid checksum and a total length matching the frame.
func checkOuterIPv4(t *testing.T, i int, p gopacket.Packet, orig int) {
	t.Helper()
	var ips []*layers.IPv4
	for _, l := range p.Layers() {
		if v, ok := l.(*layers.IPv4); ok {
			ips = append(ips, v)
		}
	}
	for k, ip := range ips[:len(ips)-1] {
		if Checksum(ip.Contents) != 0 {
			t.Fatalf("frame %d: outer IPv4 header %d has a bad checksum", i, k)
		}
		if k == 0 && int(ip.Length) != orig-14 {
			t.Fatalf("frame %d: outer IPv4 length %d, frame %d", i, ip.Length, orig)
		}
	}
}

func TestEveryModeCarriesTheSameSegments(t *testing.T) {
	in, inFrames := defaultInput(t)
	var want []seg
	for i, f := range inFrames {
		s, ok := tcpOf(decodeEther(f.data))
		if !ok {
			t.Fatalf("input frame %d is not TCP", i)
		}
		want = append(want, s)
	}
	const id = 42
	for _, m := range Modes {
		t.Run(string(m), func(t *testing.T) {
			out, st := rewrite(t, in, Options{Mode: m, ID: id})
			of := frames(t, out)
			if st.Read != len(inFrames) || st.Written != len(inFrames) || st.Skipped != 0 || len(of) != len(inFrames) {
				t.Fatalf("stats %+v, %d frames out of %d", st, len(of), len(inFrames))
			}
			for i, f := range of {
				if !f.ci.Timestamp.Equal(inFrames[i].ci.Timestamp) {
					t.Fatalf("frame %d: timestamp changed", i)
				}
				if f.ci.Length != f.ci.CaptureLength {
					t.Fatalf("frame %d: caplen %d != len %d", i, f.ci.CaptureLength, f.ci.Length)
				}
				p := decodeEther(f.data)
				if m == ModeERSPAN3 {
					p = checkERSPAN3(t, i, p, id)
				} else {
					checkMode(t, i, m, p, id)
				}
				if el := p.ErrorLayer(); el != nil {
					t.Fatalf("frame %d: decode error: %v", i, el.Error())
				}
				checkOuterIPv4(t, i, p, f.ci.Length)
				got, ok := tcpOf(p)
				if !ok {
					t.Fatalf("frame %d: no inner TCP: %v", i, p)
				}
				if got != want[i] {
					t.Fatalf("frame %d: inner segment\n got %+v\nwant %+v", i, got, want[i])
				}
			}
		})
	}
}

func count[T gopacket.Layer](p gopacket.Packet) []T {
	var out []T
	for _, l := range p.Layers() {
		if v, ok := l.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func checkMode(t *testing.T, i int, m Mode, p gopacket.Packet, id uint32) {
	t.Helper()
	eth := count[*layers.Ethernet](p)
	ip4 := count[*layers.IPv4](p)
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("frame %d (%s): %s\n%v", i, m, fmt.Sprintf(format, a...), p)
	}
	wantEth, wantIP := 2, 2
	switch m {
	case ModeVLAN:
		q := count[*layers.Dot1Q](p)
		if len(q) != 1 || q[0].VLANIdentifier != uint16(id) || eth[0].EthernetType != layers.EthernetTypeDot1Q {
			fail("want one 802.1Q tag %d", id)
		}
		wantEth, wantIP = 1, 1
	case ModeQinQ:
		q := count[*layers.Dot1Q](p)
		if len(q) != 2 || eth[0].EthernetType != layers.EthernetTypeQinQ || q[0].VLANIdentifier != uint16(id) ||
			q[0].Type != layers.EthernetTypeDot1Q || q[1].VLANIdentifier != uint16(id+1) {
			fail("want 802.1ad %d then 802.1Q %d", id, id+1)
		}
		wantEth, wantIP = 1, 1
	case ModeMPLS:
		l := count[*layers.MPLS](p)
		if len(l) != 2 || l[0].Label != id || l[0].StackBottom || l[1].Label != id+1 || !l[1].StackBottom || l[0].TTL != 64 {
			fail("want MPLS labels %d, %d (bottom)", id, id+1)
		}
		wantEth, wantIP = 1, 1
	case ModeVXLAN:
		u := count[*layers.UDP](p)
		v := count[*layers.VXLAN](p)
		if len(u) != 1 || u[0].DstPort != PortVXLAN || u[0].SrcPort < 49152 || len(v) != 1 || !v[0].ValidIDFlag || v[0].VNI != id ||
			int(u[0].Length) != len(u[0].Contents)+len(u[0].Payload) {
			fail("want UDP 4789 / VXLAN VNI %d", id)
		}
	case ModeGENEVE:
		u := count[*layers.UDP](p)
		g := count[*layers.Geneve](p)
		if len(u) != 1 || u[0].DstPort != PortGENEVE || len(g) != 1 || g[0].VNI != id ||
			g[0].Protocol != layers.EthernetTypeTransparentEthernetBridging || len(g[0].Options) != 1 ||
			g[0].Options[0].Class != 0xFF01 || g[0].Options[0].Type != 1 || len(g[0].Options[0].Data) != 4 {
			fail("want UDP 6081 / GENEVE VNI %d with one option", id)
		}
	case ModeGRE, ModeL2GRE, ModeERSPAN2:
		g := count[*layers.GRE](p)
		if len(g) != 1 {
			fail("want one GRE header")
		}
		gr := g[0]
		switch m {
		case ModeGRE:
			if gr.Protocol != layers.EthernetTypeIPv4 || gr.KeyPresent || gr.SeqPresent {
				fail("want GRE protocol IPv4, no key")
			}
			wantEth = 1
		case ModeL2GRE:
			if gr.Protocol != layers.EthernetTypeTransparentEthernetBridging || !gr.KeyPresent || gr.Key != id {
				fail("want GRE 0x6558 key %d", id)
			}
		case ModeERSPAN2:
			e := count[*layers.ERSPANII](p)
			if gr.Protocol != layers.EthernetTypeERSPAN || !gr.SeqPresent || gr.KeyPresent || len(e) != 1 ||
				e[0].Version != ERSPANIIVersion || e[0].SessionID != uint16(id) {
				fail("want GRE seq 0x88BE / ERSPAN II session %d", id)
			}
		}
	case ModeIPIP:
		if ip4[0].Protocol != layers.IPProtocolIPv4 {
			fail("want outer IPv4 protocol 4")
		}
		wantEth = 1
	}
	if len(eth) != wantEth || len(ip4) != wantIP {
		fail("%d Ethernet and %d IPv4 headers, want %d and %d", len(eth), len(ip4), wantEth, wantIP)
	}
}

// ERSPANIIVersion is the ERSPAN II version field.
const ERSPANIIVersion = layers.ERSPANIIVersion

// checkERSPAN3 checks the GRE and ERSPAN III headers gopacket v1.1.19 does
// not know, and returns the decoded inner frame.
func checkERSPAN3(t *testing.T, i int, p gopacket.Packet, id uint32) gopacket.Packet {
	t.Helper()
	g := count[*layers.GRE](p)
	if len(g) != 1 || uint16(g[0].Protocol) != 0x22EB || !g[0].SeqPresent || g[0].KeyPresent {
		t.Fatalf("frame %d: want GRE seq 0x22EB: %v", i, p)
	}
	ip := count[*layers.IPv4](p)[0]
	if Checksum(ip.Contents) != 0 || ip.Protocol != layers.IPProtocolGRE {
		t.Fatalf("frame %d: outer IPv4 header", i)
	}
	h := g[0].Payload
	if len(h) < 12 || h[0]>>4 != 2 || uint32(binary.BigEndian.Uint16(h[2:])&0x3ff) != id || (h[10]>>2)&0x1f != 0 || h[11]&1 != 0 {
		t.Fatalf("frame %d: want ERSPAN III (version 2, session %d, Ethernet, no subheader): % x", i, id, h[:min(12, len(h))])
	}
	return decodeEther(h[12:])
}

// A snaplen-cut frame keeps its on-the-wire length: the outer headers
// declare the full inner length, only the capture is short.
func TestSnappedFramesKeepTheirLength(t *testing.T) {
	_, fr := defaultInput(t)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(96, layers.LinkTypeEthernet)
	for _, f := range fr {
		d := f.data[:min(96, len(f.data))]
		w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ci.Timestamp, CaptureLength: len(d), Length: f.ci.Length}, d)
	}
	for _, m := range []Mode{ModeVXLAN, ModeGRE, ModeMPLS} {
		out, _ := rewrite(t, b.Bytes(), Options{Mode: m})
		for i, f := range frames(t, out) {
			if f.ci.Length-f.ci.CaptureLength != fr[i].ci.Length-min(96, len(fr[i].data)) {
				t.Fatalf("%s frame %d: len %d caplen %d, input len %d", m, i, f.ci.Length, f.ci.CaptureLength, fr[i].ci.Length)
			}
			if m != ModeMPLS {
				if got := int(binary.BigEndian.Uint16(f.data[16:])); got != f.ci.Length-14 {
					t.Fatalf("%s frame %d: outer IPv4 length %d, wire length %d", m, i, got, f.ci.Length)
				}
			}
		}
	}
}

// IP-only modes leave out what is not IP; frame modes carry it.
func TestNonIPFrames(t *testing.T) {
	_, fr := defaultInput(t)
	arp := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}, make([]byte, 28)...)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: fr[0].ci.Timestamp, CaptureLength: len(arp), Length: len(arp)}, arp)
	for _, f := range fr {
		w.WritePacket(f.ci, f.data)
	}
	for _, m := range Modes {
		_, st := rewrite(t, b.Bytes(), Options{Mode: m})
		wantSkip := 0
		if m.layer3() {
			wantSkip = 1
		}
		if st.Skipped != wantSkip || st.Written != len(fr)+1-wantSkip {
			t.Errorf("%s: skipped %d written %d, want %d skipped", m, st.Skipped, st.Written, wantSkip)
		}
	}
}

func TestPcapngInput(t *testing.T) {
	in, fr := defaultInput(t)
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fr {
		if err := w.WritePacket(f.ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	a, _ := rewrite(t, in, Options{Mode: ModeL2GRE, ID: 9, Drop: 0.1})
	c, _ := rewrite(t, b.Bytes(), Options{Mode: ModeL2GRE, ID: 9, Drop: 0.1})
	if !bytes.Equal(a, c) {
		t.Fatal("pcapng input gives a different output than the same frames in pcap")
	}
}

func TestRawIPInput(t *testing.T) {
	_, fr := defaultInput(t)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeRaw)
	for _, f := range fr {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ci.Timestamp, CaptureLength: len(f.data) - 14, Length: f.ci.Length - 14}, f.data[14:])
	}
	out, _ := rewrite(t, b.Bytes(), Options{Mode: ModeVXLAN})
	for i, f := range frames(t, out) {
		got, ok1 := tcpOf(decodeEther(f.data))
		want, ok2 := tcpOf(decodeEther(fr[i].data))
		if !ok1 || !ok2 || got != want {
			t.Fatalf("frame %d differs", i)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{
		{Mode: "nope"},
		{Mode: ModeVLAN, ID: 4095},
		{Mode: ModeQinQ, ID: 10, InnerID: 5000},
		{Mode: ModeMPLS, ID: 3},
		{Mode: ModeVXLAN, ID: 1 << 24},
		{Mode: ModeERSPAN2, ID: 1024},
		{Mode: ModeERSPAN3, ID: 2000},
		{Drop: 1.5},
		{Reorder: -0.1},
		{Dup: math.NaN()},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := Rewrite(strings.NewReader("GET / HTTP/1.1\r\n\r\n"), io.Discard, Options{}); err == nil || !strings.Contains(err.Error(), "not a pcap") {
		t.Errorf("not a capture: %v", err)
	}
}

// ---- damage ----

func infos(fr []frame) []info {
	out := make([]info, len(fr))
	for i, f := range fr {
		out[i] = parse(f.data)
	}
	return out
}

func sameFrame(a, b frame) bool { return bytes.Equal(a.data, b.data) }

func TestDropExactlyTheFraction(t *testing.T) {
	in, fr := defaultInput(t)
	// Eligible, counted from gopacket's view of the input.
	var elig int
	for _, f := range fr {
		tl := decodeEther(f.data).Layer(layers.LayerTypeTCP).(*layers.TCP)
		if len(tl.Payload) > 0 && !tl.SYN && !tl.FIN && !tl.RST {
			elig++
		}
	}
	for _, frac := range []float64{0, 0.02, 0.1, 0.5, 1} {
		out, st := rewrite(t, in, Options{Drop: frac, Seed: 7})
		of := frames(t, out)
		want := int(math.Round(frac * float64(elig)))
		if st.DropEligible != elig || st.Dropped != want || len(of) != len(fr)-want || len(st.DroppedSegments) != want {
			t.Fatalf("drop %v: stats %+v, %d frames out of %d, want %d dropped of %d", frac, st, len(of), len(fr), want, elig)
		}
		// The output is the input minus exactly the reported segments.
		j, k := 0, 0
		for i, f := range fr {
			if j < len(of) && sameFrame(of[j], f) && of[j].ci.Timestamp.Equal(f.ci.Timestamp) {
				j++
				continue
			}
			if k >= len(st.DroppedSegments) || st.DroppedSegments[k].Index != i {
				t.Fatalf("drop %v: input frame %d missing but not reported", frac, i)
			}
			in := parse(f.data)
			if in.plen == 0 || in.flags&(tcpSYN|tcpFIN|tcpRST) != 0 {
				t.Fatalf("drop %v: dropped a control segment (flags %#x, %d bytes)", frac, in.flags, in.plen)
			}
			if s := st.DroppedSegments[k]; s.Seq != in.seq || s.Len != in.plen || s.Src != in.src || s.Dst != in.dst {
				t.Fatalf("drop %v: reported segment %+v, dropped %+v", frac, s, in)
			}
			k++
		}
		if j != len(of) || k != want {
			t.Fatalf("drop %v: output is not the input minus the dropped segments", frac)
		}
	}
}

func TestReorderExactlyTheFraction(t *testing.T) {
	in, fr := defaultInput(t)
	inf := infos(fr)
	// Candidate pairs, counted independently: pcapgen sends no pure ACKs
	// between data, so every run of consecutive data segments of one
	// connection and direction gives floor(run/2) pairs.
	elig, run := 0, map[conn]int{}
	var lastSrc = map[conn]string{}
	flush := func(c conn) { elig += run[c] / 2; run[c] = 0 }
	for _, x := range inf {
		c := x.conn()
		switch {
		case x.data() && lastSrc[c] == x.src.String():
			run[c]++
		case x.data():
			flush(c)
			run[c], lastSrc[c] = 1, x.src.String()
		default:
			flush(c)
			lastSrc[c] = ""
		}
	}
	for c := range run {
		flush(c)
	}
	if elig < 50 {
		t.Fatalf("only %d candidate pairs in the input", elig)
	}
	for _, frac := range []float64{0.05, 0.3, 1} {
		out, st := rewrite(t, in, Options{Reorder: frac, Seed: 3})
		of := frames(t, out)
		want := int(math.Round(frac * float64(elig)))
		if st.ReorderEligible != elig || st.Reordered != want || len(of) != len(fr) || len(st.SwappedSegments) != want {
			t.Fatalf("reorder %v: stats eligible %d swapped %d, want %d of %d", frac, st.ReorderEligible, st.Reordered, want, elig)
		}
		var moved []int
		for i := range fr {
			if !of[i].ci.Timestamp.Equal(fr[i].ci.Timestamp) {
				t.Fatalf("reorder %v: timestamp of position %d changed", frac, i)
			}
			if !sameFrame(of[i], fr[i]) {
				moved = append(moved, i)
			}
		}
		if len(moved) != 2*want {
			t.Fatalf("reorder %v: %d frames moved, want %d", frac, len(moved), 2*want)
		}
		// Every moved frame swapped with a same-direction data segment of
		// its connection.
		for _, i := range moved {
			found := false
			for _, j := range moved {
				if j != i && sameFrame(of[i], fr[j]) && sameFrame(of[j], fr[i]) {
					found = inf[i].data() && inf[j].data() && inf[i].src == inf[j].src && inf[i].dst == inf[j].dst
				}
			}
			if !found {
				t.Fatalf("reorder %v: frame at %d is not one of a same-direction data pair", frac, i)
			}
		}
	}
}

func TestDupExactlyTheFraction(t *testing.T) {
	in, fr := defaultInput(t)
	for _, frac := range []float64{0.02, 0.05, 0.5} {
		out, st := rewrite(t, in, Options{Dup: frac, Seed: 11})
		of := frames(t, out)
		want := int(math.Round(frac * float64(len(fr))))
		if st.DupEligible != len(fr) || st.Duplicated != want || len(of) != len(fr)+want {
			t.Fatalf("dup %v: stats %+v, %d frames, want %d more than %d", frac, st, len(of), want, len(fr))
		}
		j := 0
		for i, f := range of {
			if i > 0 && sameFrame(f, of[i-1]) && f.ci.Timestamp.Equal(of[i-1].ci.Timestamp) {
				continue
			}
			if !sameFrame(f, fr[j]) {
				t.Fatalf("dup %v: output frame %d is neither input frame %d nor a copy", frac, i, j)
			}
			j++
		}
		if j != len(fr) {
			t.Fatalf("dup %v: %d originals in the output, want %d", frac, j, len(fr))
		}
	}
}

func TestDamageIsDeterministic(t *testing.T) {
	in, fr := defaultInput(t)
	o := Options{Mode: ModeVXLAN, ID: 5, Drop: 0.05, Reorder: 0.2, Dup: 0.05, Seed: 1}
	a, st := rewrite(t, in, o)
	b, _ := rewrite(t, in, o)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	o.Seed = 2
	if c, _ := rewrite(t, in, o); bytes.Equal(a, c) {
		t.Fatal("different seed, same output")
	}
	if got, want := len(frames(t, a)), len(fr)-st.Dropped+st.Duplicated; got != want || st.Dropped == 0 || st.Reordered == 0 || st.Duplicated == 0 {
		t.Fatalf("combined: %d frames, want %d (stats %+v)", got, want, st)
	}
	// All three together still carry only input segments, inside VXLAN.
	have := map[seg]bool{}
	for _, f := range fr {
		s, _ := tcpOf(decodeEther(f.data))
		have[s] = true
	}
	for i, f := range frames(t, a) {
		s, ok := tcpOf(decodeEther(f.data))
		if !ok || !have[s] {
			t.Fatalf("combined: frame %d carries a segment not in the input", i)
		}
	}
}

// tshark must see the HTTP inside every encapsulation.
func TestTsharkSeesHTTP(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	in, _ := input(t, pcapgen.Options{Exchanges: 60, Conns: 3, MSS: 536})
	count := func(t *testing.T, pcap []byte) string {
		dir := t.TempDir()
		path := dir + "/x.pcap"
		if err := os.WriteFile(path, pcap, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("tshark", "-n", "-r", path, "-Y", "http.request || http.response", "-T", "fields", "-e", "http.request.method", "-e", "http.response.code").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return string(out)
	}
	want := count(t, in)
	if n := strings.Count(want, "\n"); n != 120 {
		t.Fatalf("tshark sees %d messages in the plain capture, want 120", n)
	}
	for _, m := range Modes {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			out, _ := rewrite(t, in, Options{Mode: m, ID: 77})
			if got := count(t, out); got != want {
				t.Fatalf("tshark sees %d HTTP messages, want %d", strings.Count(got, "\n"), strings.Count(want, "\n"))
			}
		})
	}
}

// tcpFrame builds an Ethernet/IPv4/TCP frame.
func tcpFrame(t *testing.T, fromClient bool, seq, ack uint32, payload string) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, ACK: true, PSH: payload != "", Window: 65535}
	if !fromClient {
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A receiver never acknowledges a segment before it arrives: a pair is not
// a candidate when an ACK between the two covers the first.
func TestReorderNeverMovesDataPastItsACK(t *testing.T) {
	const s, c = 1000, 5000
	for _, tc := range []struct {
		name string
		ack  uint32 // the client's pure ACK between the server's two segments
		want int
	}{
		{"ack covers the first segment", s + 100, 0},
		{"ack covers part of it", s + 1, 0},
		{"duplicate ack below it", s, 1},
	} {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		ts := time.Unix(1700000000, 0)
		for i, f := range [][]byte{
			tcpFrame(t, false, s, c, strings.Repeat("a", 100)),
			tcpFrame(t, true, c, tc.ack, ""),
			tcpFrame(t, false, s+100, c, strings.Repeat("b", 100)),
		} {
			w.WritePacket(gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}, f)
		}
		_, st := rewrite(t, b.Bytes(), Options{Reorder: 1})
		if st.ReorderEligible != tc.want || st.Reordered != tc.want {
			t.Errorf("%s: %d candidate pairs, %d swapped; want %d", tc.name, st.ReorderEligible, st.Reordered, tc.want)
		}
	}
}
