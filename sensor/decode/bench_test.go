package decode

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func benchFrames(t testing.TB) (ethTCP, vxlan, ipv6 []byte) {
	ethTCP = ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...)
	vxlan = ser(t, cat(eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), &layers.UDP{SrcPort: 50000, DstPort: 4789},
		&layers.VXLAN{ValidIDFlag: true, VNI: 42}, eth(layers.EthernetTypeDot1Q), dot1qL(7, layers.EthernetTypeIPv4), in4())...)
	ipv6 = ser(t, cat(eth(layers.EthernetTypeIPv6), in6())...)
	return
}

// TestZeroAllocs: Decode allocates nothing per packet.
func TestZeroAllocs(t *testing.T) {
	ethTCP, vxlan, ipv6 := benchFrames(t)
	ext6 := ser(t, eth(layers.EthernetTypeIPv6), ip6(0, cli6, srv6), gopacket.Payload(join([]byte{6, 0, 1, 4, 0, 0, 0, 0}, tcpBytes(t))))
	d := NewDecoder(DefaultConfig())
	var p Packet
	for name, f := range map[string][]byte{"ethernet/ipv4/tcp": ethTCP, "vxlan": vxlan, "ipv6": ipv6, "ipv6 ext": ext6} {
		if d.Decode(f, LinkEthernet, 1, &p) != ResultTCP {
			t.Fatalf("%s: not TCP", name)
		}
		if a := testing.AllocsPerRun(1000, func() { d.Decode(f, LinkEthernet, 1, &p) }); a != 0 {
			t.Errorf("%s: %v allocations per packet", name, a)
		}
	}
	if a := testing.AllocsPerRun(1000, func() { Hash(&p) }); a != 0 {
		t.Errorf("Hash: %v allocations", a)
	}
}

func benchDecode(b *testing.B, f []byte) {
	d := NewDecoder(DefaultConfig())
	var p Packet
	if d.Decode(f, LinkEthernet, 1, &p) != ResultTCP {
		b.Fatal("not TCP")
	}
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Decode(f, LinkEthernet, int64(i), &p)
	}
}

func BenchmarkDecodeEthernetTCP(b *testing.B) {
	f, _, _ := benchFrames(b)
	benchDecode(b, f)
}

func BenchmarkDecodeVXLAN(b *testing.B) {
	_, f, _ := benchFrames(b)
	benchDecode(b, f)
}

func BenchmarkDecodeIPv6(b *testing.B) {
	_, _, f := benchFrames(b)
	benchDecode(b, f)
}

func BenchmarkHash(b *testing.B) {
	f, _, _ := benchFrames(b)
	d := NewDecoder(DefaultConfig())
	var p Packet
	d.Decode(f, LinkEthernet, 1, &p)
	b.ReportAllocs()
	var sink uint32
	for i := 0; i < b.N; i++ {
		p.SrcPort = uint16(i)
		sink += Hash(&p)
	}
	_ = sink
}

// BenchmarkDefrag: one two-fragment datagram reassembled and decoded.
func BenchmarkDefrag(b *testing.B) {
	dg, _ := bigSegment(b)
	f1, f2 := frag4(b, 0, 5, 0, true, dg[:1480]), frag4(b, 0, 5, 1480, false, dg[1480:])
	d := NewDecoder(DefaultConfig())
	var p Packet
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Decode(f1, LinkEthernet, 1, &p)
		if d.Decode(f2, LinkEthernet, 1, &p) != ResultTCP {
			b.Fatal("not reassembled")
		}
	}
}
