package decode

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/apitap/apitap/flow"
)

// frag4 builds an Ethernet frame (VLAN vlan when non-zero) holding one
// IPv4 fragment: bytes [off, off+len(chunk)) of the datagram's payload.
func frag4(t testing.TB, vlan uint16, id uint16, off int, more bool, chunk []byte) []byte {
	t.Helper()
	ip := ip4(layers.IPProtocolTCP, cli4, srv4)
	ip.Id = id
	ip.FragOffset = uint16(off / 8)
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	if vlan == 0 {
		return ser(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(chunk))
	}
	return ser(t, eth(layers.EthernetTypeDot1Q), dot1qL(vlan, layers.EthernetTypeIPv4), ip, gopacket.Payload(chunk))
}

// frag6 is frag4 for IPv6: a fragment header, then the chunk.
func frag6(t testing.TB, id uint32, off int, more bool, next uint8, chunk []byte) []byte {
	t.Helper()
	fo := uint16(off)
	if more {
		fo |= 1
	}
	return ser(t, eth(layers.EthernetTypeIPv6), ip6(44, cli6, srv6), gopacket.Payload(join([]byte{next, 0}, u16(fo), u32(id), chunk)))
}

// bigSegment is a TCP header and a 3000-byte payload: datagram bytes to cut.
func bigSegment(t testing.TB) ([]byte, []byte) {
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	return ser(t, theTCP(), gopacket.Payload(payload)), payload
}

func decodeAll(t testing.TB, d *Decoder, frames [][]byte, ts int64) (Result, Packet) {
	t.Helper()
	var p Packet
	var r Result
	for i, f := range frames {
		r = d.Decode(f, LinkEthernet, ts, &p)
		if i < len(frames)-1 && r != ResultFragment {
			t.Fatalf("fragment %d: %v (stats %+v)", i, r, d.Stats())
		}
	}
	return r, p
}

func TestDefragOrders(t *testing.T) {
	t.Parallel()
	dg, payload := bigSegment(t)
	cuts := []int{0, 1480, 2960, len(dg)}
	var frags [][]byte
	for i := 0; i+1 < len(cuts); i++ {
		frags = append(frags, frag4(t, 0, 7, cuts[i], i+2 < len(cuts), dg[cuts[i]:cuts[i+1]]))
	}
	orders := map[string][]int{"in order": {0, 1, 2}, "reverse": {2, 1, 0}, "last first": {2, 0, 1}, "duplicates": {0, 0, 1, 2}}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(DefaultConfig())
			var seq [][]byte
			for _, i := range order {
				seq = append(seq, frags[i])
			}
			r, p := decodeAll(t, d, seq, 1)
			if r != ResultTCP || !bytes.Equal(p.Payload, payload) || p.Seq != 1000 || p.Src != addr(cli4) {
				t.Fatalf("result %v, payload %d bytes", r, len(p.Payload))
			}
			s := d.Stats()
			if s.FragDatagrams != 1 || s.Fragments != uint64(len(order)-1) || s.FragInFlight != 0 {
				t.Errorf("stats %+v", s)
			}
			if name == "duplicates" && s.FragOverlap != 1 {
				t.Errorf("overlap %d", s.FragOverlap)
			}
		})
	}
}

// TestDefragOverlapFirstWins: overlapping bytes keep the first copy.
func TestDefragOverlapFirstWins(t *testing.T) {
	t.Parallel()
	tcp := ser(t, &layers.TCP{SrcPort: 1, DstPort: 2, DataOffset: 5})
	a := append(append([]byte{}, tcp...), bytes.Repeat([]byte("A"), 20)...) // [0,40)
	b := bytes.Repeat([]byte("B"), 32)                                      // [24,56)
	c := bytes.Repeat([]byte("C"), 16)                                      // [48,64) last
	d := NewDecoder(DefaultConfig())
	r, p := decodeAll(t, d, [][]byte{frag4(t, 0, 1, 0, true, a), frag4(t, 0, 1, 24, true, b), frag4(t, 0, 1, 48, false, c)}, 1)
	if r != ResultTCP {
		t.Fatalf("result %v", r)
	}
	want := "AAAAAAAAAAAAAAAAAAAA" + "BBBBBBBB" + "BBBBBBBB" + "CCCCCCCC"
	// [20,40) A from a, [40,48) B, [48,56) B (first), [56,64) C.
	if string(p.Payload) != want {
		t.Fatalf("payload %q, want %q", p.Payload, want)
	}
	if s := d.Stats(); s.FragOverlap != 2 {
		t.Errorf("overlaps %d, want 2", s.FragOverlap)
	}
}

func TestDefragDrops(t *testing.T) {
	t.Parallel()
	chunk := bytes.Repeat([]byte{1}, 16)
	t.Run("timeout", func(t *testing.T) {
		d := NewDecoder(DefaultConfig())
		var p Packet
		d.Decode(frag4(t, 0, 1, 0, true, chunk), LinkEthernet, 0, &p)
		// Any packet moves the capture clock.
		d.Decode(ser(t, cat(eth(layers.EthernetTypeIPv4), in4())...), LinkEthernet, int64(31*time.Second), &p)
		if s := d.Stats(); s.FragTimeout != 1 || s.FragInFlight != 0 {
			t.Fatalf("stats %+v", s)
		}
		// The second half now starts a new datagram.
		if r := d.Decode(frag4(t, 0, 1, 16, false, chunk), LinkEthernet, int64(31*time.Second), &p); r != ResultFragment {
			t.Fatalf("late fragment: %v", r)
		}
		// The clock never runs backwards: an old timestamp does not revive.
		d.Decode(frag4(t, 0, 2, 0, true, chunk), LinkEthernet, 0, &p)
		if s := d.Stats(); s.FragInFlight != 2 {
			t.Fatalf("in flight %d", s.FragInFlight)
		}
	})
	t.Run("count cap", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.FragMaxDatagrams = 2
		d := NewDecoder(cfg)
		var p Packet
		for id := uint16(1); id <= 3; id++ {
			d.Decode(frag4(t, 0, id, 0, true, chunk), LinkEthernet, int64(id), &p)
		}
		if s := d.Stats(); s.FragDropCap != 1 || s.FragInFlight != 2 {
			t.Fatalf("stats %+v", s)
		}
		// Datagram 1 was the oldest: gone, its last fragment starts anew.
		if r := d.Decode(frag4(t, 0, 1, 16, false, chunk), LinkEthernet, 5, &p); r != ResultFragment {
			t.Fatalf("dropped datagram completed: %v", r)
		}
	})
	t.Run("byte cap", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.FragMaxBytes = 65535
		d := NewDecoder(cfg)
		var p Packet
		for id := uint16(1); id <= 4; id++ {
			d.Decode(frag4(t, 0, id, 40000, true, chunk), LinkEthernet, int64(id), &p)
			if s := d.Stats(); s.FragBytesInHeap > 65535 {
				t.Fatalf("bytes %d over the cap", s.FragBytesInHeap)
			}
		}
		if s := d.Stats(); s.FragDropCap != 3 || s.FragInFlight != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		d := NewDecoder(DefaultConfig())
		var p Packet
		for i, f := range [][]byte{
			frag4(t, 0, 1, 0, true, chunk[:10]), // middle fragment not a multiple of 8
			frag4(t, 0, 1, 65528, false, chunk), // past 65535
			frag4(t, 0, 2, 0, true, chunk),      // fine
			frag4(t, 0, 2, 8, false, chunk[:4]), // last ends at 12 < 16 held: inconsistent
			frag4(t, 0, 3, 16, false, chunk),    // last ends at 32
			frag4(t, 0, 3, 32, true, chunk),     // past the end: inconsistent
			frag4(t, 0, 4, 0, true, chunk)[:40], // cut by the snaplen
		} {
			r := d.Decode(f, LinkEthernet, 1, &p)
			want := ResultMalformed
			if i == 2 || i == 4 {
				want = ResultFragment
			}
			if r != want {
				t.Errorf("frame %d: %v, want %v", i, r, want)
			}
		}
		s := d.Stats()
		if s.MalformedFrag != 5 || s.FragInFlight != 0 || s.Snapped != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestDefragOuterKey: the same datagram id in two VLANs never mixes.
func TestDefragOuterKey(t *testing.T) {
	t.Parallel()
	dg, payload := bigSegment(t)
	d := NewDecoder(DefaultConfig())
	var p Packet
	if r := d.Decode(frag4(t, 10, 9, 0, true, dg[:1480]), LinkEthernet, 1, &p); r != ResultFragment {
		t.Fatal(r)
	}
	if r := d.Decode(frag4(t, 20, 9, 1480, false, dg[1480:]), LinkEthernet, 1, &p); r != ResultFragment {
		t.Fatalf("fragments of two VLANs joined: %v", r)
	}
	if r := d.Decode(frag4(t, 10, 9, 1480, false, dg[1480:]), LinkEthernet, 1, &p); r != ResultTCP || !bytes.Equal(p.Payload, payload) || p.Outer != (flow.Outer{VLAN: 10}) {
		t.Fatalf("vlan 10: %v %+v", r, p.Outer)
	}
}

func TestDefragIPv6(t *testing.T) {
	t.Parallel()
	dg, payload := bigSegment(t)
	// The fragmentable part starts with a destination options header.
	dg = append([]byte{6, 0, 1, 4, 0, 0, 0, 0}, dg...)
	d := NewDecoder(DefaultConfig())
	r, p := decodeAll(t, d, [][]byte{
		frag6(t, 0xabcdef, 1448, false, 60, dg[1448:]),
		frag6(t, 0xabcdef, 0, true, 60, dg[:1448]),
	}, 1)
	if r != ResultTCP || !p.IPv6 || !bytes.Equal(p.Payload, payload) || p.Src != addr(cli6) {
		t.Fatalf("result %v payload %d", r, len(p.Payload))
	}
	if s := d.Stats(); s.FragIPv6 != 2 || s.FragDatagrams != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestDefragBufferLifetime: the reassembled payload stays valid until the
// next Decode and its buffer is reused afterwards, with no allocation.
func TestDefragBufferLifetime(t *testing.T) {
	dg, payload := bigSegment(t)
	f1, f2 := frag4(t, 0, 5, 0, true, dg[:1480]), frag4(t, 0, 5, 1480, false, dg[1480:])
	d := NewDecoder(DefaultConfig())
	_, p := decodeAll(t, d, [][]byte{f1, f2}, 1)
	if !bytes.Equal(p.Payload, payload) || d.frag.npinned != 1 {
		t.Fatal("not reassembled")
	}
	var q Packet
	allocs := testing.AllocsPerRun(100, func() {
		d.Decode(f1, LinkEthernet, 1, &q)
		d.Decode(f2, LinkEthernet, 1, &q)
	})
	if allocs != 0 {
		t.Errorf("steady-state reassembly allocates %v per datagram", allocs)
	}
	if d.frag.total != 1 {
		t.Errorf("%d entries allocated, want 1 reused", d.frag.total)
	}
}
