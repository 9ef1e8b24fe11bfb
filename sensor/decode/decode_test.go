package decode

import (
	"bytes"
	"encoding/binary"
	"net"
	"reflect"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/apitap/apitap/flow"
)

// Frames for the table tests are built with gopacket's serializers where
// gopacket v1.1.19 can write the header, and by hand (raw bytes spliced in
// with gopacket.Payload) where it cannot: SLL/SLL2, NFLOG, GENEVE, ERSPAN
// III, VXLAN-GPE, MPLS pseudowire control words, IPv6 extension headers,
// PPTP GRE.

const httpReq = "GET /api/v1/items?id=7 HTTP/1.1\r\nHost: example.com\r\n\r\n"

var (
	mac1 = net.HardwareAddr{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	mac2 = net.HardwareAddr{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	cli4 = net.IP{10, 1, 2, 3}
	srv4 = net.IP{192, 168, 7, 9}
	cli6 = net.ParseIP("2001:db8::1")
	srv6 = net.ParseIP("2001:db8:ffff::2")
	// Tunnel endpoints: must never show up in a decoded Packet.
	tep1 = net.IP{172, 16, 0, 1}
	tep2 = net.IP{172, 16, 0, 2}
)

// ser serializes layers with lengths fixed (checksums are not verified by
// the decoder, so they are left zero).
func ser(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: et}
}

func ip4(proto layers.IPProtocol, src, dst net.IP) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Protocol: proto, SrcIP: src, DstIP: dst}
}

func ip6(nh layers.IPProtocol, src, dst net.IP) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: src, DstIP: dst}
}

// theTCP is the segment every tunnel test carries.
func theTCP() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, PSH: true, ACK: true, Window: 512,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}}}
}

// in4 is IPv4/TCP/HTTP request (cli4 → srv4).
func in4() []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{ip4(layers.IPProtocolTCP, cli4, srv4), theTCP(), gopacket.Payload(httpReq)}
}

// in6 is IPv6/TCP/HTTP request (cli6 → srv6).
func in6() []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{ip6(layers.IPProtocolTCP, cli6, srv6), theTCP(), gopacket.Payload(httpReq)}
}

// tcpBytes is the serialized TCP header and payload alone.
func tcpBytes(t testing.TB) []byte { return ser(t, theTCP(), gopacket.Payload(httpReq)) }

func cat(ls ...any) []gopacket.SerializableLayer {
	var out []gopacket.SerializableLayer
	for _, l := range ls {
		switch v := l.(type) {
		case gopacket.SerializableLayer:
			out = append(out, v)
		case []gopacket.SerializableLayer:
			out = append(out, v...)
		default:
			panic("cat: bad type")
		}
	}
	return out
}

func addr(ip net.IP) Addr {
	var a Addr
	copy(a[:], ip.To16())
	return a
}

// want4 and want6 are the expected packets of in4 and in6.
func want4(o flow.Outer) Packet {
	return Packet{Outer: o, Src: addr(cli4), Dst: addr(srv4), SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000,
		Flags: FlagPSH | FlagACK, Window: 512, Payload: []byte(httpReq)}
}

func want6(o flow.Outer) Packet {
	p := want4(o)
	p.Src, p.Dst, p.IPv6 = addr(cli6), addr(srv6), true
	return p
}

func checkPacket(t *testing.T, got, want *Packet) {
	t.Helper()
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("payload = %q, want %q", got.Payload, want.Payload)
	}
	g, w := *got, *want
	g.Payload, w.Payload = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("packet\n got %+v\nwant %+v", g, w)
	}
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func join(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestDecodeTable(t *testing.T) {
	t.Parallel()
	udp := func(dport uint16) *layers.UDP { return &layers.UDP{SrcPort: 51234, DstPort: layers.UDPPort(dport)} }
	dot1q := func(id uint16, next layers.EthernetType) *layers.Dot1Q {
		return &layers.Dot1Q{VLANIdentifier: id, Type: next}
	}
	outerUDP := func(dport uint16, payload []byte) []byte {
		return ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(dport), gopacket.Payload(payload))
	}
	eth4 := ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...)
	eth6 := ser(t, cat(eth(layers.EthernetTypeIPv6), in6())...)
	raw4 := ser(t, in4()...)
	raw6 := ser(t, in6()...)
	tcpb := tcpBytes(t)
	gre := func(g *layers.GRE, inner ...gopacket.SerializableLayer) []byte {
		return ser(t, cat(eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2), g, inner)...)
	}
	// geneve builds a GENEVE header with optLen 4-byte words of options.
	geneve := func(proto uint16, vni uint32, optWords int) []byte {
		h := []byte{byte(optWords), 0}
		h = append(h, u16(proto)...)
		h = append(h, u32(vni<<8)...)
		for i := 0; i < optWords; i++ {
			h = append(h, 0x01, 0x02, 0x03, 0x04)
		}
		return h
	}
	erspan3 := func(session uint16, ft byte, o bool) []byte {
		h := join(u16(0x2000|100), u16(session&0x3ff), u32(0xdeadbeef), u16(0), []byte{ft << 2, 0})
		if o {
			h[11] |= 1
			h = append(h, make([]byte, 8)...)
		}
		return h
	}
	sll := join(u16(0), u16(1), u16(6), mac1, []byte{0, 0}, u16(0x0800), raw4)
	sll6 := join(u16(4), u16(1), u16(6), mac1, []byte{0, 0}, u16(0x86DD), raw6)
	sll2 := join(u16(0x0800), u16(0), u32(3), u16(1), []byte{0, 6}, mac1, []byte{0, 0}, raw4)
	nflog := func(order binary.AppendByteOrder) []byte {
		b := []byte{2, 0, 0, 1}
		tlv := func(typ uint16, v []byte) {
			n := 4 + len(v)
			b = order.AppendUint16(b, uint16(n))
			b = order.AppendUint16(b, typ)
			b = append(b, v...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
		}
		tlv(1, []byte{0x08, 0x00, 1, 0}) // packet header
		tlv(10, []byte("eth0\x00"))      // prefix
		tlv(9, raw4)
		return b
	}
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	// A 4-byte pseudowire control word, then an Ethernet frame.
	pwEth := append([]byte{0, 0, 0, 0}, eth4...)
	mpls := func(labels ...uint32) []byte {
		var b []byte
		for i, l := range labels {
			v := l<<12 | 64
			if i == len(labels)-1 {
				v |= 1 << 8
			}
			b = append(b, u32(v)...)
		}
		return b
	}
	hopByHop := []byte{60, 0, 1, 4, 0, 0, 0, 0}                                // next: dest opts; PadN
	destOpts := []byte{43, 0, 1, 4, 0, 0, 0, 0}                                // next: routing
	routing := []byte{51, 0, 0, 0, 0, 0, 0, 0}                                 // next: AH; type 0, segments left 0
	ah := join([]byte{6, 4, 0, 0}, u32(0x100), u32(1), u32(0), u32(0), u32(0)) // (4+2)*4 = 24 bytes
	ext6 := ser(t, eth(layers.EthernetTypeIPv6), ip6(0, cli6, srv6), gopacket.Payload(join(hopByHop, destOpts, routing, ah, tcpb)))
	atomic6 := ser(t, eth(layers.EthernetTypeIPv6), ip6(44, cli6, srv6), gopacket.Payload(join([]byte{6, 0, 0, 0}, u32(77), tcpb)))
	ah4 := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolAH, cli4, srv4), gopacket.Payload(join(ah, tcpb)))
	ipOpts := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli4, DstIP: srv4,
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}}} // router alert
	tso := ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...)
	tso[14+2], tso[14+3] = 0, 0 // total length 0, as captured on a TSO sender
	// PPTP: GRE v1, key = payload length | call id 0x4242, PPP with address/control.
	pptp := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
		gopacket.Payload(join(u16(0x3081), u16(0x880B), u16(uint16(len(raw4)+4)), u16(0x4242), u32(1), u32(0), []byte{0xff, 0x03, 0x00, 0x21}, raw4)))

	cases := []struct {
		name  string
		link  LinkType
		frame []byte
		cfg   func(*Config)
		want  Packet
	}{
		{"ethernet/ipv4/tcp", LinkEthernet, eth4, nil, want4(flow.Outer{})},
		{"ethernet/ipv6/tcp", LinkEthernet, eth6, nil, want6(flow.Outer{})},
		{"ipv4 options", LinkEthernet, ser(t, eth(layers.EthernetTypeIPv4), ipOpts, theTCP(), gopacket.Payload(httpReq)), nil, want4(flow.Outer{})},
		{"ipv4 tso total length 0", LinkEthernet, tso, nil, want4(flow.Outer{})},
		{"ipv4 ah", LinkEthernet, ah4, nil, want4(flow.Outer{})},
		{"ipv6 extension headers", LinkEthernet, ext6, nil, want6(flow.Outer{})},
		{"ipv6 atomic fragment", LinkEthernet, atomic6, nil, want6(flow.Outer{})},
		{"802.1q", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeDot1Q), dot1q(42, layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 42})},
		{"802.1ad qinq", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeQinQ), dot1q(100, layers.EthernetTypeDot1Q), dot1q(200, layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 100, InnerVLAN: 200})},
		{"three tags", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeQinQ), dot1q(1, layers.EthernetTypeDot1Q), dot1q(2, layers.EthernetTypeDot1Q), dot1q(3, layers.EthernetTypeIPv6), in6())...), nil,
			want6(flow.Outer{VLAN: 1, InnerVLAN: 2})},
		{"ignore vlan", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeDot1Q), dot1q(42, layers.EthernetTypeIPv4), in4())...),
			func(c *Config) { c.IgnoreVLAN = true }, want4(flow.Outer{})},
		{"mpls ipv4", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, StackBottom: true, TTL: 64}, in4())...), nil,
			want4(flow.Outer{Tunnel: flow.TunnelMPLS})},
		{"mpls stack ipv6", LinkEthernet, ser(t, eth(layers.EthernetTypeMPLSUnicast), gopacket.Payload(join(mpls(16, 17, 18), raw6))), nil,
			want6(flow.Outer{Tunnel: flow.TunnelMPLS})},
		{"mpls pseudowire control word", LinkEthernet, ser(t, eth(layers.EthernetTypeMPLSUnicast), gopacket.Payload(join(mpls(300), pwEth))), nil,
			want4(flow.Outer{Tunnel: flow.TunnelMPLS})},
		{"mpls pseudowire no control word", LinkEthernet, ser(t, eth(layers.EthernetTypeMPLSUnicast), gopacket.Payload(join(mpls(300), eth4))), nil,
			want4(flow.Outer{Tunnel: flow.TunnelMPLS})},
		{"mpls in vlan", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeDot1Q), dot1q(7, layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 99, StackBottom: true, TTL: 1}, in4())...), nil,
			want4(flow.Outer{VLAN: 7, Tunnel: flow.TunnelMPLS})},
		{"pppoe", LinkEthernet, ser(t, cat(eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, SessionId: 9}, &layers.PPP{PPPType: layers.PPPTypeIPv4}, in4())...), nil,
			want4(flow.Outer{})},
		{"pppoe ipv6", LinkEthernet, ser(t, cat(eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, SessionId: 9}, &layers.PPP{PPPType: layers.PPPTypeIPv6}, in6())...), nil,
			want6(flow.Outer{})},
		{"vxlan", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(4789), &layers.VXLAN{ValidIDFlag: true, VNI: 0xabcdef}, eth(layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VNI: 0xabcdef, Tunnel: flow.TunnelVXLAN})},
		{"vxlan 8472 reserved bits set", LinkEthernet, outerUDP(8472, join([]byte{0xff, 0xff, 0xff, 0xff}, u32(77<<8|0xff), eth4)), nil,
			want4(flow.Outer{VNI: 77, Tunnel: flow.TunnelVXLAN})},
		{"vxlan in vlan, untagged tenant keeps outer vlan", LinkEthernet,
			ser(t, cat(eth(layers.EthernetTypeDot1Q), dot1q(10, layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(4789), &layers.VXLAN{ValidIDFlag: true, VNI: 5}, eth(layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 10, VNI: 5, Tunnel: flow.TunnelVXLAN})},
		{"vxlan in vlan, tagged tenant wins", LinkEthernet,
			ser(t, cat(eth(layers.EthernetTypeDot1Q), dot1q(10, layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(4789), &layers.VXLAN{ValidIDFlag: true, VNI: 5}, eth(layers.EthernetTypeDot1Q), dot1q(33, layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 33, VNI: 5, Tunnel: flow.TunnelVXLAN})},
		{"vxlan in qinq, priority-tagged tenant keeps outer vlans", LinkEthernet,
			ser(t, cat(eth(layers.EthernetTypeQinQ), dot1q(10, layers.EthernetTypeDot1Q), dot1q(11, layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(4789), &layers.VXLAN{ValidIDFlag: true, VNI: 5}, eth(layers.EthernetTypeDot1Q), dot1q(0, layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 10, InnerVLAN: 11, VNI: 5, Tunnel: flow.TunnelVXLAN})},
		{"vxlan-gpe ipv4", LinkEthernet, outerUDP(4790, join([]byte{0x0c, 0, 0, 1}, u32(9<<8), raw4)), nil,
			want4(flow.Outer{VNI: 9, Tunnel: flow.TunnelVXLAN})},
		{"vxlan-gpe ethernet", LinkEthernet, outerUDP(4790, join([]byte{0x0c, 0, 0, 3}, u32(9<<8), eth6)), nil,
			want6(flow.Outer{VNI: 9, Tunnel: flow.TunnelVXLAN})},
		{"vxlan port not configured", LinkEthernet, outerUDP(4789, join([]byte{8, 0, 0, 0}, u32(1<<8), eth4)),
			func(c *Config) { c.VXLANPorts = nil }, Packet{}},
		{"geneve ethernet, options", LinkEthernet, outerUDP(6081, join(geneve(0x6558, 0x123456, 5), eth4)), nil,
			want4(flow.Outer{VNI: 0x123456, Tunnel: flow.TunnelGENEVE})},
		{"geneve ipv6, no options", LinkEthernet, outerUDP(6081, join(geneve(0x86DD, 1, 0), raw6)), nil,
			want6(flow.Outer{VNI: 1, Tunnel: flow.TunnelGENEVE})},
		{"geneve then gre", LinkEthernet, outerUDP(6081, join(geneve(0x0800, 0, 2), ser(t, ip4(layers.IPProtocolGRE, tep2, tep1), &layers.GRE{Protocol: layers.EthernetTypeIPv4}, gopacket.Payload(raw4)))), nil,
			want4(flow.Outer{Tunnel: flow.TunnelGRE})},
		{"gre ipv4 key", LinkEthernet, gre(&layers.GRE{KeyPresent: true, Key: 0xfeed, Protocol: layers.EthernetTypeIPv4}, in4()...), nil,
			want4(flow.Outer{Session: 0xfeed, Tunnel: flow.TunnelGRE})},
		{"gre key ignored", LinkEthernet, gre(&layers.GRE{KeyPresent: true, Key: 0xfeed, Protocol: layers.EthernetTypeIPv4}, in4()...),
			func(c *Config) { c.IgnoreSession = true }, want4(flow.Outer{Tunnel: flow.TunnelGRE})},
		{"gre checksum seq ipv6", LinkEthernet, gre(&layers.GRE{ChecksumPresent: true, SeqPresent: true, Seq: 5, Protocol: layers.EthernetTypeIPv6}, in6()...), nil,
			want6(flow.Outer{Tunnel: flow.TunnelGRE})},
		{"gre transparent ethernet", LinkEthernet, gre(&layers.GRE{ChecksumPresent: true, KeyPresent: true, Key: 3, SeqPresent: true, Protocol: layers.EthernetTypeTransparentEthernetBridging}, cat(eth(layers.EthernetTypeDot1Q), dot1q(55, layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VLAN: 55, Session: 3, Tunnel: flow.TunnelGRE})},
		{"gre routing (rfc 1701)", LinkEthernet, ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
			gopacket.Payload(join(u16(0x4000), u16(0x0800), u32(0), u16(0x0800), []byte{0, 4}, u32(0x01020304), u32(0), raw4))), nil,
			want4(flow.Outer{Tunnel: flow.TunnelGRE})},
		{"pptp gre v1", LinkEthernet, pptp, nil, want4(flow.Outer{Session: 0x4242, Tunnel: flow.TunnelGRE})},
		{"erspan I", LinkEthernet, gre(&layers.GRE{Protocol: layers.EthernetTypeERSPAN}, cat(eth(layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{Tunnel: flow.TunnelERSPAN})},
		{"erspan II", LinkEthernet, gre(&layers.GRE{SeqPresent: true, Seq: 1, Protocol: layers.EthernetTypeERSPAN}, cat(&layers.ERSPANII{Version: 1, VLANIdentifier: 12, SessionID: 777}, eth(layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{Session: 777, Tunnel: flow.TunnelERSPAN})},
		{"erspan III", LinkEthernet, gre(&layers.GRE{SeqPresent: true, Protocol: 0x22EB}, gopacket.Payload(join(erspan3(1023, 0, false), eth6))), nil,
			want6(flow.Outer{Session: 1023, Tunnel: flow.TunnelERSPAN})},
		{"erspan III platform subheader", LinkEthernet, gre(&layers.GRE{SeqPresent: true, Protocol: 0x22EB}, gopacket.Payload(join(erspan3(4, 0, true), eth4))), nil,
			want4(flow.Outer{Session: 4, Tunnel: flow.TunnelERSPAN})},
		{"erspan III ip frame", LinkEthernet, gre(&layers.GRE{SeqPresent: true, Protocol: 0x22EB}, gopacket.Payload(join(erspan3(4, 2, false), raw4))), nil,
			want4(flow.Outer{Session: 4, Tunnel: flow.TunnelERSPAN})},
		{"erspan II then vxlan", LinkEthernet, gre(&layers.GRE{SeqPresent: true, Protocol: layers.EthernetTypeERSPAN}, cat(&layers.ERSPANII{Version: 1, SessionID: 20}, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep2, tep1), udp(4789), &layers.VXLAN{ValidIDFlag: true, VNI: 8}, eth(layers.EthernetTypeIPv4), in4())...), nil,
			want4(flow.Outer{VNI: 8, Session: 20, Tunnel: flow.TunnelVXLAN})},
		{"gre in udp", LinkEthernet, outerUDP(4754, ser(t, &layers.GRE{Protocol: layers.EthernetTypeIPv4}, gopacket.Payload(raw4))), nil,
			want4(flow.Outer{Tunnel: flow.TunnelGRE})},
		{"ipv4 in ipv4", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv4, tep1, tep2), in4())...), nil,
			want4(flow.Outer{Tunnel: flow.TunnelIPIP})},
		{"ipv6 in ipv4", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv6, tep1, tep2), in6())...), nil,
			want6(flow.Outer{Tunnel: flow.TunnelIPIP})},
		{"ipv4 in ipv6", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv4, srv6, cli6), in4())...), nil,
			want4(flow.Outer{Tunnel: flow.TunnelIPIP})},
		{"ipv6 in ipv6", LinkEthernet, ser(t, cat(eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6, srv6, cli6), in6())...), nil,
			want6(flow.Outer{Tunnel: flow.TunnelIPIP})},
		{"llc snap", LinkEthernet, ser(t, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeLLC, Length: uint16(8 + len(raw4))},
			gopacket.Payload(join([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, u16(0x0800), raw4))), nil, want4(flow.Outer{})},
		{"sll", LinkLinuxSLL, sll, nil, want4(flow.Outer{})},
		{"sll ipv6", LinkLinuxSLL, sll6, nil, want6(flow.Outer{})},
		{"sll2", LinkLinuxSLL2, sll2, nil, want4(flow.Outer{})},
		{"raw ipv4", LinkRaw, raw4, nil, want4(flow.Outer{})},
		{"raw ipv6", LinkRaw, raw6, nil, want6(flow.Outer{})},
		{"raw dlt 12", LinkRawDLT12, raw6, nil, want6(flow.Outer{})},
		{"linktype ipv4", LinkIPv4, raw4, nil, want4(flow.Outer{})},
		{"linktype ipv6", LinkIPv6, raw6, nil, want6(flow.Outer{})},
		{"null le 2", LinkNull, join(le32(2), raw4), nil, want4(flow.Outer{})},
		{"null be 2", LinkNull, join(u32(2), raw4), nil, want4(flow.Outer{})},
		{"null le 24", LinkNull, join(le32(24), raw6), nil, want6(flow.Outer{})},
		{"null be 28", LinkNull, join(u32(28), raw6), nil, want6(flow.Outer{})},
		{"null le 30", LinkNull, join(le32(30), raw6), nil, want6(flow.Outer{})},
		{"loop 2", LinkLoop, join(u32(2), raw4), nil, want4(flow.Outer{})},
		{"loop 30", LinkLoop, join(u32(30), raw6), nil, want6(flow.Outer{})},
		{"nflog le", LinkNFLOG, nflog(binary.LittleEndian), nil, want4(flow.Outer{})},
		{"nflog be", LinkNFLOG, nflog(binary.BigEndian), nil, want4(flow.Outer{})},
		{"ethernet padding trimmed", LinkEthernet, append(ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP, cli4, srv4), theTCP()), make([]byte, 6)...), nil,
			func() Packet { p := want4(flow.Outer{}); p.Payload = nil; return p }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			d := NewDecoder(cfg)
			var p Packet
			r := d.Decode(c.frame, c.link, 1234, &p)
			wantR := ResultTCP
			if c.want.SrcPort == 0 {
				wantR = ResultOther
			}
			if r != wantR {
				t.Fatalf("result = %v, want %v; stats %+v", r, wantR, d.Stats())
			}
			if r != ResultTCP {
				return
			}
			c.want.TS = 1234
			checkPacket(t, &p, &c.want)
			// Payload must alias the frame, never a copy.
			if !aliases(p.Payload, c.frame) {
				t.Errorf("payload does not alias the frame")
			}
			if cap(p.Payload) != len(p.Payload) {
				t.Errorf("payload cap %d > len %d: an append would clobber the frame", cap(p.Payload), len(p.Payload))
			}
			s := d.Stats()
			if s.Packets != 1 || s.TCP != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// aliases tells whether sub lies inside b's memory.
func aliases(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &sub[0] {
			return i+len(sub) <= len(b)
		}
	}
	return false
}

// TestDecodeResults covers the non-TCP outcomes and their counters.
func TestDecodeResults(t *testing.T) {
	t.Parallel()
	raw4 := ser(t, in4()...)
	arp := ser(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: mac1, SourceProtAddress: cli4, DstHwAddress: mac2, DstProtAddress: srv4})
	icmp := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, cli4, srv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	dns := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, cli4, srv4), &layers.UDP{SrcPort: 5353, DstPort: 53}, gopacket.Payload("xx"))
	shortTCP := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP, cli4, srv4), gopacket.Payload(make([]byte, 12)))
	badOff := ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...)
	badOff[14+20+12] = 0x40 // data offset 4 words < 5
	greV2 := ser(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(join(u16(2), u16(0x0800), raw4)))
	cases := []struct {
		name  string
		link  LinkType
		frame []byte
		want  Result
		field func(*Stats) uint64
	}{
		{"unknown link", 147, raw4, ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedLink }},
		{"arp", LinkEthernet, arp, ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"icmp", LinkEthernet, icmp, ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"udp not a tunnel", LinkEthernet, dns, ResultOther, func(s *Stats) uint64 { return s.Other }},
		{"macsec", LinkEthernet, ser(t, eth(0x88E5), gopacket.Payload(raw4)), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"gre version 2", LinkEthernet, greV2, ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedTunnel }},
		{"short ethernet", LinkEthernet, make([]byte, 13), ResultMalformed, func(s *Stats) uint64 { return s.MalformedLink }},
		{"short tcp", LinkEthernet, shortTCP, ResultMalformed, func(s *Stats) uint64 { return s.MalformedTCP }},
		{"tcp data offset", LinkEthernet, badOff, ResultMalformed, func(s *Stats) uint64 { return s.MalformedTCP }},
		{"ip version", LinkIPv4, raw4[1:], ResultMalformed, func(s *Stats) uint64 { return s.MalformedIPv4 }},
		{"null family", LinkNull, join(u32(99), raw4), ResultUnsupported, func(s *Stats) uint64 { return s.UnsupportedProto }},
		{"sll netlink", LinkLinuxSLL, join(u16(4), u16(824), u16(0), make([]byte, 8), u16(0), raw4), ResultOther, func(s *Stats) uint64 { return s.Other }},
	}
	for _, c := range cases {
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

// checkSums asserts the counter identities documented on Stats.
func checkSums(t testing.TB, s *Stats) {
	t.Helper()
	if s.Packets != s.TCP+s.Other+s.Fragments+s.Malformed+s.Unsupported {
		t.Errorf("results do not sum to packets: %+v", s)
	}
	if s.Malformed != s.MalformedLink+s.MalformedVLAN+s.MalformedMPLS+s.MalformedPPPoE+s.MalformedIPv4+s.MalformedIPv6+
		s.MalformedTCP+s.MalformedUDP+s.MalformedTunnel+s.MalformedFrag+s.TooDeep {
		t.Errorf("malformed breakdown does not sum: %+v", s)
	}
	if s.Unsupported != s.UnsupportedLink+s.UnsupportedProto+s.UnsupportedTunnel {
		t.Errorf("unsupported breakdown does not sum: %+v", s)
	}
}

// TestSnaplen: a segment cut by the snaplen decodes with Missing set.
func TestSnaplen(t *testing.T) {
	t.Parallel()
	full := ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...)
	hdr := len(full) - len(httpReq)
	for cut := 1; cut <= len(httpReq); cut++ {
		d := NewDecoder(DefaultConfig())
		var p Packet
		if r := d.Decode(full[:len(full)-cut], LinkEthernet, 0, &p); r != ResultTCP {
			t.Fatalf("cut %d: result %v", cut, r)
		}
		if p.Missing != cut || len(p.Payload) != len(httpReq)-cut {
			t.Fatalf("cut %d: missing %d payload %d", cut, p.Missing, len(p.Payload))
		}
		if d.Stats().Snapped != 1 {
			t.Fatalf("cut %d: snapped not counted", cut)
		}
	}
	// Cut inside the TCP header: malformed, counted as snapped.
	d := NewDecoder(DefaultConfig())
	var p Packet
	if r := d.Decode(full[:hdr-1], LinkEthernet, 0, &p); r != ResultMalformed {
		t.Fatalf("header cut: %v", r)
	}
	if s := d.Stats(); s.Snapped != 1 || s.MalformedTCP != 1 {
		t.Fatalf("header cut stats %+v", s)
	}
	// IPv6 too.
	full6 := ser(t, cat(eth(layers.EthernetTypeIPv6), in6())...)
	if r := d.Decode(full6[:len(full6)-10], LinkEthernet, 0, &p); r != ResultTCP || p.Missing != 10 || !p.IPv6 {
		t.Fatalf("ipv6 cut: %v missing %d", r, p.Missing)
	}
}

// TestDepthBound: a frame of nested tunnels stops at maxHops.
func TestDepthBound(t *testing.T) {
	t.Parallel()
	inner := ser(t, in4()...)
	for range maxHops {
		inner = ser(t, ip4(layers.IPProtocolIPv4, tep1, tep2), gopacket.Payload(inner))
	}
	d := NewDecoder(DefaultConfig())
	var p Packet
	if r := d.Decode(inner, LinkRaw, 0, &p); r != ResultMalformed || d.Stats().TooDeep != 1 {
		t.Fatalf("result %v stats %+v", r, d.Stats())
	}
	// Many VLAN tags are fine below the bound.
	ls := []gopacket.SerializableLayer{eth(layers.EthernetTypeDot1Q)}
	for i := 0; i < 10; i++ {
		ls = append(ls, dot1qL(uint16(i+1), layers.EthernetTypeDot1Q))
	}
	ls = append(ls, dot1qL(11, layers.EthernetTypeIPv4))
	ls = append(ls, in4()...)
	if r := d.Decode(ser(t, ls...), LinkEthernet, 0, &p); r != ResultTCP || p.Outer.VLAN != 1 || p.Outer.InnerVLAN != 2 {
		t.Fatalf("10 tags: %v %+v", r, p.Outer)
	}
}

func dot1qL(id uint16, next layers.EthernetType) *layers.Dot1Q {
	return &layers.Dot1Q{VLANIdentifier: id, Type: next}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	bad := DefaultConfig()
	bad.VXLANPorts = []uint16{0, 6081}
	bad.FragMaxDatagrams = 0
	bad.FragMaxBytes = 100
	bad.FragTimeout = 0
	bad.FragMaxDatagram = 70000
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"port 0", "both", "frag_max_datagrams", "frag_max_bytes", "frag_timeout", "frag_max_datagram "} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// NewDecoder runs bounded on a bad config.
	d := NewDecoder(bad)
	if d.frag.maxN != 4096 || d.frag.maxBytes < d.frag.maxDatagram || d.frag.timeout <= 0 || d.frag.maxDatagram != 65535 {
		t.Fatalf("bad config not repaired: %+v", d.frag)
	}
}
