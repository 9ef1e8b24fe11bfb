package decode

import "github.com/apitap/apitap/flow"

// maxExt bounds the IPv6 extension headers (and IPv4 AH headers) walked in
// one packet; RFC 8200 allows each kind once or twice.
const maxExt = 8

// v4Prefix is the ::ffff:0:0/96 prefix of an IPv4-mapped address.
var v4Prefix = Addr{10: 0xff, 11: 0xff}

// ipVersion dispatches on the version nibble (raw IP, ERSPAN III).
func (d *Decoder) ipVersion(b []byte) ([]byte, step, Result) {
	if len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			return b, sIPv4, 0
		case 6:
			return b, sIPv6, 0
		}
	}
	return done(d.bad(atIPv4))
}

// ipv4 parses an IPv4 header. The header checksum is not verified: mirror
// ports and hosts with checksum offload hand us packets whose checksum was
// never filled in. The total length trims Ethernet padding and tells how
// much a snaplen cut removed; a total length of 0 (left by TCP
// segmentation offload on the sending host) means "what was captured".
func (d *Decoder) ipv4(b []byte, p *Packet) ([]byte, step, Result) {
	d.stats.IPv4++
	if len(b) < 20 || b[0]>>4 != 4 {
		return done(d.bad(atIPv4))
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl {
		return done(d.bad(atIPv4))
	}
	tot := int(be16(b[2:]))
	switch {
	case tot == 0:
		tot = len(b)
	case tot < hl:
		return done(d.bad(atIPv4))
	}
	d.missing = 0
	if len(b) > tot {
		b = b[:tot]
	} else if tot > len(b) {
		d.missing = tot - len(b)
		d.cut = true
	}
	p.IPv6 = false
	p.Src, p.Dst = v4Prefix, v4Prefix
	copy(p.Src[12:], b[12:16])
	copy(p.Dst[12:], b[16:20])
	proto := b[9]
	if ff := be16(b[6:]); ff&0x3fff != 0 { // MF set or offset > 0
		return d.fragment(p, uint32(be16(b[4:])), int(ff&0x1fff)*8, ff&0x2000 != 0, proto, b[hl:], hl)
	}
	return d.ipProto(proto, b[hl:], p, false)
}

// ipv6 parses an IPv6 header and its extension headers (hop-by-hop,
// routing, destination options, fragment, AH).
func (d *Decoder) ipv6(b []byte, p *Packet) ([]byte, step, Result) {
	d.stats.IPv6++
	if len(b) < 40 || b[0]>>4 != 6 {
		return done(d.bad(atIPv6))
	}
	plen := int(be16(b[4:]))
	nh := b[6]
	p.IPv6 = true
	copy(p.Src[:], b[8:24])
	copy(p.Dst[:], b[24:40])
	b = b[40:]
	d.missing = 0
	// A payload length of 0 is a jumbogram or a TSO capture: take what
	// was captured.
	if plen > 0 {
		if len(b) > plen {
			b = b[:plen]
		} else if plen > len(b) {
			d.missing = plen - len(b)
			d.cut = true
		}
	}
	return d.ipv6Ext(nh, b, p)
}

// ipv6Ext walks IPv6 extension headers from next header nh.
func (d *Decoder) ipv6Ext(nh uint8, b []byte, p *Packet) ([]byte, step, Result) {
	for i := 0; ; i++ {
		if i > maxExt {
			return done(d.bad(atIPv6))
		}
		n := 0
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 2 {
				return done(d.bad(atIPv6))
			}
			n = (int(b[1]) + 1) * 8
		case 51: // AH: length in 4-byte units, minus 2
			if len(b) < 2 {
				return done(d.bad(atIPv6))
			}
			n = (int(b[1]) + 2) * 4
		case 44: // fragment
			if len(b) < 8 {
				return done(d.bad(atIPv6))
			}
			d.stats.IPv6Ext++
			off, more := int(be16(b[2:])&0xfff8), b[3]&1 != 0
			next, id := b[0], be32(b[4:])
			b = b[8:]
			if off == 0 && !more {
				// Atomic fragment (RFC 6946): a whole packet.
				nh = next
				continue
			}
			d.stats.FragIPv6++
			return d.fragment(p, id, off, more, next, b, 40)
		default:
			return d.ipProto(nh, b, p, true)
		}
		if len(b) < n {
			return done(d.bad(atIPv6))
		}
		d.stats.IPv6Ext++
		nh = b[0]
		b = b[n:]
	}
}

// ipProto dispatches on an IP protocol number.
func (d *Decoder) ipProto(proto uint8, b []byte, p *Packet, v6 bool) ([]byte, step, Result) {
	for i := 0; ; i++ {
		switch proto {
		case 6:
			return b, sTCP, 0
		case 17:
			return b, sUDP, 0
		case 47:
			return b, sGRE, 0
		case 4, 41: // IPv4 / IPv6 in IP (RFC 2003, RFC 4213, 6in4, 4in6)
			d.stats.IPIP++
			p.Outer.Tunnel = flow.TunnelIPIP
			if proto == 4 {
				return b, sIPv4, 0
			}
			return b, sIPv6, 0
		case 51: // AH in IPv4 (IPv6 walks it with its extension headers)
			if v6 || len(b) < 2 {
				break
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n || i >= maxExt {
				return done(d.bad(atIPv4))
			}
			proto, b = b[0], b[n:]
			continue
		}
		return done(ResultOther) // ICMP, ESP, SCTP, ...
	}
}

// tcp parses the TCP header (options skipped by the data offset). The
// checksum is not verified (offload, as for IPv4).
func (d *Decoder) tcp(b []byte, p *Packet) Result {
	if len(b) < 20 {
		return d.bad(atTCP)
	}
	off := int(b[12]>>4) * 4
	if off < 20 || len(b) < off {
		return d.bad(atTCP)
	}
	p.SrcPort = be16(b)
	p.DstPort = be16(b[2:])
	p.Seq = be32(b[4:])
	p.Ack = be32(b[8:])
	p.Flags = b[13]
	p.Window = be16(b[14:])
	p.Payload = b[off:len(b):len(b)]
	p.Missing = d.missing
	return ResultTCP
}
