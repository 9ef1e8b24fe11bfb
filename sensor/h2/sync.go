package h2

import "bytes"

// Sync recognises HTTP/2 in one direction of a connection joined midstream
// (the sensor started, or the capture began, after the preface): it looks
// for frame headers that chain, each where the previous one's length says
// the next begins. The HPACK table built before the join cannot be
// recovered, so such a connection cannot be parsed (package exchange
// counts its bytes as lost, not as non-HTTP); recognising it is what lets
// the analyzer know the sensor was blind to it.
//
// Memory is a few fixed bytes: a header split across deliveries is
// collected, payloads are skipped without being held.
type Sync struct {
	hdr    [9]byte
	tail   [8]byte // searching: the last bytes fed, a header may start there
	nt     int
	nh     int  // bytes of hdr collected (locked: at the expected boundary)
	skip   int  // payload bytes before the next header (locked)
	run    int  // plausible headers in the current chain, at most SyncFrames+1
	locked bool // following a chain
	seen   bool // a chain of SyncFrames was found (it stays so after a gap)
	// first holds the current chain's first headers, handed to the
	// Visitor once the chain is confirmed.
	first [SyncFrames][9]byte
}

// TypeHeaders is the HEADERS frame type, as a Visitor receives it.
const TypeHeaders = frameHeaders

// Visitor receives the frame headers of a confirmed chain, in order, each
// once: its type, flags and stream id.
type Visitor interface {
	Frame(typ, flags byte, stream uint32)
}

// SyncFrames is how many chained plausible frame headers confirm HTTP/2.
// A header of a random byte string is plausible with a probability below
// 1e-6 (a length of at most 16 KiB, a known type, flags and a stream id
// that type allows, a length it allows); four in a chain do not happen by
// accident, and typical gRPC traffic chains four frames within its first
// request.
const SyncFrames = 4

// maxSearchLength is the largest frame length accepted where a chain
// starts: SETTINGS_MAX_FRAME_SIZE's default (RFC 9113 §6.5.2). Inside a
// chain up to maxChainLength is accepted, so peers that raised it still
// chain; the bound keeps a false start from skipping more than 1 MiB.
const (
	maxSearchLength = 1 << 14
	maxChainLength  = 1 << 20
)

// Feed follows the next bytes of the direction and reports whether a chain
// of SyncFrames headers was found, in these bytes or before. Once it has
// returned true, later calls return true.
func (s *Sync) Feed(data []byte) bool { return s.Follow(data, nil) }

// Follow is Feed that also hands every header of a confirmed chain to v
// (when not nil): the SyncFrames headers that confirmed it, then each
// following one. After a gap, headers are handed over again once a new
// chain is confirmed.
func (s *Sync) Follow(data []byte, v Visitor) bool {
	for len(data) > 0 {
		if !s.locked {
			var h []byte
			if h, data = s.search(data); h == nil {
				return s.seen
			}
			s.first[0] = [9]byte(h)
			s.locked, s.run, s.nh, s.nt = true, 1, 0, 0
			s.skip = frameLength(h)
			continue
		}
		if s.skip > 0 {
			n := min(s.skip, len(data))
			s.skip -= n
			data = data[n:]
			continue
		}
		n := copy(s.hdr[s.nh:], data)
		s.nh += n
		data = data[n:]
		if s.nh < len(s.hdr) {
			return s.seen
		}
		s.nh = 0
		if !plausible(s.hdr[:], maxChainLength) {
			s.locked, s.run = false, 0 // search again in what follows
			continue
		}
		switch {
		case s.run < SyncFrames-1:
			s.first[s.run] = s.hdr
			s.run++
		case s.run == SyncFrames-1:
			s.first[s.run] = s.hdr
			s.run++
			s.seen = true
			if v != nil {
				for i := range s.first {
					visit(v, &s.first[i])
				}
			}
		default:
			s.run = SyncFrames + 1
			if v != nil {
				visit(v, &s.hdr)
			}
		}
		s.skip = frameLength(s.hdr[:])
	}
	return s.seen
}

func visit(v Visitor, h *[9]byte) {
	v.Frame(h[3], h[4], uint32(h[5]&0x7f)<<24|uint32(h[6])<<16|uint32(h[7])<<8|uint32(h[8]))
}

// Locked reports whether a chain is being followed (some headers chained,
// not yet SyncFrames).
func (s *Sync) Locked() bool { return s.locked && s.run < SyncFrames }

// Gap breaks the chain: bytes were lost. Whether a chain was ever found
// is kept.
func (s *Sync) Gap() { *s = Sync{seen: s.seen} }

// search finds the first plausible header that can start a chain, also one
// that began in the previous delivery: it returns the header and the bytes
// after it, or nil and keeps the last bytes for the next call.
func (s *Sync) search(data []byte) (hdr, rest []byte) {
	if s.nt > 0 {
		var w [16]byte
		n := copy(w[:], s.tail[:s.nt])
		m := copy(w[n:], data)
		for i := 0; i < n && i+9 <= n+m; i++ {
			if w[i] == 0 && plausible(w[i:i+9], maxSearchLength) {
				copy(s.hdr[:], w[i:i+9])
				return s.hdr[:], data[i+9-n:]
			}
		}
	}
	if i := search(data); i >= 0 {
		return data[i : i+9], data[i+9:]
	}
	// Keep the last 8 bytes seen (of the tail and data together).
	if len(data) >= len(s.tail) {
		s.nt = copy(s.tail[:], data[len(data)-len(s.tail):])
	} else {
		keep := min(s.nt, len(s.tail)-len(data))
		copy(s.tail[:], s.tail[s.nt-keep:s.nt])
		s.nt = keep + copy(s.tail[keep:], data)
	}
	return nil, nil
}

// search returns the first offset of data holding a whole plausible frame
// header that can start a chain, or -1.
func search(data []byte) int {
	for i := 0; i+9 <= len(data); i++ {
		// A length of at most 16 KiB starts with a zero byte (and a second
		// byte of at most 0x40): jump to the next zero, which IndexByte
		// finds many bytes at a time (in ciphertext, one byte in 256).
		j := bytes.IndexByte(data[i:len(data)-8], 0)
		if j < 0 {
			return -1
		}
		i += j
		if data[i+1] <= 0x40 && plausible(data[i:i+9], maxSearchLength) {
			return i
		}
	}
	return -1
}

func frameLength(h []byte) int { return int(h[0])<<16 | int(h[1])<<8 | int(h[2]) }

// plausible reports whether the 9 bytes h can be an HTTP/2 frame header
// as peers write them: a length of at most maxLen, a frame type of RFC
// 9113, only the flags it defines, the reserved bit clear, a stream id the
// type allows, and a length the type allows. Empty DATA frames that do not
// end their stream, and empty header blocks, are legal but nobody sends
// them; refusing them keeps runs of zero bytes (padding, zeroed payloads)
// from passing for frames.
func plausible(h []byte, maxLen int) bool {
	length := frameLength(h)
	if length > maxLen || h[5]&0x80 != 0 {
		return false
	}
	flags := h[4]
	stream := uint32(h[5]&0x7f)<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])
	switch h[3] {
	case frameData:
		return stream != 0 && flags&^(flagEndStream|flagPadded) == 0 && (length > 0 || flags&flagEndStream != 0)
	case frameHeaders:
		return stream != 0 && flags&^(flagEndStream|flagEndHeaders|flagPadded|flagPriority) == 0 && length > 0
	case framePriority:
		return stream != 0 && flags == 0 && length == 5
	case frameRSTStream:
		return stream != 0 && flags == 0 && length == 4
	case frameSettings:
		return stream == 0 && (flags == 0 && length%6 == 0 || flags == flagAck && length == 0)
	case framePushPromise:
		return stream != 0 && flags&^(flagEndHeaders|flagPadded) == 0 && length >= 4
	case framePing:
		return stream == 0 && flags&^flagAck == 0 && length == 8
	case frameGoAway:
		return stream == 0 && flags == 0 && length >= 8
	case frameWindowUpdate:
		return flags == 0 && length == 4
	case frameContinuation:
		return stream != 0 && flags&^flagEndHeaders == 0 && length > 0
	}
	return false
}
