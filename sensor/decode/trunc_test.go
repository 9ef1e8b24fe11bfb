package decode

import (
	"bytes"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// truncFrames are real frames (the largest TCP segment of each capture)
// plus hand-built ones for what the corpus lacks.
func truncFrames(t *testing.T) map[string]frame {
	out := map[string]frame{}
	for _, file := range []string{
		"zeek/vlan-qinqinq.pcap",
		"zeek/mpls-in-vlan.pcap",
		"zeek/mixed-vlan-mpls.pcap", // F5 Ethernet trailers past the IP length
		"zeek/tunnels_vxlan-encapsulated-http.pcap",
		"zeek/tunnels_geneve-many-options.pcap",
		"zeek/tunnels_gre-over-udp-4754.pcap",
		"suricata-verify/bug-5437-02__input.pcap",
		"suricata-verify/bug-6402-01__input.pcap",
		"suricata-verify/bug-4810__pppoe-session-http.pcap",
		"arkime/gre-erspan-vxlan.pcap",
		"pcapplusplus/four_ipv6_http_streams.pcap",
		"ndpi/log4j-webapp-exploit.pcap",
		"gopacket/test_loopback.pcap",
	} {
		d := NewDecoder(DefaultConfig())
		var p Packet
		best := -1
		frames := readCapture(t, corpusPath(t, file))
		for i, f := range frames {
			if d.Decode(f.data, f.link, f.ts, &p) == ResultTCP && (best < 0 || len(f.data) > len(frames[best].data)) && len(f.data) < 2000 {
				best = i
			}
		}
		if best < 0 {
			t.Fatalf("%s: no TCP frame", file)
		}
		out[file] = frames[best]
	}
	raw4 := ser(t, in4()...)
	out["sll2"] = frame{data: join(u16(0x0800), u16(0), u32(3), u16(1), []byte{0, 6}, mac1, []byte{0, 0}, raw4), link: LinkLinuxSLL2}
	out["erspan III"] = frame{link: LinkEthernet, data: ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
		&layers.GRE{SeqPresent: true, Protocol: 0x22EB}, gopacket.Payload(join(u16(0x2000), u16(5), u32(1), u16(0), []byte{0, 1}, make([]byte, 8), ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...))))}
	out["ipv6 ext"] = frame{link: LinkEthernet, data: ser(t, eth(layers.EthernetTypeIPv6), ip6(0, cli6, srv6),
		gopacket.Payload(join([]byte{60, 0, 1, 4, 0, 0, 0, 0}, []byte{6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, tcpBytes(t))))}
	return out
}

// TestTruncated cuts frames at every length: the decoder never panics and
// either reports the frame malformed or decodes the segment with the cut
// bytes counted in Missing (a cut that only removes Ethernet padding or a
// trailer loses nothing).
func TestTruncated(t *testing.T) {
	t.Parallel()
	for name, f := range truncFrames(t) {
		d := NewDecoder(DefaultConfig())
		var full Packet
		if r := d.Decode(f.data, f.link, 1, &full); r != ResultTCP {
			t.Fatalf("%s: full frame %v", name, r)
		}
		fullPayload := append([]byte(nil), full.Payload...)
		declared := len(full.Payload) + full.Missing
		var p Packet
		for n := 0; n < len(f.data); n++ {
			cut := append([]byte(nil), f.data[:n]...) // exact length: no reading past it
			switch r := d.Decode(cut, f.link, 1, &p); r {
			case ResultMalformed:
			case ResultTCP:
				if len(p.Payload)+p.Missing != declared || !bytes.HasPrefix(fullPayload, p.Payload) || !aliases(p.Payload, cut) {
					t.Fatalf("%s cut at %d: payload %d + missing %d, want %d declared", name, n, len(p.Payload), p.Missing, declared)
				}
				if len(p.Payload) < len(fullPayload) && p.Missing == 0 {
					t.Fatalf("%s cut at %d: bytes lost without Missing", name, n)
				}
			default:
				t.Fatalf("%s cut at %d: %v", name, n, r)
			}
		}
		s := d.Stats()
		checkSums(t, &s)
	}
}
