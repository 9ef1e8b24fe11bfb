// Package decode turns captured frames into TCP segments: it parses the link
// layer, every encapsulation (VLAN, MPLS, VXLAN, GENEVE, GRE, ERSPAN, IP-in-IP),
// IPv4/IPv6 and TCP by reading each header, never by assuming offsets, and
// reassembles IPv4 fragments with bounded memory.
//
// The decoder is a hot path: Decode allocates nothing per packet. It is not
// safe for concurrent use; the sensor runs one on its reader goroutine.
package decode

import "github.com/apitap/apitap/flow"

// LinkType is the pcap link-layer header type (LINKTYPE_* numbers).
type LinkType uint16

const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet  LinkType = 1   // Ethernet II / 802.3
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6 (version nibble decides)
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkLinuxSLL  LinkType = 113 // Linux cooked v1 (tcpdump -i any)
	LinkIEEE80211 LinkType = 105 // 802.11 frames, no radio header
	LinkRadiotap  LinkType = 127 // radiotap header, then an 802.11 frame
	LinkIPv4      LinkType = 228
	LinkIPv6      LinkType = 229
	LinkLinuxSLL2 LinkType = 276 // Linux cooked v2
)

// TCP flag bits as on the wire (byte 13 of the TCP header).
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
)

// Addr is an IP address in 16-byte form (IPv4 as ::ffff:a.b.c.d).
// A packed array keeps flow keys comparable and pointer-free.
type Addr [16]byte

// Packet is one decoded TCP segment.
//
// Buffer ownership: Payload aliases the frame passed to Decode (or the
// defragmenter's buffer for a reassembled datagram). It is valid only until
// the next call to Decode on the same Decoder. A caller that keeps the
// packet longer must copy Payload.
type Packet struct {
	TS      int64 // capture timestamp, Unix nanoseconds
	Outer   flow.Outer
	Src     Addr
	Dst     Addr
	IPv6    bool
	SrcPort uint16
	DstPort uint16
	Seq     uint32
	Ack     uint32
	Flags   uint8 // FlagSYN | FlagACK ...
	Window  uint16
	// Payload is the TCP payload as captured.
	Payload []byte
	// Missing is the number of payload bytes the IP header declares but the
	// capture does not hold (snaplen cut). The TCP layer treats them as a gap.
	Missing int
}
