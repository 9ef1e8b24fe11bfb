package decode

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/apitap/apitap/flow"
)

// dot11Frame builds an 802.11 data frame by hand: frame control, duration,
// addresses (a fourth when both DS bits are set), sequence control, the QoS
// control (and HT control when the Order flag is set) for QoS subtypes,
// then body.
func dot11Frame(fc0, fc1 byte, frag uint16, qos byte, body []byte) []byte {
	h := []byte{fc0, fc1, 0, 0}
	for i := 0; i < 3; i++ {
		h = append(h, mac1...)
	}
	h = binary.LittleEndian.AppendUint16(h, 0x1230|frag)
	if fc1&3 == 3 {
		h = append(h, mac2...)
	}
	if fc0&0x80 != 0 {
		h = append(h, qos, 0)
		if fc1&0x80 != 0 {
			h = append(h, 0xaa, 0xbb, 0xcc, 0xdd)
		}
	}
	return append(h, body...)
}

// snap is an LLC/SNAP header with the RFC 1042 OUI.
func snap(et uint16) []byte { return join([]byte{0xAA, 0xAA, 0x03, 0, 0, 0}, u16(et)) }

// radiotapHdr builds a radiotap header with TSFT and Flags (and a second,
// extended present word), as most drivers write it, then the channel field.
func radiotapHdr(flags byte) []byte {
	h := []byte{0, 0, 0, 0}
	h = binary.LittleEndian.AppendUint32(h, 1<<31|1<<3|1<<1|1<<0) // TSFT, Flags, Channel, ext
	h = binary.LittleEndian.AppendUint32(h, 0)                    // second present word
	h = append(h, make([]byte, 4+8)...)                           // padding, TSFT at 16 (8-aligned)
	h = append(h, flags, 0x02)                                    // Flags, Rate
	h = append(h, 0x6c, 0x09, 0xa0, 0x00)                         // Channel
	binary.LittleEndian.PutUint16(h[2:], uint16(len(h)))
	return h
}

func TestDot11(t *testing.T) {
	raw4 := ser(t, in4()...)
	data := dot11Frame(0x08, 0x01, 0, 0, join(snap(0x0800), raw4))                        // data, to DS
	qos4 := dot11Frame(0x88, 0x83, 0, 0, join(snap(0x0800), raw4))                        // QoS data, WDS, +HTC
	vlanIn := dot11Frame(0x88, 0x02, 0, 0, join(snap(0x8100), u16(9), u16(0x0800), raw4)) // tag behind SNAP
	aruba := ser(t, eth(layers.EthernetTypeDot1Q), dot1qL(300, layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
		gopacket.Payload(join(u16(0), u16(0x8200), dot11Frame(0x88, 0x01, 0, 0, join(snap(0x0800), raw4)))))
	fcs := append(join(radiotapHdr(0x10), data), 0xde, 0xad, 0xbe, 0xef)
	// DATAPAD: the 26-byte QoS header is followed by 2 bytes of padding.
	padded := join(radiotapHdr(0x20), dot11Frame(0x88, 0x01, 0, 0, nil), []byte{0, 0}, snap(0x0800), raw4)
	// A radiotap header with only the Flags field: no TSFT, no alignment.
	plain := join([]byte{0, 0, 9, 0}, u32(0x02000000), []byte{0}, data)

	ok := []struct {
		name  string
		link  LinkType
		frame []byte
		want  Packet
	}{
		{"802.11 data", LinkIEEE80211, data, want4(flow.Outer{})},
		{"802.11 qos wds htc", LinkIEEE80211, qos4, want4(flow.Outer{})},
		{"802.11 snap vlan", LinkIEEE80211, vlanIn, want4(flow.Outer{VLAN: 9})},
		{"radiotap", LinkRadiotap, join(radiotapHdr(0), data), want4(flow.Outer{})},
		{"radiotap fcs", LinkRadiotap, fcs, want4(flow.Outer{})},
		{"radiotap flags only", LinkRadiotap, plain, want4(flow.Outer{})},
		{"radiotap datapad", LinkRadiotap, padded, want4(flow.Outer{})},
		{"aruba gre", LinkEthernet, aruba, want4(flow.Outer{Tunnel: flow.TunnelGRE, VLAN: 300})},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(DefaultConfig())
			var p Packet
			if r := d.Decode(c.frame, c.link, 1, &p); r != ResultTCP {
				t.Fatalf("result = %v; stats %+v", r, d.Stats())
			}
			c.want.TS = 1
			checkPacket(t, &p, &c.want)
			if !aliases(p.Payload, c.frame) || cap(p.Payload) != len(p.Payload) {
				t.Errorf("payload does not alias the frame with exact capacity")
			}
			// gopacket agrees on the inner segment.
			lt := map[LinkType]layers.LinkType{LinkIEEE80211: layers.LinkTypeIEEE802_11, LinkRadiotap: layers.LinkTypeIEEE80211Radio, LinkEthernet: layers.LinkTypeEthernet}[c.link]
			if c.name != "aruba gre" { // gopacket v1.1.19 does not know Aruba's GRE protocol types
				f := c.frame
				if c.link == LinkIEEE80211 {
					f = append(f[:len(f):len(f)], 0, 0, 0, 0) // gopacket expects an FCS there
				}
				gp := gopacket.NewPacket(f, lt, gopacket.Default)
				if tl, _ := gp.Layer(layers.LayerTypeTCP).(*layers.TCP); tl == nil || string(tl.Payload) != httpReq {
					t.Errorf("gopacket disagrees: %v", gp)
				}
			}
			if a := testing.AllocsPerRun(100, func() { d.Decode(c.frame, c.link, 1, &p) }); a != 0 {
				t.Errorf("%v allocations", a)
			}
		})
	}

	bad := []struct {
		name  string
		link  LinkType
		frame []byte
		want  Result
		field func(*Stats) uint64
	}{
		{"management", LinkIEEE80211, dot11Frame(0x80, 0, 0, 0, make([]byte, 40)), ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"null data", LinkIEEE80211, dot11Frame(0x48, 0x01, 0, 0, nil), ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"not snap", LinkIEEE80211, dot11Frame(0x08, 0x01, 0, 0, join([]byte{0x42, 0x42, 0x03}, raw4)), ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"protected", LinkIEEE80211, dot11Frame(0x08, 0x41, 0, 0, join(snap(0x0800), raw4)), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"more fragments", LinkIEEE80211, dot11Frame(0x08, 0x05, 0, 0, join(snap(0x0800), raw4)), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"later fragment", LinkIEEE80211, dot11Frame(0x08, 0x01, 1, 0, raw4), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"a-msdu", LinkIEEE80211, dot11Frame(0x88, 0x01, 0, 0x80, join(snap(0x0800), raw4)), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"short 802.11", LinkIEEE80211, data[:23], ResultMalformed, func(s *Stats) uint64 { return s.MalformedLink }},
		{"bad fcs", LinkRadiotap, join(radiotapHdr(0x50), data, make([]byte, 4)), ResultMalformed, func(s *Stats) uint64 { return s.MalformedLink }},
		{"radiotap length", LinkRadiotap, radiotapHdr(0)[:20], ResultMalformed, func(s *Stats) uint64 { return s.MalformedLink }},
		{"radiotap version", LinkRadiotap, join([]byte{1}, radiotapHdr(0)[1:], data), ResultMalformed, func(s *Stats) uint64 { return s.MalformedLink }},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(DefaultConfig())
			var p Packet
			if r := d.Decode(c.frame, c.link, 0, &p); r != c.want {
				t.Fatalf("result = %v, want %v", r, c.want)
			}
			s := d.Stats()
			if c.field(&s) != 1 {
				t.Errorf("counter not incremented: %+v", s)
			}
			checkSums(t, &s)
		})
	}
}
