package decode

import (
	"math/rand/v2"
	"testing"

	"github.com/apitap/apitap/flow"
)

func randPacket(r *rand.Rand) Packet {
	var p Packet
	if r.IntN(2) == 0 {
		p.Src, p.Dst = v4Prefix, v4Prefix
		for i := 12; i < 16; i++ {
			p.Src[i], p.Dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
	} else {
		for i := range p.Src {
			p.Src[i], p.Dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		p.IPv6 = true
	}
	p.SrcPort, p.DstPort = uint16(r.Uint32()), uint16(r.Uint32())
	return p
}

func reversed(p Packet) Packet {
	p.Src, p.Dst = p.Dst, p.Src
	p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
	return p
}

func TestHashSymmetric(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		p := randPacket(r)
		p.Outer = flow.Outer{VLAN: uint16(r.IntN(4096)), VNI: r.Uint32() >> 8, Tunnel: flow.Tunnel(r.IntN(7))}
		q := reversed(p)
		q.Seq, q.Flags, q.Payload = 99, FlagACK, []byte("x") // not part of the flow
		if Hash(&p) != Hash(&q) {
			t.Fatalf("not symmetric: %+v", p)
		}
	}
	// Same address both sides: ports decide the order.
	p := Packet{Src: addr(cli4), Dst: addr(cli4), SrcPort: 1, DstPort: 2}
	q := reversed(p)
	if Hash(&p) != Hash(&q) {
		t.Fatal("same-address flow not symmetric")
	}
}

// TestHashSeparates: every part of the flow key changes the hash.
func TestHashSeparates(t *testing.T) {
	t.Parallel()
	base := Packet{Src: addr(cli4), Dst: addr(srv4), SrcPort: 40000, DstPort: 80}
	h := Hash(&base)
	for name, mut := range map[string]func(*Packet){
		"src":                       func(p *Packet) { p.Src[15]++ },
		"dst":                       func(p *Packet) { p.Dst[12]++ },
		"sport":                     func(p *Packet) { p.SrcPort++ },
		"dport":                     func(p *Packet) { p.DstPort++ },
		"vlan":                      func(p *Packet) { p.Outer.VLAN = 1 },
		"innervlan":                 func(p *Packet) { p.Outer.InnerVLAN = 1 },
		"vni":                       func(p *Packet) { p.Outer.VNI = 1 },
		"session":                   func(p *Packet) { p.Outer.Session = 1 },
		"tunnel":                    func(p *Packet) { p.Outer.Tunnel = flow.TunnelGRE },
		"ports swapped on one side": func(p *Packet) { p.SrcPort, p.DstPort = p.DstPort, p.SrcPort },
	} {
		p := base
		mut(&p)
		if Hash(&p) == h {
			t.Errorf("%s does not change the hash", name)
		}
	}
}

// TestHashSpread: flows spread evenly over worker counts the sensor uses.
func TestHashSpread(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	for _, workers := range []uint32{2, 3, 8, 16, 64} {
		counts := make([]int, workers)
		for i := 0; i < n; i++ {
			p := randPacket(r)
			// Sequential client ports to one server: the common case.
			p.Dst, p.DstPort = addr(srv4), 443
			p.SrcPort = uint16(i)
			counts[Hash(&p)%workers]++
		}
		exp := n / int(workers)
		for w, c := range counts {
			if c < exp*9/10 || c > exp*11/10 {
				t.Errorf("%d workers: worker %d gets %d flows, expected ~%d", workers, w, c, exp)
			}
		}
	}
}
