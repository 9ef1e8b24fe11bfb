package decode

// Stats are the decoder's counters since NewDecoder. Every frame is counted
// exactly once in one of the result counters, so
//
//	Packets == TCP + Other + Fragments + Malformed + Unsupported
//
// The other counters break those down; they are not exclusive (a VXLAN
// packet in a VLAN counts in both VLAN and VXLAN).
type Stats struct {
	// Results.
	Packets     uint64 // frames passed to Decode
	TCP         uint64 // ResultTCP (including datagrams completed by a fragment)
	Other       uint64 // ResultOther: valid, not TCP
	Fragments   uint64 // ResultFragment: fragment stored, datagram not complete yet
	Malformed   uint64 // ResultMalformed, broken down below
	Unsupported uint64 // ResultUnsupported, broken down below

	// Malformed by the layer that failed. Sums to Malformed.
	MalformedLink   uint64 // link header (Ethernet, SLL, loopback, NFLOG) truncated or invalid
	MalformedVLAN   uint64 // 802.1Q/802.1ad tag truncated
	MalformedMPLS   uint64 // label stack truncated or too deep, or no payload guess fits
	MalformedPPPoE  uint64 // PPPoE/PPP header truncated or invalid
	MalformedIPv4   uint64 // bad version, IHL, total length, options or AH
	MalformedIPv6   uint64 // bad version, payload length or extension header chain
	MalformedTCP    uint64 // TCP header truncated or data offset invalid
	MalformedUDP    uint64 // UDP header of a tunnel truncated
	MalformedTunnel uint64 // VXLAN, GENEVE, GRE or ERSPAN header truncated or invalid
	MalformedFrag   uint64 // fragment unusable: cut by snaplen, bad length, past the datagram limit, inconsistent
	TooDeep         uint64 // more nested headers than the decoder follows (maxHops)

	// Unsupported by reason. Sums to Unsupported.
	UnsupportedLink   uint64 // link type not parsed
	UnsupportedProto  uint64 // ethertype / GRE protocol / MPLS payload we cannot follow
	UnsupportedTunnel uint64 // tunnel version or option we do not parse (GRE v>0, ERSPAN frame type, GENEVE v>0)

	// Snapped counts frames cut by the snaplen: ResultTCP with Missing > 0,
	// plus malformed frames whose header was cut short of the IP length.
	Snapped uint64

	// Encapsulations seen, counted once per header (a QinQ frame counts 2 in VLAN).
	VLAN    uint64 // 802.1Q / 802.1ad tags
	MPLS    uint64 // MPLS label stacks (not labels)
	PPPoE   uint64 // PPPoE session headers
	VXLAN   uint64 // VXLAN and VXLAN-GPE headers
	GENEVE  uint64
	GRE     uint64 // GRE headers, including GRE-in-UDP
	GREUDP  uint64 // GRE-in-UDP
	ERSPAN  uint64 // ERSPAN type I, II and III headers
	IPIP    uint64 // IPv4/IPv6 inside IPv4/IPv6
	NFLOG   uint64 // NFLOG frames
	IPv4    uint64 // IPv4 headers (every level)
	IPv6    uint64 // IPv6 headers (every level)
	IPv6Ext uint64 // IPv6 extension headers walked

	// Fragment reassembly (IPv4 and IPv6).
	FragDatagrams   uint64 // datagrams reassembled and decoded
	FragTimeout     uint64 // datagrams dropped: incomplete after FragTimeout
	FragDropCap     uint64 // datagrams dropped to stay within FragMaxDatagrams / FragMaxBytes
	FragOverlap     uint64 // fragments that overlapped held data (the first copy wins)
	FragIPv6        uint64 // IPv6 fragments seen (stored or not)
	FragInFlight    uint64 // gauge: datagrams waiting for fragments now
	FragBytesInHeap uint64 // gauge: bytes held by reassembly buffers now
}

// layerID names the layer that failed, for the Malformed breakdown.
type layerID uint8

const (
	atLink layerID = iota
	atVLAN
	atMPLS
	atPPPoE
	atIPv4
	atIPv6
	atTCP
	atUDP
	atTunnel
	atFrag
	atDepth
)

// bad counts a malformed frame at layer l.
func (d *Decoder) bad(l layerID) Result {
	s := &d.stats
	switch l {
	case atLink:
		s.MalformedLink++
	case atVLAN:
		s.MalformedVLAN++
	case atMPLS:
		s.MalformedMPLS++
	case atPPPoE:
		s.MalformedPPPoE++
	case atIPv4:
		s.MalformedIPv4++
	case atIPv6:
		s.MalformedIPv6++
	case atTCP:
		s.MalformedTCP++
	case atUDP:
		s.MalformedUDP++
	case atTunnel:
		s.MalformedTunnel++
	case atFrag:
		s.MalformedFrag++
	default:
		s.TooDeep++
	}
	return ResultMalformed
}

// unsupported reasons.
const (
	unLink uint8 = iota
	unProto
	unTunnel
)

func (d *Decoder) unsupported(why uint8) Result {
	switch why {
	case unLink:
		d.stats.UnsupportedLink++
	case unProto:
		d.stats.UnsupportedProto++
	default:
		d.stats.UnsupportedTunnel++
	}
	return ResultUnsupported
}
