package decode

import (
	"encoding/binary"
	"math/bits"
)

// Hash is a symmetric flow hash of p: both directions of a connection, and
// only packets with the same Outer, give the same value. The sensor shards
// packets to workers with it, so it must be cheap: a few multiplies, no
// allocation, no reflection.
//
// The endpoints are put in canonical order (lower address, then lower
// port, first) before hashing, which makes the hash symmetric without the
// weakness of XOR-ing the two directions (a^b is 0 for a == b and
// collides for swapped halves).
func Hash(p *Packet) uint32 {
	a0, a1 := binary.LittleEndian.Uint64(p.Src[:8]), binary.LittleEndian.Uint64(p.Src[8:])
	b0, b1 := binary.LittleEndian.Uint64(p.Dst[:8]), binary.LittleEndian.Uint64(p.Dst[8:])
	ap, bp := p.SrcPort, p.DstPort
	if a0 > b0 || a0 == b0 && (a1 > b1 || a1 == b1 && ap > bp) {
		a0, a1, ap, b0, b1, bp = b0, b1, bp, a0, a1, ap
	}
	o := &p.Outer
	h := uint64(0x243F6A8885A308D3) // seed: digits of pi
	h = mix(h, a0)
	h = mix(h, a1)
	h = mix(h, b0)
	h = mix(h, b1)
	h = mix(h, uint64(ap)<<16|uint64(bp))
	h = mix(h, uint64(o.VLAN)|uint64(o.InnerVLAN)<<16|uint64(o.VNI)<<32)
	h = mix(h, uint64(o.Session)|uint64(o.Tunnel)<<32)
	// Final avalanche (murmur3 fmix64) so low bits are usable for modulo.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h)
}

// mix folds w into h: a 128-bit multiply folded to 64 bits (wyhash style).
func mix(h, w uint64) uint64 {
	hi, lo := bits.Mul64(h^w, 0x9E3779B97F4A7C15)
	return hi ^ lo
}
