package decode

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/testutil"
)

// corpusPath returns the path of a capture in the shared corpus (the test
// skips when the corpus is absent).
func corpusPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testutil.Corpus(t), "pcap", name)
}

// TestCorpusCaptures decodes every packet of real captures and checks the
// number of TCP segments, their payload bytes and their Outer identity.
//
// Ground truth comes from tshark 4.x (not needed to run the test):
//
//	tshark -r FILE -Y 'tcp && !icmp && !icmpv6' | wc -l
//	tshark -r FILE -Y 'tcp && !icmp && !icmpv6' -T fields -e tcp.len   (summed)
//	tshark -r FILE -Y 'tcp && !icmp && !icmpv6' -T fields -e vlan.id -e vxlan.vni \
//	       -e geneve.vni -e gre.key -e erspan.spanid -e mpls.label
//
// tshark reassembles IP fragments, as the decoder does, so a fragmented
// datagram counts once. Payload bytes are len(Payload)+Missing, which is
// tshark's tcp.len. Where a field differs from tshark's view the comment
// says why.
func TestCorpusCaptures(t *testing.T) {
	t.Parallel()
	type outers map[flow.Outer]int
	vx := func(vni uint32) flow.Outer { return flow.Outer{VNI: vni, Tunnel: flow.TunnelVXLAN} }
	cases := []struct {
		file   string
		tcp    int
		bytes  int
		outers outers
		check  func(t *testing.T, s Stats)
	}{
		// VLAN id 0 (priority tag) is "no VLAN".
		{"zeek/http-vlan-0.pcap", 14, 5143, outers{{}: 14}, nil},
		{"zeek/http-qinq-0.pcap", 14, 5143, outers{{}: 14}, nil},
		// Three tags 30, 20, 10: the first two are kept.
		{"zeek/vlan-qinqinq.pcap", 14, 5143, outers{{VLAN: 30, InnerVLAN: 20}: 14}, nil},
		{"zeek/mpls-in-vlan.pcap", 3, 2311, outers{{VLAN: 3199}: 1, {Tunnel: flow.TunnelMPLS}: 1, {VLAN: 3399, Tunnel: flow.TunnelMPLS}: 1}, nil},
		{"zeek/mixed-vlan-mpls.pcap", 47, 12979, outers{{}: 22, {Tunnel: flow.TunnelMPLS}: 11, {VLAN: 4093}: 14}, nil},
		{"zeek/tunnels_vxlan-encapsulated-http.pcap", 12, 9299, outers{vx(1): 12}, nil},
		{"zeek/tunnels_geneve-many-options.pcap", 10, 658, outers{{VNI: 0x0c012e, Tunnel: flow.TunnelGENEVE}: 10}, nil},
		// The 4 other packets are DNS inside the same tunnel.
		{"zeek/tunnels_gre-over-udp-4754.pcap", 10, 451, outers{{Tunnel: flow.TunnelGRE}: 10},
			func(t *testing.T, s Stats) {
				if s.Other != 4 || s.GREUDP != 14 {
					t.Errorf("other %d gre-udp %d", s.Other, s.GREUDP)
				}
			}},
		// Despite its name: GRE transparent Ethernet bridging with a key
		// (0 or 0x02000000); the GRE packets carrying TSO-sized inner
		// segments are IPv4-fragmented on the outside (39 fragments
		// completing 16 datagrams).
		{"zeek/erspan.pcap", 106, 84065, outers{{Tunnel: flow.TunnelGRE}: 73, {Session: 0x02000000, Tunnel: flow.TunnelGRE}: 33},
			func(t *testing.T, s Stats) {
				if s.Fragments != 39 || s.FragDatagrams != 16 || s.FragInFlight != 0 || s.Malformed != 0 {
					t.Errorf("fragments %d datagrams %d in flight %d malformed %d", s.Fragments, s.FragDatagrams, s.FragInFlight, s.Malformed)
				}
			}},
		// ERSPAN II sessions; each direction comes through its own.
		{"suricata-verify/bug-5437-02__input.pcap", 60, 480, outers{
			{Session: 2, Tunnel: flow.TunnelERSPAN}: 34, {Session: 5, Tunnel: flow.TunnelERSPAN}: 15,
			{Session: 6, Tunnel: flow.TunnelERSPAN}: 1, {Session: 7, Tunnel: flow.TunnelERSPAN}: 10}, nil},
		// GRE inside GENEVE (VNI 0): GRE is the innermost tunnel.
		{"suricata-verify/bug-6402-01__input.pcap", 12, 137, outers{{Tunnel: flow.TunnelGRE}: 12}, nil},
		// VXLAN flags and reserved bytes all 0xff.
		{"suricata-verify/vxlan-non-zero-reserved-fields__input.pcap", 10, 753, outers{vx(11): 10}, nil},
		{"suricata-verify/bug-2576-02__temp1.pcap", 17, 4225, outers{{Tunnel: flow.TunnelGRE}: 17}, nil},
		{"suricata-verify/bug-4810__pppoe-session-http.pcap", 30, 15508, outers{{}: 30},
			func(t *testing.T, s Stats) {
				if s.PPPoE != 30 {
					t.Errorf("pppoe %d", s.PPPoE)
				}
			}},
		// ERSPAN II (session 20) carrying VXLAN-GPE on port 4790 (tshark
		// decodes it as VXLAN from the source port 4789), VNI 0.
		{"arkime/gre-erspan-vxlan.pcap", 7, 57, outers{{Session: 20, Tunnel: flow.TunnelVXLAN}: 7}, nil},
		{"arkime/arkime_synthetic.pcap", 733, 21822, outers{{}: 733}, nil},
		{"arkime/twovlan.pcap", 6, 4457, outers{{VLAN: 201, InnerVLAN: 200}: 6}, nil},
		{"pcapplusplus/frag_http_req.pcap", 1, 1460, outers{{}: 1},
			func(t *testing.T, s Stats) {
				if s.Fragments != 10 || s.FragDatagrams != 1 {
					t.Errorf("fragments %d datagrams %d", s.Fragments, s.FragDatagrams)
				}
			}},
		// Link type 12 (DLT_RAW as written by some systems).
		{"pcapplusplus/four_ipv6_http_streams.pcap", 81, 34770, outers{{}: 81}, nil},
		{"ndpi/log4j-webapp-exploit.pcap", 422, 5830, outers{{}: 422}, nil},
		{"gopacket/test_loopback.pcap", 24, 56331, outers{{}: 24}, nil},
		{"zeek/nflog-http.pcap", 13, 1682, outers{{}: 13},
			func(t *testing.T, s Stats) {
				if s.NFLOG != 13 {
					t.Errorf("nflog %d", s.NFLOG)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			frames := readCapture(t, corpusPath(t, c.file))
			d := NewDecoder(DefaultConfig())
			got := outers{}
			n, nbytes := 0, 0
			var p Packet
			for _, f := range frames {
				if d.Decode(f.data, f.link, f.ts, &p) != ResultTCP {
					continue
				}
				n++
				nbytes += len(p.Payload) + p.Missing
				got[p.Outer]++
			}
			if n != c.tcp || nbytes != c.bytes {
				t.Errorf("tcp packets %d payload bytes %d, want %d %d", n, nbytes, c.tcp, c.bytes)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.outers) {
				t.Errorf("outer identities\n got %v\nwant %v", got, c.outers)
			}
			s := d.Stats()
			checkSums(t, &s)
			if s.Packets != uint64(len(frames)) {
				t.Errorf("packets %d, frames %d", s.Packets, len(frames))
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}

// TestCorpusFragHTTP: the ten IPv4 fragments of frag_http_req.pcap make one
// TCP segment carrying the whole request (checked against tshark's
// reassembled tcp.payload: 1460 bytes, sha256 below).
func TestCorpusFragHTTP(t *testing.T) {
	t.Parallel()
	frames := readCapture(t, corpusPath(t, "pcapplusplus/frag_http_req.pcap"))
	d := NewDecoder(DefaultConfig())
	var p Packet
	var got []byte
	for i, f := range frames {
		r := d.Decode(f.data, f.link, f.ts, &p)
		if i < len(frames)-1 {
			if r != ResultFragment {
				t.Fatalf("frame %d: %v", i+1, r)
			}
			continue
		}
		if r != ResultTCP {
			t.Fatalf("last frame: %v", r)
		}
		got = append(got, p.Payload...)
		if p.SrcPort != 64415 || p.DstPort != 80 || p.Seq != 2290951306 || p.Missing != 0 {
			t.Errorf("segment %+v", p)
		}
	}
	sum := sha256.Sum256(got)
	if hex.EncodeToString(sum[:]) != "5be3ca1a5313881298d6ed6b7edb5521d36940251e66c9befb75c26362fec059" {
		t.Errorf("reassembled payload differs from tshark's: %q", got)
	}
	if !bytes.HasPrefix(got, []byte("GET /convert_data.js?partner_id=29 HTTP/1.1\r\n")) || !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
		t.Errorf("not the whole request: %q", got)
	}
	// The next Decode returns the buffer to the free list.
	d.Decode(frames[0].data, frames[0].link, frames[0].ts, &p)
	if d.frag.npinned != 0 {
		t.Errorf("reassembly buffer still lent")
	}
}
