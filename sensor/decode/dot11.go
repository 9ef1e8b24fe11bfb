package decode

import "encoding/binary"

// IEEE 802.11, as written by monitor-mode captures (radiotap) and carried by
// Aruba controller GRE tunnels. Only unprotected, unfragmented data frames
// with an LLC/SNAP header can hold a TCP segment we can read.

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// Radiotap flags (the field present when bit 1 of the first present word is set).
const (
	rtFCS     = 0x10 // the frame ends with a 4-byte FCS
	rtDataPad = 0x20 // padding after the 802.11 header, to a 4-byte boundary
	rtBadFCS  = 0x40 // the FCS check failed: the frame is corrupt
)

// radiotap skips a radiotap header (little-endian; its length field covers
// every field). It reads the Flags field, which is either first or follows
// the 8-byte-aligned TSFT: a frame whose FCS failed is corrupt and
// Malformed, a trailing FCS is cut off, and DATAPAD (Atheros) says the
// 802.11 header is padded.
func (d *Decoder) radiotap(b []byte) ([]byte, step, Result) {
	if len(b) < 8 || b[0] != 0 {
		return done(d.bad(atLink))
	}
	n := int(le16(b[2:]))
	if n < 8 || len(b) < n {
		return done(d.bad(atLink))
	}
	present := le32(b[4:])
	off := 8
	for w := present; w&(1<<31) != 0; off += 4 { // extended present bitmaps
		if off+4 > n {
			return done(d.bad(atLink))
		}
		w = le32(b[off:])
	}
	if present&1 != 0 { // TSFT: 8 bytes, 8-aligned
		off = (off+7)&^7 + 8
	}
	var flags byte
	if present&2 != 0 {
		if off >= n {
			return done(d.bad(atLink))
		}
		flags = b[off]
	}
	if flags&rtBadFCS != 0 {
		return done(d.bad(atLink))
	}
	b = b[n:]
	d.padded = flags&rtDataPad != 0
	if flags&rtFCS != 0 {
		if len(b) < 4 {
			return done(d.bad(atLink))
		}
		b = b[:len(b)-4]
	}
	return b, sDot11, 0
}

// dot11 parses an 802.11 MAC header (no FCS) and the LLC/SNAP header of a
// data frame. Management and control frames, null data, protected
// (encrypted) frames, fragments and A-MSDUs are not followed.
func (d *Decoder) dot11(b []byte) ([]byte, step, Result) {
	if len(b) < 2 {
		return done(d.bad(atLink))
	}
	d.tags, d.ft = 0, [2]uint16{} // a new L2 frame for the VLAN rule
	fc0, fc1 := b[0], b[1]
	subtype := fc0 >> 4
	if fc0&3 != 0 || (fc0>>2)&3 != 2 || subtype&4 != 0 {
		return done(ResultOther) // not version 0, not data, or no payload
	}
	n := 24 // frame control, duration, 3 addresses, sequence control
	if fc1&3 == 3 {
		n += 6 // to DS and from DS: a fourth address
	}
	amsdu := false
	if subtype&8 != 0 { // QoS data: QoS control, and HT control when Order is set
		if len(b) >= n+2 {
			amsdu = b[n]&0x80 != 0
		}
		n += 2
		if fc1&0x80 != 0 {
			n += 4
		}
	}
	if d.padded {
		n = (n + 3) &^ 3
	}
	if len(b) < n {
		return done(d.bad(atLink))
	}
	if fc1&0x40 != 0 || fc1&0x04 != 0 || le16(b[22:])&0xf != 0 || amsdu {
		// Encrypted, fragmented or aggregated: may carry IP we cannot reach.
		return done(d.unsupported(unProto))
	}
	b = b[n:]
	// LLC/SNAP with the RFC 1042 (0) or 802.1H bridge-tunnel (0xF8) OUI.
	if len(b) >= 8 && b[0] == 0xAA && b[1] == 0xAA && b[2] == 0x03 && b[3]|b[4] == 0 && (b[5] == 0 || b[5] == 0xF8) {
		return d.etherType(be16(b[6:]), b[8:])
	}
	return done(ResultOther)
}
