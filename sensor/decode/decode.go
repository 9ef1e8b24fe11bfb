package decode

import (
	"encoding/binary"

	"github.com/apitap/apitap/flow"
)

// LinkNFLOG is Linux NFLOG (nflog:N interfaces): a 4-byte header, then TLVs
// of which NFULA_PAYLOAD carries the IP packet.
const LinkNFLOG LinkType = 239

// DLT_RAW as some systems write it in pcap files instead of LINKTYPE_RAW
// (12 on most, 14 on OpenBSD); libpcap and Wireshark read both as raw IP.
const (
	LinkRawDLT12 LinkType = 12
	LinkRawDLT14 LinkType = 14
)

// maxHops bounds the headers followed in one frame (each VLAN tag, tunnel,
// IP header counts one). Real traffic needs about ten; the bound keeps a
// crafted frame of nested tunnels from costing more than a few hundred ns.
const maxHops = 40

// step is the next header to parse.
type step uint8

const (
	sDone   step = iota
	sEther       // Ethernet II / 802.3 header
	sVLAN        // one 802.1Q / 802.1ad tag
	sMPLS        // MPLS label stack
	sPPPoE       // PPPoE session header
	sPPP         // PPP protocol field
	sIP          // IPv4 or IPv6, by the version nibble
	sIPv4        // IPv4 header
	sIPv6        // IPv6 header and extension headers
	sTCP         // TCP header: the end of the walk
	sUDP         // UDP header: a tunnel or the end
	sGRE         // GRE header (and ERSPAN behind it)
	sVXLAN       // VXLAN header
	sGPE         // VXLAN-GPE header
	sGENEVE      // GENEVE header
	sDot11       // IEEE 802.11 MAC header (no FCS) and LLC/SNAP
)

// UDP port kinds.
const (
	udpVXLAN uint8 = iota + 1
	udpGPE
	udpGENEVE
	udpGRE
)

type udpPort struct {
	port uint16
	kind uint8
}

// Decoder decodes frames into TCP segments. It is not safe for concurrent
// use; one per reader goroutine.
type Decoder struct {
	cfg   Config
	ports []udpPort
	stats Stats
	frag  defrag

	// Per-frame state of the walk, reset by Decode.
	missing int       // bytes the innermost IP header declares beyond the capture
	cut     bool      // some IP header declared more than was captured
	tags    int       // VLAN tags seen in the current Ethernet frame
	ft      [2]uint16 // the current frame's first two VLAN ids
	padded  bool      // radiotap DATAPAD: the 802.11 header is padded to 4 bytes
}

// NewDecoder returns a decoder for cfg. A Config that fails Validate is
// not rejected here: each out-of-range fragment limit is replaced by its
// default and port 0 is ignored, so the decoder always runs bounded.
func NewDecoder(cfg Config) *Decoder {
	def := DefaultConfig()
	if cfg.FragMaxDatagrams < 1 || cfg.FragMaxDatagrams > 1<<20 {
		cfg.FragMaxDatagrams = def.FragMaxDatagrams
	}
	if cfg.FragMaxDatagram < 576 || cfg.FragMaxDatagram > 65535 {
		cfg.FragMaxDatagram = def.FragMaxDatagram
	}
	if cfg.FragMaxBytes < cfg.FragMaxDatagram || cfg.FragMaxBytes > 1<<32 {
		cfg.FragMaxBytes = max(def.FragMaxBytes, cfg.FragMaxDatagram)
	}
	if cfg.FragTimeout <= 0 {
		cfg.FragTimeout = def.FragTimeout
	}
	d := &Decoder{cfg: cfg}
	add := func(ports []uint16, kind uint8) {
		for i, p := range ports {
			if p != 0 && i < maxPorts {
				d.ports = append(d.ports, udpPort{p, kind})
			}
		}
	}
	add(cfg.VXLANPorts, udpVXLAN)
	add(cfg.VXLANGPEPorts, udpGPE)
	add(cfg.GENEVEPorts, udpGENEVE)
	add(cfg.GREUDPPorts, udpGRE)
	d.frag.init(&cfg, &d.stats)
	return d
}

// Stats returns the counters.
func (d *Decoder) Stats() Stats {
	s := d.stats
	s.FragInFlight = uint64(d.frag.n)
	s.FragBytesInHeap = uint64(d.frag.bytes)
	return s
}

// Decode parses one frame of link type link captured at ts (Unix ns, the
// capture clock that also drives fragment timeouts). On ResultTCP, p holds
// the segment; on any other result p's contents are unspecified. p.Payload
// aliases frame or the reassembly buffer and is valid until the next call.
func (d *Decoder) Decode(frame []byte, link LinkType, ts int64, p *Packet) Result {
	d.stats.Packets++
	if d.frag.busy() {
		d.frag.tick(ts)
	}
	*p = Packet{TS: ts}
	d.missing, d.cut, d.tags, d.ft, d.padded = 0, false, 0, [2]uint16{}, false

	var s step
	r := ResultOther
	b := frame
	switch link {
	case LinkEthernet:
		s = sEther
	case LinkRaw, LinkRawDLT12, LinkRawDLT14:
		s = sIP
	case LinkIPv4:
		s = sIPv4
	case LinkIPv6:
		s = sIPv6
	case LinkLinuxSLL:
		b, s, r = d.sll(b)
	case LinkLinuxSLL2:
		b, s, r = d.sll2(b)
	case LinkNull, LinkLoop:
		b, s, r = d.loopback(b, link)
	case LinkNFLOG:
		b, s, r = d.nflog(b)
	case LinkIEEE80211:
		s = sDot11
	case LinkRadiotap:
		b, s, r = d.radiotap(b)
	default:
		s, r = sDone, d.unsupported(unLink)
	}
	if s != sDone {
		r = d.walk(b, s, p)
	}

	switch r {
	case ResultTCP:
		d.stats.TCP++
		if p.Missing > 0 {
			d.stats.Snapped++
		}
	case ResultOther:
		d.stats.Other++
	case ResultFragment:
		d.stats.Fragments++
	case ResultMalformed:
		d.stats.Malformed++
		if d.cut {
			d.stats.Snapped++
		}
	default:
		d.stats.Unsupported++
	}
	return r
}

// walk parses header after header from step s until a terminal result.
func (d *Decoder) walk(b []byte, s step, p *Packet) Result {
	var r Result
	for range maxHops {
		switch s {
		case sEther:
			b, s, r = d.ether(b)
		case sVLAN:
			b, s, r = d.vlan(b, p)
		case sIPv4:
			b, s, r = d.ipv4(b, p)
		case sIPv6:
			b, s, r = d.ipv6(b, p)
		case sTCP:
			return d.tcp(b, p)
		case sUDP:
			b, s, r = d.udp(b)
		case sIP:
			b, s, r = d.ipVersion(b)
		case sMPLS:
			b, s, r = d.mpls(b, p)
		case sPPPoE:
			b, s, r = d.pppoe(b)
		case sPPP:
			b, s, r = d.ppp(b)
		case sGRE:
			b, s, r = d.gre(b, p)
		case sVXLAN:
			b, s, r = d.vxlan(b, p)
		case sGPE:
			b, s, r = d.vxlanGPE(b, p)
		case sGENEVE:
			b, s, r = d.geneve(b, p)
		case sDot11:
			b, s, r = d.dot11(b)
		default:
			return r
		}
	}
	return d.bad(atDepth)
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// done ends the walk with r.
func done(r Result) ([]byte, step, Result) { return nil, sDone, r }

// ---- link layers ----

// ether parses an Ethernet header. Every Ethernet header starts a new
// frame for the VLAN identity rule (see vlan).
func (d *Decoder) ether(b []byte) ([]byte, step, Result) {
	if len(b) < 14 {
		return done(d.bad(atLink))
	}
	d.tags, d.ft = 0, [2]uint16{}
	return d.etherType(be16(b[12:]), b[14:])
}

// etherType dispatches on an EtherType (from Ethernet, a VLAN tag, SLL or
// a GRE/GENEVE protocol type, which share the number space).
func (d *Decoder) etherType(et uint16, b []byte) ([]byte, step, Result) {
	switch et {
	case 0x0800:
		return b, sIPv4, 0
	case 0x86DD:
		return b, sIPv6, 0
	case 0x8100, 0x88A8, 0x9100, 0x9200, 0x9300:
		return b, sVLAN, 0
	case 0x8847, 0x8848:
		return b, sMPLS, 0
	case 0x8864:
		return b, sPPPoE, 0
	case 0x6558: // transparent Ethernet bridging: an Ethernet frame follows
		return b, sEther, 0
	case 0x0806, 0x8035, 0x8863, 0x8809, 0x888E, 0x88CC, 0x88F7, 0x9000, 0x8906, 0x8914, 0x22F0:
		// ARP, RARP, PPPoE discovery, slow protocols (LACP), EAPOL, LLDP,
		// PTP, Ethernet loopback, FCoE, FIP, AVTP: valid, never TCP.
		return done(ResultOther)
	}
	if et <= 1500 {
		// 802.3 length field: an LLC header follows. Only SNAP with the
		// zero OUI carries an EtherType worth following; STP, CDP and
		// the like are other traffic.
		if len(b) >= 8 && b[0] == 0xAA && b[1] == 0xAA && b[2] == 0x03 && b[3]|b[4]|b[5] == 0 {
			if et := be16(b[6:]); et > 1500 {
				return d.etherType(et, b[8:])
			}
		}
		return done(ResultOther)
	}
	// MACsec, PBB, NSH, ...: may carry IP we cannot reach.
	return done(d.unsupported(unProto))
}

// vlan parses one 802.1Q/802.1ad tag.
//
// Identity rule: Outer.VLAN and Outer.InnerVLAN are the first two VLAN ids
// of the innermost Ethernet frame whose tag stack holds a non-zero id.
// So an untagged tenant frame inside VXLAN keeps the VLANs of the outer
// (transport) frame, a tagged one replaces them: the innermost tags name
// the tenant. Priority-only tags (id 0) never replace ids seen further out.
func (d *Decoder) vlan(b []byte, p *Packet) ([]byte, step, Result) {
	if len(b) < 4 {
		return done(d.bad(atVLAN))
	}
	d.stats.VLAN++
	if d.tags < 2 {
		d.ft[d.tags] = be16(b) & 0x0fff
	}
	d.tags++
	et := be16(b[2:])
	switch et {
	case 0x8100, 0x88A8, 0x9100, 0x9200, 0x9300:
	default:
		// End of this frame's tag stack: commit it.
		if d.ft != [2]uint16{} && !d.cfg.IgnoreVLAN {
			p.Outer.VLAN, p.Outer.InnerVLAN = d.ft[0], d.ft[1]
		}
	}
	return d.etherType(et, b[4:])
}

// sll parses a Linux cooked v1 header (16 bytes).
func (d *Decoder) sll(b []byte) ([]byte, step, Result) {
	if len(b) < 16 {
		return done(d.bad(atLink))
	}
	return d.cooked(be16(b[2:]), be16(b[14:]), b[16:])
}

// sll2 parses a Linux cooked v2 header (20 bytes: protocol first).
func (d *Decoder) sll2(b []byte) ([]byte, step, Result) {
	if len(b) < 20 {
		return done(d.bad(atLink))
	}
	return d.cooked(be16(b[8:]), be16(b), b[20:])
}

// cooked dispatches on an SLL ARPHRD type and protocol.
func (d *Decoder) cooked(hatype, proto uint16, b []byte) ([]byte, step, Result) {
	switch {
	case hatype == 824: // ARPHRD_NETLINK: netlink messages
		return done(ResultOther)
	case proto <= 1500:
		// Linux pseudo-protocols (ETH_P_802_2 LLC, ETH_P_CAN, ...): no IP.
		return done(ResultOther)
	}
	// For ARPHRD_IPGRE the protocol is the GRE protocol type, which shares
	// the EtherType space (0x6558 means an Ethernet frame).
	return d.etherType(proto, b)
}

// loopback parses the 4-byte address family of DLT_NULL (host byte order
// of the capturing machine, so both orders are accepted) and DLT_LOOP
// (network order).
func (d *Decoder) loopback(b []byte, link LinkType) ([]byte, step, Result) {
	if len(b) < 4 {
		return done(d.bad(atLink))
	}
	fam := binary.BigEndian.Uint32(b)
	if link == LinkNull && fam > 0xffff {
		fam = binary.LittleEndian.Uint32(b)
	}
	switch fam {
	case 2: // AF_INET everywhere
		return b[4:], sIPv4, 0
	case 24, 28, 30: // AF_INET6: NetBSD/OpenBSD (and Npcap), FreeBSD, Darwin
		return b[4:], sIPv6, 0
	}
	return done(d.unsupported(unProto))
}

// nflog parses a Linux NFLOG frame: family, version, resource id, then
// TLVs (length and type in the capturing host's byte order, each padded to
// 4 bytes). The NFULA_PAYLOAD TLV (type 9) holds the IP packet.
func (d *Decoder) nflog(b []byte) ([]byte, step, Result) {
	if len(b) < 4 || b[1] != 0 {
		return done(d.bad(atLink))
	}
	d.stats.NFLOG++
	fam := b[0]
	b = b[4:]
	var order binary.ByteOrder = binary.LittleEndian
	for i := 0; len(b) >= 4 && i < 64; i++ {
		n := int(order.Uint16(b))
		if i == 0 && (n < 4 || n > len(b)) {
			// Not little-endian: try the other order once.
			order = binary.BigEndian
			n = int(order.Uint16(b))
		}
		if n < 4 || n > len(b) {
			return done(d.bad(atLink))
		}
		if order.Uint16(b[2:])&0x7fff == 9 {
			switch fam {
			case 2:
				return b[4:n], sIPv4, 0
			case 10:
				return b[4:n], sIPv6, 0
			}
			return done(ResultOther)
		}
		n = (n + 3) &^ 3
		if n > len(b) {
			n = len(b)
		}
		b = b[n:]
	}
	// No payload TLV: a log entry without the packet.
	return done(ResultOther)
}

// ---- encapsulations ----

// mpls parses an MPLS label stack and guesses what the bottom label
// carries from the next nibble, as label switches do: 4 is IPv4, 6 is
// IPv6, 0 is the control word of an Ethernet pseudowire. The guess is
// checked: an IP header must have lengths that fit the capture, an
// Ethernet header a known EtherType, so a pseudowire frame whose
// destination MAC starts with 4 or 6 is not taken for IP. A pseudowire
// without control word is accepted when its EtherType is known.
func (d *Decoder) mpls(b []byte, p *Packet) ([]byte, step, Result) {
	d.stats.MPLS++
	for i := 0; ; i++ {
		if len(b) < 4 || i >= 16 {
			return done(d.bad(atMPLS))
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	// MPLS is the transport under everything else: it names the tunnel
	// only when nothing else does.
	if p.Outer.Tunnel == flow.TunnelNone {
		p.Outer.Tunnel = flow.TunnelMPLS
	}
	if len(b) < 1 {
		return done(d.bad(atMPLS))
	}
	nib := b[0] >> 4
	switch {
	case nib == 4 && wholeIPv4(b):
		return b, sIPv4, 0
	case nib == 6 && wholeIPv6(b):
		return b, sIPv6, 0
	case nib == 0 && len(b) >= 18 && plausibleEther(b[4:]):
		return b[4:], sEther, 0
	case plausibleEther(b):
		return b, sEther, 0
	case nib == 4:
		return b, sIPv4, 0 // cut by the snaplen, or malformed: IPv4 says
	case nib == 6:
		return b, sIPv6, 0
	}
	return done(d.unsupported(unProto))
}

// wholeIPv4 and wholeIPv6 tell whether b holds an IP header whose length
// fits what was captured: the test that tells an IP packet from an
// Ethernet pseudowire frame whose destination MAC starts with 4 or 6.
func wholeIPv4(b []byte) bool {
	if len(b) < 20 {
		return false
	}
	hl, tot := int(b[0]&0x0f)*4, int(be16(b[2:]))
	return hl >= 20 && tot >= hl && tot <= len(b)
}

func wholeIPv6(b []byte) bool {
	return len(b) >= 40 && int(be16(b[4:]))+40 <= len(b)
}

// plausibleEther tells whether b starts with an Ethernet header carrying
// an EtherType we would follow.
func plausibleEther(b []byte) bool {
	if len(b) < 14 {
		return false
	}
	switch be16(b[12:]) {
	case 0x0800, 0x86DD, 0x8100, 0x88A8, 0x8847, 0x0806:
		return true
	}
	return false
}

// pppoe parses a PPPoE session header (RFC 2516).
func (d *Decoder) pppoe(b []byte) ([]byte, step, Result) {
	if len(b) < 6 || b[0] != 0x11 || b[1] != 0 {
		return done(d.bad(atPPPoE))
	}
	d.stats.PPPoE++
	n := int(be16(b[4:]))
	b = b[6:]
	if n < len(b) {
		b = b[:n]
	}
	return b, sPPP, 0
}

// ppp parses a PPP protocol field, skipping the address/control bytes when
// present (PPTP) and accepting protocol-field compression.
func (d *Decoder) ppp(b []byte) ([]byte, step, Result) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return done(d.bad(atPPPoE))
	}
	proto := uint16(b[0])
	if proto&1 != 0 {
		b = b[1:]
	} else {
		if len(b) < 2 {
			return done(d.bad(atPPPoE))
		}
		proto = be16(b)
		b = b[2:]
	}
	switch proto {
	case 0x21:
		return b, sIPv4, 0
	case 0x57:
		return b, sIPv6, 0
	case 0x281:
		return b, sMPLS, 0
	}
	return done(ResultOther) // LCP, IPCP, CHAP, ...
}

// udp parses a UDP header and follows it when the destination port is a
// configured tunnel port. Only the destination port counts: the source
// port of VXLAN, GENEVE and GRE-in-UDP is flow entropy.
func (d *Decoder) udp(b []byte) ([]byte, step, Result) {
	if len(b) < 8 {
		return done(d.bad(atUDP))
	}
	dport := be16(b[2:])
	var kind uint8
	for _, pt := range d.ports {
		if pt.port == dport {
			kind = pt.kind
			break
		}
	}
	if kind == 0 {
		return done(ResultOther)
	}
	if n := int(be16(b[4:])); n >= 8 && n < len(b) {
		b = b[:n]
	}
	b = b[8:]
	switch kind {
	case udpVXLAN:
		return b, sVXLAN, 0
	case udpGPE:
		return b, sGPE, 0
	case udpGENEVE:
		return b, sGENEVE, 0
	}
	d.stats.GREUDP++
	return b, sGRE, 0
}

// vxlan parses a VXLAN header (RFC 7348). Flags and reserved fields are
// not checked: GBP and other extensions use them, and some switches send
// garbage there; the port already says this is VXLAN.
func (d *Decoder) vxlan(b []byte, p *Packet) ([]byte, step, Result) {
	if len(b) < 8 {
		return done(d.bad(atTunnel))
	}
	d.stats.VXLAN++
	p.Outer.Tunnel = flow.TunnelVXLAN
	p.Outer.VNI = be32(b[4:]) >> 8
	return b[8:], sEther, 0
}

// vxlanGPE parses a VXLAN-GPE header: VXLAN whose byte 3 names the next
// protocol. The P flag that should announce the field is not trusted
// (senders omit it); a zero next protocol means Ethernet, as in VXLAN.
// It is recorded as TunnelVXLAN.
func (d *Decoder) vxlanGPE(b []byte, p *Packet) ([]byte, step, Result) {
	if len(b) < 8 {
		return done(d.bad(atTunnel))
	}
	d.stats.VXLAN++
	p.Outer.Tunnel = flow.TunnelVXLAN
	p.Outer.VNI = be32(b[4:]) >> 8
	next := b[3]
	if next == 0 {
		next = 3
	}
	switch next {
	case 1:
		return b[8:], sIPv4, 0
	case 2:
		return b[8:], sIPv6, 0
	case 3:
		return b[8:], sEther, 0
	case 5:
		return b[8:], sMPLS, 0
	}
	return done(d.unsupported(unTunnel)) // NSH, ...
}

// geneve parses a GENEVE header (RFC 8926) with its variable options.
func (d *Decoder) geneve(b []byte, p *Packet) ([]byte, step, Result) {
	if len(b) < 8 {
		return done(d.bad(atTunnel))
	}
	d.stats.GENEVE++
	if b[0]>>6 != 0 {
		return done(d.unsupported(unTunnel))
	}
	n := 8 + int(b[0]&0x3f)*4
	if len(b) < n {
		return done(d.bad(atTunnel))
	}
	p.Outer.Tunnel = flow.TunnelGENEVE
	p.Outer.VNI = be32(b[4:]) >> 8
	return d.etherType(be16(b[2:]), b[n:])
}

// GRE flag bits (first 16 bits of the header).
const (
	greC = 0x8000 // checksum present
	greR = 0x4000 // routing present (RFC 1701)
	greK = 0x2000 // key present
	greS = 0x1000 // sequence number present
	greA = 0x0080 // acknowledgment present (version 1, PPTP)
)

// gre parses a GRE header: version 0 (RFC 2784/2890, with the RFC 1701
// routing field) and version 1 (PPTP, RFC 2637). The key, or the PPTP call
// id, goes to Outer.Session.
func (d *Decoder) gre(b []byte, p *Packet) ([]byte, step, Result) {
	if len(b) < 4 {
		return done(d.bad(atTunnel))
	}
	d.stats.GRE++
	fl := be16(b)
	pt := be16(b[2:])
	ver := fl & 7
	if ver > 1 || ver == 1 && (fl&greK == 0 || pt != 0x880B) {
		return done(d.unsupported(unTunnel))
	}
	n := 4
	if fl&(greC|greR) != 0 {
		n += 4 // checksum and offset
	}
	var key uint32
	if fl&greK != 0 {
		if len(b) < n+4 {
			return done(d.bad(atTunnel))
		}
		key = be32(b[n:])
		if ver == 1 {
			key &= 0xffff // payload length | call id: only the call id names the session
		}
		n += 4
	}
	if fl&greS != 0 {
		n += 4
	}
	if ver == 1 && fl&greA != 0 {
		n += 4
	}
	if fl&greR != 0 {
		// Source route entries until the null one.
		for i := 0; ; i++ {
			if len(b) < n+4 || i >= 16 {
				return done(d.bad(atTunnel))
			}
			null := be16(b[n:]) == 0 && b[n+3] == 0
			n += 4 + int(b[n+3])
			if null {
				break
			}
		}
	}
	if len(b) < n {
		return done(d.bad(atTunnel))
	}
	b = b[n:]
	p.Outer.Tunnel = flow.TunnelGRE
	if fl&greK != 0 && !d.cfg.IgnoreSession {
		p.Outer.Session = key
	}
	switch pt {
	case 0x88BE:
		// ERSPAN type II, or type I when there is no sequence number
		// (type I has no header of its own).
		return d.erspan(b, p, fl&greS == 0)
	case 0x22EB:
		return d.erspan(b, p, false)
	case 0x880B:
		return b, sPPP, 0
	}
	if pt >= 0x8200 && pt <= 0x8370 && pt&0xf == 0 {
		// Aruba controller tunnels: an 802.11 frame without FCS.
		return b, sDot11, 0
	}
	return d.etherType(pt, b)
}

// erspan parses an ERSPAN header: type II (8 bytes) or type III (12 bytes,
// plus an 8-byte platform subheader when the O bit is set), told apart by
// the version field. The session id goes to Outer.Session. The header's
// VLAN field (the mirrored port's VLAN) is not an 802.1Q tag of the frame
// and is not recorded.
func (d *Decoder) erspan(b []byte, p *Packet, typeI bool) ([]byte, step, Result) {
	d.stats.ERSPAN++
	p.Outer.Tunnel = flow.TunnelERSPAN
	if typeI {
		return b, sEther, 0
	}
	if len(b) < 8 {
		return done(d.bad(atTunnel))
	}
	session := uint32(be16(b[2:]) & 0x3ff)
	n := 8
	next := sEther
	switch b[0] >> 4 {
	case 1: // type II
	case 2: // type III
		if len(b) < 12 {
			return done(d.bad(atTunnel))
		}
		n = 12
		if b[11]&1 != 0 {
			n += 8
		}
		switch (b[10] >> 2) & 0x1f {
		case 0: // Ethernet frame
		case 2: // IP packet
			next = sIP
		default:
			return done(d.unsupported(unTunnel))
		}
		if len(b) < n {
			return done(d.bad(atTunnel))
		}
	default:
		return done(d.unsupported(unTunnel))
	}
	if !d.cfg.IgnoreSession {
		p.Outer.Session = session
	}
	return b[n:], next, 0
}
