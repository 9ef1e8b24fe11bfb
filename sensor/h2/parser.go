// Package h2 follows one direction of a cleartext HTTP/2 connection (h2c
// with prior knowledge, RFC 9113 §3.3: what gRPC and most service-to-service
// HTTP/2 without TLS use) over reassembled bytes.
//
// A Parser is an explicit state machine like http1.Parser: fed whatever the
// TCP layer delivers (a frame header may be split at any byte), it keeps
// only a few fixed bytes of the frame in progress, decodes header blocks
// with HPACK (golang.org/x/net/http2/hpack, whose dynamic table is the one
// state a passive reader must keep in step with the peers) and streams DATA
// payloads to its Handler without buffering them. Pairing requests with
// responses by stream is not done here (see package exchange).
//
// Loss: bytes missing inside a DATA payload are skipped (the frame length
// says where the next frame starts) and reported per stream. Bytes missing
// anywhere else lose the frame boundaries or the HPACK state, which cannot
// be recovered: the Parser reports Lost once and counts everything after.
package h2

import (
	"encoding/binary"
	"errors"

	"golang.org/x/net/http2/hpack"
)

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// MatchPreface reports whether b starts with the client preface (match), or
// is a proper prefix of it (more: the caller needs more bytes to decide).
func MatchPreface(b []byte) (match, more bool) {
	n := min(len(b), len(Preface))
	if string(b[:n]) != Preface[:n] {
		return false, false
	}
	return n == len(Preface), n < len(Preface)
}

// Field is one decoded header field. Its strings belong to the caller once
// delivered (HPACK decodes into fresh strings or static-table constants).
type Field = hpack.HeaderField

// Handler receives what a Parser finds on one direction.
//
// Buffer ownership: the fields slice and data are valid only during the
// call (the strings inside the fields may be kept).
type Handler interface {
	// Headers delivers a complete header block of stream id: a HEADERS
	// frame and its CONTINUATION frames, decoded. end: the block closes
	// the stream (END_STREAM). truncated: fields were dropped at Limits.
	// start is the capture time of the HEADERS frame, ts of the block's
	// last byte.
	Headers(id uint32, fields []Field, end, truncated bool, start, ts int64)
	// Data delivers DATA payload bytes of stream id (padding removed), in
	// pieces as they arrive; end is set once, after the last byte of a
	// frame carrying END_STREAM (data may then be empty).
	Data(id uint32, data []byte, end bool, ts int64)
	// DataGap reports n DATA payload bytes of stream id lost in a gap.
	DataGap(id uint32, n int, ts int64)
	// Reset reports RST_STREAM for stream id.
	Reset(id uint32, ts int64)
	// TableSize reports the SETTINGS_HEADER_TABLE_SIZE this direction's
	// sender announced: the most the other direction's encoder may use.
	TableSize(v uint32)
	// Lost reports, once, that this direction can no longer be followed
	// (bytes lost outside a DATA payload, a malformed frame, an HPACK
	// error); nothing else is delivered afterwards.
	Lost(ts int64)
}

// Limits bound what a Parser keeps per header block.
type Limits struct {
	// MaxHeaders is the most fields delivered per header block; further
	// fields are decoded (the HPACK table needs them) but dropped.
	MaxHeaders int
	// MaxHeaderBytes bounds the names and values delivered per block, and
	// is the longest single name or value accepted at all (a longer one is
	// a decoding error: Lost).
	MaxHeaderBytes int
	// MaxTableSize caps the HPACK dynamic table a peer may announce
	// (SETTINGS_HEADER_TABLE_SIZE): the memory one direction may hold.
	MaxTableSize uint32
}

// DefaultLimits are the defaults of exchange.Config's HTTP/1 limits and
// a 64 KiB table (peers rarely announce more than the 4 KiB default).
func DefaultLimits() Limits {
	return Limits{MaxHeaders: 256, MaxHeaderBytes: 64 << 10, MaxTableSize: 64 << 10}
}

// Stats counts what a Parser saw.
type Stats struct {
	Frames       uint64 // complete frame headers read
	HeaderBlocks uint64 // header blocks delivered (PUSH_PROMISE ones not included)
	DataBytes    uint64 // DATA payload bytes delivered
	GapBytes     uint64 // DATA payload bytes lost in gaps
	LostBytes    uint64 // bytes fed after Lost (not the gap that caused it: those were never seen)
}

// Frame types (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9
)

// Flags.
const (
	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

const settingHeaderTableSize = 0x1

const (
	stPreface = iota // the client preface is expected
	stHeader         // reading a 9-byte frame header
	stFixed          // reading the payload's fixed prefix (pad length, priority, promised id, error code)
	stContent        // the payload's content
	stPad            // the payload's padding
	stLost
)

// Parser follows one direction. Not safe for concurrent use.
type Parser struct {
	h     Handler
	lim   Limits
	state uint8

	pre int // preface bytes matched

	hdr  [9]byte
	nhdr int

	// The frame in progress.
	typ, flags  uint8
	id          uint32
	remain      int // payload bytes not yet consumed (content + padding)
	pad         int // padding bytes at its end
	fixed       [8]byte
	nfixed, fix int // fixed-prefix bytes read, and wanted
	start       int64

	// The header block in progress (HEADERS/PUSH_PROMISE + CONTINUATION).
	dec        *hpack.Decoder
	inBlock    bool
	blockID    uint32
	blockEnd   bool // END_STREAM of its HEADERS frame
	blockStart int64
	push       bool // a PUSH_PROMISE block: decoded for the table's sake, not delivered
	fields     []Field
	fieldBytes int
	truncated  bool

	set  [6]byte // a SETTINGS entry split across calls
	nset int

	st Stats
}

// NewParser returns a Parser delivering to h. client: this direction
// carries the client preface first.
func NewParser(client bool, lim Limits, h Handler) *Parser {
	p := &Parser{}
	p.Reset(client, lim, h)
	return p
}

// Reset makes p ready for a new connection, keeping its buffers.
func (p *Parser) Reset(client bool, lim Limits, h Handler) {
	d := DefaultLimits()
	if lim.MaxHeaders <= 0 {
		lim.MaxHeaders = d.MaxHeaders
	}
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if lim.MaxTableSize == 0 {
		lim.MaxTableSize = d.MaxTableSize
	}
	fields := p.fields[:0]
	clear(p.fields[:cap(p.fields)]) // drop the previous connection's strings
	*p = Parser{h: h, lim: lim, fields: fields}
	// A fresh decoder: the HPACK table is per connection. 4096 is the
	// protocol's initial table size until SETTINGS says otherwise.
	p.dec = hpack.NewDecoder(4096, p.emit)
	p.dec.SetMaxStringLength(lim.MaxHeaderBytes)
	if client {
		p.state = stPreface
	} else {
		p.state = stHeader
	}
}

// Stats returns the counters.
func (p *Parser) Stats() Stats { return p.st }

// SetTableSize lets the peer's encoder use a dynamic table of up to v bytes
// (capped at Limits.MaxTableSize): the other direction's SETTINGS.
func (p *Parser) SetTableSize(v uint32) {
	p.dec.SetAllowedMaxDynamicTableSize(max(4096, min(v, p.lim.MaxTableSize)))
}

// Lost reports whether the direction can no longer be followed.
func (p *Parser) Lost() bool { return p.state == stLost }

var errFrame = errors.New("h2: malformed frame")

// Feed parses data, captured at ts.
func (p *Parser) Feed(data []byte, ts int64) {
	for len(data) > 0 {
		var n int
		var err error
		switch p.state {
		case stPreface:
			n, err = p.feedPreface(data)
		case stHeader:
			n, err = p.feedHeader(data, ts)
		case stFixed:
			n, err = p.feedFixed(data, ts)
		case stContent:
			n, err = p.feedContent(data, ts)
		case stPad:
			n = min(len(data), p.remain)
			p.remain -= n
			if p.remain == 0 {
				err = p.endFrame(ts)
			}
		default: // stLost
			p.st.LostBytes += uint64(len(data))
			return
		}
		if err != nil {
			p.lose(ts)
			p.st.LostBytes += uint64(len(data) - n)
			return
		}
		data = data[n:]
	}
}

// Gap reports n bytes lost at this point of the direction.
func (p *Parser) Gap(n int, ts int64) {
	if n <= 0 || p.state == stLost {
		return
	}
	switch {
	case p.state == stContent && p.typ == frameData && n <= p.remain-p.pad:
		p.remain -= n
		p.st.GapBytes += uint64(n)
		p.h.DataGap(p.id, n, ts)
		if p.remain == 0 {
			if err := p.endFrame(ts); err != nil {
				p.lose(ts)
			}
		} else if p.remain == p.pad {
			p.state = stPad
		}
	case p.state == stPad && n <= p.remain:
		p.remain -= n
		if p.remain == 0 {
			if err := p.endFrame(ts); err != nil {
				p.lose(ts)
			}
		}
	default:
		p.lose(ts)
	}
}

func (p *Parser) lose(ts int64) {
	if p.state == stLost {
		return
	}
	p.state = stLost
	clear(p.fields)
	p.fields = p.fields[:0]
	p.h.Lost(ts)
}

func (p *Parser) feedPreface(data []byte) (int, error) {
	n := min(len(data), len(Preface)-p.pre)
	if string(data[:n]) != Preface[p.pre:p.pre+n] {
		return 0, errFrame
	}
	p.pre += n
	if p.pre == len(Preface) {
		p.state = stHeader
	}
	return n, nil
}

func (p *Parser) feedHeader(data []byte, ts int64) (int, error) {
	n := copy(p.hdr[p.nhdr:], data)
	p.nhdr += n
	if p.nhdr < len(p.hdr) {
		return n, nil
	}
	p.nhdr = 0
	p.st.Frames++
	h := p.hdr[:]
	p.remain = int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	p.typ, p.flags = h[3], h[4]
	p.id = binary.BigEndian.Uint32(h[5:]) &^ (1 << 31)
	p.pad, p.nfixed, p.fix = 0, 0, 0
	p.start = ts
	if p.inBlock && (p.typ != frameContinuation || p.id != p.blockID) {
		return n, errFrame // a header block must not be interleaved (§6.10)
	}
	switch p.typ {
	case frameData:
		if p.id == 0 {
			return n, errFrame
		}
		if p.flags&flagPadded != 0 {
			p.fix = 1
		}
	case frameHeaders:
		if p.id == 0 {
			return n, errFrame
		}
		if p.flags&flagPadded != 0 {
			p.fix++
		}
		if p.flags&flagPriority != 0 {
			p.fix += 5
		}
		p.openBlock(false, ts)
	case framePushPromise:
		p.fix = 4
		if p.flags&flagPadded != 0 {
			p.fix++
		}
		p.openBlock(true, ts)
	case frameContinuation:
		if !p.inBlock {
			return n, errFrame
		}
	case frameRSTStream:
		if p.remain != 4 || p.id == 0 {
			return n, errFrame
		}
		p.fix = 4
	case frameSettings:
		if p.remain%6 != 0 || p.id != 0 {
			return n, errFrame
		}
		p.nset = 0
	}
	if p.fix > p.remain {
		return n, errFrame
	}
	if p.fix > 0 {
		p.state = stFixed
	} else {
		p.state = stContent
	}
	if p.remain == 0 {
		return n, p.endFrame(ts)
	}
	return n, nil
}

func (p *Parser) openBlock(push bool, ts int64) {
	p.inBlock, p.blockID, p.push = true, p.id, push
	p.blockEnd = !push && p.flags&flagEndStream != 0
	p.blockStart = ts
	clear(p.fields)
	p.fields, p.fieldBytes, p.truncated = p.fields[:0], 0, false
	p.dec.SetEmitEnabled(!push)
}

func (p *Parser) feedFixed(data []byte, ts int64) (int, error) {
	n := copy(p.fixed[p.nfixed:p.fix], data)
	p.nfixed += n
	p.remain -= n
	if p.nfixed < p.fix {
		return n, nil
	}
	if p.flags&flagPadded != 0 && p.typ != frameRSTStream {
		p.pad = int(p.fixed[0])
		if p.pad > p.remain {
			return n, errFrame
		}
	}
	if p.typ == frameRSTStream {
		p.h.Reset(p.id, ts)
	}
	p.state = stContent
	if p.remain == p.pad {
		p.state = stPad
		if p.remain == 0 {
			return n, p.endFrame(ts)
		}
	}
	return n, nil
}

func (p *Parser) feedContent(data []byte, ts int64) (int, error) {
	n := min(len(data), p.remain-p.pad)
	chunk := data[:n]
	switch p.typ {
	case frameData:
		p.st.DataBytes += uint64(n)
		p.h.Data(p.id, chunk, false, ts)
	case frameHeaders, framePushPromise, frameContinuation:
		if _, err := p.dec.Write(chunk); err != nil {
			return n, err
		}
	case frameSettings:
		for _, b := range chunk {
			p.set[p.nset] = b
			p.nset++
			if p.nset == len(p.set) {
				p.nset = 0
				if p.flags&flagAck == 0 && binary.BigEndian.Uint16(p.set[:]) == settingHeaderTableSize {
					p.h.TableSize(binary.BigEndian.Uint32(p.set[2:]))
				}
			}
		}
	}
	p.remain -= n
	if p.remain == p.pad {
		p.state = stPad
		if p.remain == 0 {
			return n, p.endFrame(ts)
		}
	}
	return n, nil
}

// endFrame runs when the frame's last payload byte was consumed.
func (p *Parser) endFrame(ts int64) error {
	p.state = stHeader
	switch p.typ {
	case frameData:
		if p.flags&flagEndStream != 0 {
			p.h.Data(p.id, nil, true, ts)
		}
	case frameHeaders, framePushPromise, frameContinuation:
		if p.flags&flagEndHeaders == 0 {
			return nil // CONTINUATION frames follow
		}
		p.inBlock = false
		if err := p.dec.Close(); err != nil {
			return err
		}
		p.dec.SetEmitEnabled(true)
		if !p.push {
			p.st.HeaderBlocks++
			p.h.Headers(p.blockID, p.fields, p.blockEnd, p.truncated, p.blockStart, ts)
		}
		clear(p.fields)
		p.fields = p.fields[:0]
	}
	return nil
}

// emit is the HPACK decoder's callback: the field is kept within Limits.
func (p *Parser) emit(f Field) {
	sz := len(f.Name) + len(f.Value)
	if len(p.fields) >= p.lim.MaxHeaders || p.fieldBytes+sz > p.lim.MaxHeaderBytes {
		p.truncated = true
		return
	}
	p.fieldBytes += sz
	p.fields = append(p.fields, f)
}
