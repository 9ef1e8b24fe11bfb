package http1

import (
	"bytes"

	"github.com/apitap/apitap/flow"
)

// state is the parser's position in the byte stream. See docs/http.md for
// the diagram.
type state uint8

const (
	// stStart: expecting a start line. With syncing set, the parser has
	// lost (or never had) message boundaries and scans for a plausible
	// start line with the strict rules.
	stStart state = iota
	stHeaders
	stBodyLen   // body of known remaining length (Content-Length)
	stChunkSize // chunk-size line (with extensions)
	stChunkData
	stChunkCRLF // CRLF after chunk data
	stTrailers
	stBodyClose // response body delimited by connection close
	// stPeek: a response head declaring a body is complete but the
	// request method is unknown (the request was lost): the first bytes
	// after the head decide whether the body is really there.
	stPeek
	stOpaque // tunnel or upgraded protocol: bytes are only counted
	stClosed // Close was called
)

// Sizes that are not Limits.
const (
	// lineReserve is head-buffer room beyond MaxStartLine+MaxHeaderBytes.
	// It guarantees that a header line read after the kept-header budget
	// is used up still has room for its name and (short) value, so
	// framing headers past the limit are still honoured.
	lineReserve = 4 << 10
	// maxChunkLine bounds a chunk-size line with its extensions (net/http
	// uses the same 4 KiB).
	maxChunkLine = 4 << 10
	// peekMax: bytes needed after a head to tell a status line
	// ("HTTP/1.1 200 ") from a body in stPeek.
	peekMax = 13
	// maxBadLines: header lines that are not "name: value" are tolerated
	// (FlagMalformed) up to this many per message; beyond, the bytes are
	// taken to be something other than HTTP and the parser resyncs.
	maxBadLines = 8
	// releaseAbove: Reset drops buffers that grew beyond this, so a pool
	// of parsers does not keep the worst case of every past connection.
	releaseAbove = 16 << 10
	// minLineMax: a single header line longer than this (or than
	// MaxStartLine+MaxHeaderBytes if larger) is taken as proof that the
	// bytes are not HTTP. It does not depend on the kept-header budget:
	// a small budget must not turn a long cookie into a resync.
	minLineMax = 64 << 10
)

// fieldPos locates a header field in Parser.buf. Offsets rather than
// slices, because buf may be reallocated while the head grows.
type fieldPos struct{ ns, ne, vs, ve int }

// framing collects what the header section says about message length and
// connection handling.
type framing struct {
	clSeen, clBad bool
	clHave        bool
	cl            int64

	teSeen        bool
	teCodings     int // non-empty transfer-codings seen
	teChunked     int // how many of them are "chunked"
	teLastChunked bool

	connClose, connKeepAlive, connUpgrade bool
	upgrade, expect100                    bool
}

// Header names the parser acts on (framing and connection handling).
const (
	kindOther uint8 = iota
	kindContentLength
	kindTransferEncoding
	kindConnection
	kindUpgrade
	kindExpect
)

// once-per-message limit bits, so Stats count messages, not lines.
const (
	hitHeaderBytes uint8 = 1 << iota
	hitHeaders
)

// Stats counts what a Parser saw. Every fed byte ends up in exactly one of
// MessageBytes, SkippedBytes, BlankBytes, or the message in progress.
type Stats struct {
	// Messages delivered to Handler.Message.
	Messages uint64
	// Bytes fed (gaps not included).
	Bytes uint64
	// MessageBytes: wire bytes of delivered messages.
	MessageBytes uint64
	// SkippedBytes: bytes reported through Handler.Skipped (garbage while
	// resynchronising, rejected start lines, dropped partial messages,
	// opaque tunnel bytes, bytes after Close).
	SkippedBytes uint64
	// BlankBytes: CR/LF between messages (tolerated, RFC 9112 2.2).
	BlankBytes uint64
	// Resyncs: times sync was lost (bad start line, gap outside a body,
	// broken chunk framing, abandoned head).
	Resyncs uint64
	// Dropped: partial messages discarded without being delivered (gap in
	// the head, connection closed mid-head, abandoned garbage head).
	Dropped uint64
	// Malformed: messages delivered with FlagMalformed plus heads and
	// start lines rejected as malformed while in sync.
	Malformed uint64
	// Limit hits, counted once per message per kind.
	LimitStartLine   uint64
	LimitHeaderBytes uint64
	LimitHeaders     uint64
	LimitBody        uint64
	// Gaps: Gap calls; GapBytesBody: gap bytes inside a body (skipped,
	// message kept); GapBytesOther: gap bytes anywhere else.
	Gaps          uint64
	GapBytesBody  uint64
	GapBytesOther uint64
}

// Parser is an incremental HTTP/1.x parser for one direction of one
// connection. It is not safe for concurrent use. The Handler may call
// SetOpaque (on this or another parser) from Message; it must not call
// Feed, Gap, Close or Reset re-entrantly.
type Parser struct {
	h       Handler
	lim     Limits
	request bool
	state   state
	ts      int64
	// pass receives the bytes after SetPassthrough, instead of counting
	// them as skipped.
	pass func(data []byte, ts int64)

	// Start-line recognition and resynchronisation.
	syncing   bool // scanning with the strict rules for a start line
	midstream bool // the next message found gets FlagMidstream
	skipLine  bool // discard through the next LF (after an overlong or abandoned line)
	dfa       startLine
	sl        startLine // the accepted start line of the current message
	rs        reqScan   // request resynchronisation (resync.go)
	// gapNext: response stream, bytes were lost outside any body (a 1xx
	// may have been lost): the next message found carries FlagGap.
	gapNext bool

	// stPeek: the bytes seen after the head so far (fewer than peekMax),
	// the recogniser deciding on them, their capture time and the head's.
	peekBuf  [peekMax]byte
	peekN    int
	peekDfa  startLine
	peekTs   int64
	headTs   int64
	peekBody uint8

	// buf holds the current message head: the start line with its
	// terminator, then kept header fields (terminators stripped), then the
	// pending field and the line being read. Trailers follow the headers.
	// Bounded by bufMax.
	buf    []byte
	bufMax int

	// Header-line reading.
	lineBegun bool
	lineCont  bool // the line being read starts with SP/HT (obs-fold)
	lineOv    bool // the line overflowed buf: its bytes are counted, not stored
	lineStart int
	lineWire  int
	lineMax   int // a single line longer than this is not HTTP: abandon
	inTrail   bool

	// The last complete field line, kept pending until the next line shows
	// whether it is continued (obs-fold).
	hasPend   bool
	pendOv    bool // overflowed: dropped, only its kind is known
	pendKind  uint8
	pendStart int
	pend      fieldPos

	fields    []fieldPos
	tfields   []fieldPos
	nKept     int
	keptBytes int
	badLines  int
	limHit    uint8
	fr        framing
	after     state // state after this message: stStart or stOpaque

	// Body.
	remaining int64 // stBodyLen: body left; stChunkData: chunk left
	csN       uint64
	csDigits  int
	csPhase   uint8
	csLen     int
	crlfCR    bool
	body      []byte

	msg     Message
	msgWire int64
	hdrs    []Field
	trls    []Field

	delivering bool
	skipAcc    int
	stats      Stats
}

type nopHandler struct{}

func (nopHandler) Message(*Message)      {}
func (nopHandler) RequestMethod() []byte { return nil }
func (nopHandler) Skipped(int)           {}

// NewParser returns a parser for requests (request=true, client to server)
// or responses, starting at a message boundary.
func NewParser(request bool, lim Limits, h Handler) *Parser {
	p := &Parser{}
	p.Reset(request, lim, h, false)
	return p
}

func normalizeLimits(l Limits) Limits {
	d := DefaultLimits()
	if l.MaxStartLine <= 0 {
		l.MaxStartLine = d.MaxStartLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	return l
}

// Reset prepares p for a new stream, keeping its buffers (for pooling).
// midstream=true means the stream starts at an arbitrary byte: the parser
// scans for the first plausible start line, and the first message found
// carries FlagMidstream.
func (p *Parser) Reset(request bool, lim Limits, h Handler, midstream bool) {
	if h == nil {
		h = nopHandler{}
	}
	buf, body := p.buf[:0], p.body[:0]
	if cap(buf) > releaseAbove {
		buf = nil
	}
	if cap(body) > releaseAbove {
		body = nil
	}
	fields, tfields, hdrs, trls := p.fields[:0], p.tfields[:0], p.hdrs[:0], p.trls[:0]
	lim = normalizeLimits(lim)
	*p = Parser{
		h: h, lim: lim, request: request,
		buf: buf, body: body, fields: fields, tfields: tfields, hdrs: hdrs, trls: trls,
		bufMax:  lim.MaxStartLine + lim.MaxHeaderBytes + lineReserve,
		lineMax: max(minLineMax, lim.MaxStartLine+lim.MaxHeaderBytes),
		syncing: midstream, midstream: midstream,
	}
	p.resetMessage()
	p.rs.head = midstream
}

// Stats returns the counters so far.
func (p *Parser) Stats() Stats { return p.stats }

// Partial returns the start time of the message being read, whose start
// line was accepted but which is not delivered yet (its headers or body
// are still coming); ok is false between messages.
func (p *Parser) Partial() (start int64, ok bool) {
	switch p.state {
	case stHeaders, stBodyLen, stChunkSize, stChunkData, stChunkCRLF, stTrailers, stBodyClose, stPeek:
		return p.msg.Start, true
	}
	return 0, false
}

// resetMessage clears per-message state (not p.state / p.syncing).
func (p *Parser) resetMessage() {
	p.buf = p.buf[:0]
	p.fields = p.fields[:0]
	p.tfields = p.tfields[:0]
	p.body = p.body[:0]
	p.lineBegun, p.lineCont, p.lineOv, p.lineWire, p.inTrail = false, false, false, 0, false
	p.hasPend, p.pendOv = false, false
	p.nKept, p.keptBytes, p.badLines, p.limHit = 0, 0, 0, 0
	p.fr = framing{}
	p.after = stStart
	p.msgWire = 0
	p.msg = Message{Request: p.request, ContentLength: -1}
	p.dfa.reset(p.request, p.syncing)
	p.rs.reset()
}

func (p *Parser) skip(n int) {
	if n > 0 {
		p.skipAcc += n
		p.stats.SkippedBytes += uint64(n)
	}
}

func (p *Parser) flushSkip() {
	if p.skipAcc > 0 {
		n := p.skipAcc
		p.skipAcc = 0
		p.h.Skipped(n)
	}
}

// Feed parses the next in-order bytes of the stream. ts is the capture
// time of the segment that completed them. data is not retained.
func (p *Parser) Feed(data []byte, ts int64) {
	if len(data) == 0 {
		return
	}
	p.ts = ts
	p.stats.Bytes += uint64(len(data))
	p.run(data)
	p.flushSkip()
}

// run feeds data through the state machine (Feed without the counting;
// also used to replay the few bytes stPeek held back).
func (p *Parser) run(data []byte) {
	stuck := 0
	for len(data) > 0 {
		var n int
		switch p.state {
		case stStart:
			n = p.feedStart(data)
		case stHeaders, stTrailers:
			n = p.feedLines(data)
		case stBodyLen:
			n = p.feedBodyLen(data)
		case stChunkSize:
			n = p.feedChunkSize(data)
		case stChunkData:
			n = p.feedChunkData(data)
		case stChunkCRLF:
			n = p.feedChunkCRLF(data)
		case stBodyClose:
			n = p.feedBodyClose(data)
		case stPeek:
			n = p.feedPeek(data)
		default: // stOpaque, stClosed
			if p.pass != nil && p.state == stOpaque {
				p.pass(data, p.ts)
			} else {
				p.skip(len(data))
			}
			n = len(data)
		}
		// Some transitions legitimately consume nothing (a rejected
		// response candidate is re-examined from the offending byte).
		// Guarantee progress regardless: never loop on the same input.
		if n == 0 {
			stuck++
			if stuck > 4 {
				p.dropPartial()
				p.enterResync()
				p.skip(1)
				n = 1
			}
		} else {
			stuck = 0
		}
		data = data[n:]
	}
}

// ---- start line ----

func (p *Parser) feedStart(data []byte) int {
	if p.skipLine {
		j := indexLF(data)
		if j < 0 {
			p.skip(len(data))
			return len(data)
		}
		p.skip(j + 1)
		p.skipLine = false
		return j + 1
	}
	if p.syncing && p.request {
		return p.scanRequest(data)
	}
	if p.dfa.n == 0 {
		// Between messages: CR/LF filler (RFC 9112 2.2 allows a
		// recipient to ignore empty lines before a request line).
		i := 0
		for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
			i++
		}
		if i > 0 {
			if p.syncing {
				p.skip(i)
			} else {
				p.stats.BlankBytes += uint64(i)
			}
			return i
		}
		// A status line can start anywhere (e.g. right after a body
		// whose framing we got wrong), and always with 'H': jump there.
		if p.syncing && !p.request && data[0] != 'H' {
			j := bytes.IndexByte(data, 'H')
			if j < 0 {
				j = len(data)
			}
			p.skip(j)
			return j
		}
		p.msg.Start = p.ts
	}
	room := p.lim.MaxStartLine - p.dfa.n
	in := data
	if len(in) > room {
		in = in[:room]
	}
	n, r := p.dfa.feed(in)
	p.buf = append(p.buf, in[:n]...)
	p.msgWire += int64(n)
	switch r {
	case slMore:
		if p.dfa.n >= p.lim.MaxStartLine {
			// Too long to be a start line: not HTTP here.
			p.stats.LimitStartLine++
			p.rejectStart()
			p.skipLine = true
		}
		return n
	case slAccept:
		if !p.dfa.finalOK(p.buf) {
			p.rejectStart()
			return n
		}
		if !(p.request && p.dfa.bad && p.innerRequest()) {
			p.acceptStart()
			return n
		}
		// A strict request line ends this one ("x /GET /a HTTP/1.1"):
		// the bytes before it are junk, as for any rejected line.
		r = slReject
	}
	if p.request {
		// In sync (a request was expected here). A request line may
		// begin inside the rejected bytes or at the offending byte:
		// rescan them, then go on from that byte.
		if !p.syncing {
			p.stats.Resyncs++
			p.stats.Malformed++
			p.syncing = true
		}
		p.msg.Flags = 0
		p.replayRequest()
		return n
	}
	p.rejectStart()
	// Responses: the offending byte may itself start a status line
	// ("HTTP/1." has no proper prefix that is also a suffix, so
	// restarting here misses nothing).
	return n
}

// rejectStart discards the candidate start line and (if in sync) starts
// resynchronising.
func (p *Parser) rejectStart() {
	p.skip(int(p.msgWire))
	p.msgWire = 0
	p.buf = p.buf[:0]
	if !p.syncing {
		p.stats.Resyncs++
		p.stats.Malformed++
		p.syncing = true
	}
	p.dfa.reset(p.request, true)
	p.msg.Flags = 0
}

func (p *Parser) acceptStart() {
	p.sl = p.dfa
	if !p.request {
		// RFC 9112 2.2: a bare CR is invalid; replace it with SP (it
		// can only be in the reason phrase: the rest of the status line
		// has no room for it). The line is p.buf[:sl.n].
		line := p.buf[p.sl.rStart:lineContentEnd(p.buf[:p.sl.n])]
		for {
			k := bytes.IndexByte(line, '\r')
			if k < 0 {
				break
			}
			line[k] = ' '
			line = line[k+1:]
			p.sl.bad = true
		}
	}
	if p.sl.bad {
		p.msg.Flags |= flow.FlagMalformed
	}
	if p.gapNext {
		p.gapNext = false
		p.msg.Flags |= flow.FlagGap
	}
	if p.syncing {
		p.syncing = false
		if p.midstream {
			p.msg.Flags |= flow.FlagMidstream
			p.midstream = false
		}
	}
	p.msg.Status = p.sl.status
	p.state = stHeaders
	p.inTrail = false
	p.lineBegun = false
}

// enterResync drops sync: the parser scans for the next start line. The
// next byte is a candidate (a gap or a framing error often ends exactly
// at a message boundary).
func (p *Parser) enterResync() {
	p.stats.Resyncs++
	p.state = stStart
	p.syncing = true
	p.skipLine = false
	p.resetMessage()
	p.rs.head = true
}

// dropPartial discards the message in progress (head incomplete),
// counting it.
func (p *Parser) dropPartial() {
	if p.msgWire > 0 {
		if p.state != stStart || !p.syncing {
			p.stats.Dropped++
		}
		p.skip(int(p.msgWire))
	}
	if p.peekN > 0 {
		p.skip(p.peekN)
		p.peekN = 0
	}
	p.resetMessage()
}

// ---- header and trailer lines ----

func (p *Parser) feedLines(data []byte) int {
	used := 0
	for used < len(data) && (p.state == stHeaders || p.state == stTrailers) {
		d := data[used:]
		if !p.lineBegun {
			p.lineCont = d[0] == ' ' || d[0] == '\t'
			if !p.lineCont {
				// The pending field is complete: decide on it now,
				// before this line takes room in buf.
				p.finishPending()
				if n := p.fastLines(d); n > 0 {
					used += n
					continue
				}
			}
			p.lineBegun = true
			p.lineStart = len(p.buf)
			p.lineWire = 0
			p.lineOv = false
		}
		j := indexLF(d)
		part := d
		if j >= 0 {
			part = d[:j+1]
		}
		used += len(part)
		p.lineWire += len(part)
		p.msgWire += int64(len(part))
		if !p.lineOv {
			if room := p.bufMax - len(p.buf); len(part) <= room {
				p.buf = append(p.buf, part...)
			} else {
				p.buf = append(p.buf, part[:room]...)
				p.overflowLine()
			}
		}
		if p.lineWire > p.lineMax {
			// A single "header line" this long is not HTTP.
			p.abandon(j < 0)
			return used
		}
		if j < 0 {
			break
		}
		p.endLine()
	}
	return used
}

// overflowLine: the current line does not fit in buf. It will be dropped;
// remember enough (is it a continuation, which framing header is it) to
// keep framing right.
func (p *Parser) overflowLine() {
	p.lineOv = true
	p.setLimHit(hitHeaderBytes)
	if p.lineCont {
		if p.hasPend && !p.pendOv {
			p.pendOv = true
			p.pendKind = p.kindOf(p.pend)
			p.buf = p.buf[:p.pendStart]
		} else {
			p.buf = p.buf[:p.lineStart]
		}
		return
	}
	line := p.buf[p.lineStart:]
	k := bytes.IndexByte(line, ':')
	p.buf = p.buf[:p.lineStart]
	if k <= 0 {
		p.badLine()
		return
	}
	p.hasPend = true
	p.pendOv = true
	p.pendKind = kindOf(trimOWS(line[:k]))
}

func (p *Parser) setLimHit(bit uint8) {
	if p.limHit&bit == 0 {
		p.limHit |= bit
		if bit == hitHeaderBytes {
			p.stats.LimitHeaderBytes++
		} else {
			p.stats.LimitHeaders++
		}
	}
	p.msg.Flags |= flow.FlagHeadersTruncated
}

func (p *Parser) kindOf(f fieldPos) uint8 {
	if p.inTrail {
		return kindOther
	}
	return kindOf(p.buf[f.ns:f.ne])
}

func kindOf(name []byte) uint8 {
	switch len(name) {
	case 14:
		if equalFold(name, "content-length") {
			return kindContentLength
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return kindTransferEncoding
		}
	case 10:
		if equalFold(name, "connection") {
			return kindConnection
		}
	case 7:
		if equalFold(name, "upgrade") {
			return kindUpgrade
		}
	case 6:
		if equalFold(name, "expect") {
			return kindExpect
		}
	}
	return kindOther
}

func (p *Parser) badLine() {
	p.msg.Flags |= flow.FlagMalformed
	p.badLines++
}

// endLine processes a complete line (LF seen).
func (p *Parser) endLine() {
	p.lineBegun = false
	if p.lineOv {
		if p.badLines > maxBadLines {
			p.abandon(false)
		}
		return
	}
	ls := p.lineStart
	e := ls + lineContentEnd(p.buf[ls:])
	if p.lineCont {
		// obs-fold (RFC 9112 5.2): join to the pending value with one SP.
		p.msg.Flags |= flow.FlagMalformed
		if !p.hasPend || p.pendOv {
			p.buf = p.buf[:ls]
			return
		}
		content := trimOWS(p.buf[ls:e])
		if len(content) == 0 {
			p.buf = p.buf[:ls]
			return
		}
		ve := p.pend.ve
		if ve > p.pend.vs {
			p.buf[ve] = ' '
			ve++
		}
		ve += copy(p.buf[ve:], content)
		p.pend.ve = ve
		p.buf = p.buf[:ve]
		return
	}
	if e == ls {
		// Empty line: end of the header (or trailer) section.
		p.buf = p.buf[:ls]
		if p.inTrail {
			p.deliver(0)
		} else {
			p.endOfHead()
		}
		return
	}
	line := p.buf[ls:e]
	k := bytes.IndexByte(line, ':')
	if k <= 0 {
		p.buf = p.buf[:ls]
		p.badLine()
		if p.badLines > maxBadLines {
			p.abandon(false)
		}
		return
	}
	ne := k
	for ne > 0 && (line[ne-1] == ' ' || line[ne-1] == '\t') {
		// "Name : value" is forbidden (RFC 9112 5.1) but some servers
		// accept it; honour the field and flag the message.
		ne--
		p.msg.Flags |= flow.FlagMalformed
	}
	for _, c := range line[:ne] {
		if !tchar[c] {
			ne = 0
			break
		}
	}
	if ne == 0 {
		p.buf = p.buf[:ls]
		p.badLine()
		if p.badLines > maxBadLines {
			p.abandon(false)
		}
		return
	}
	vs, ve := k+1, len(line)
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	// The line stays in buf verbatim (terminator included), exactly as
	// fastLines stores it: buf layout, and so every room/overflow
	// decision, must not depend on which path read a line.
	p.hasPend = true
	p.pendOv = false
	p.pendStart = ls
	p.pend = fieldPos{ns: ls, ne: ls + ne, vs: ls + vs, ve: ls + ve}
}

// fastLines is the common case of the header (or trailer) section: it
// parses complete, well-formed field lines straight from data and copies
// them into buf with one copy at the end. It stops, leaving the rest to
// the line-at-a-time path, at the first line that needs anything else: a
// line not complete in data or whose following byte is not there yet
// (obs-fold is decided by that byte), a continuation, a malformed line,
// a field beyond the limits, or a line that would not fit in buf. It must
// produce exactly what the slow path would (split invariance).
// Precondition: at a line start with no pending field.
func (p *Parser) fastLines(data []byte) int {
	base := len(p.buf)
	if room := p.bufMax - base; len(data) > room {
		data = data[:room]
	}
	fields := &p.fields
	if p.inTrail {
		fields = &p.tfields
	}
	i := 0
	for {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		next := i + j + 1
		e := next - 1
		if e > i && data[e-1] == '\r' {
			e--
		}
		if e == i {
			// Empty line: end of the section. The blank line itself
			// is not stored (the slow path does not store it either).
			p.buf = append(p.buf, data[:i]...)
			p.msgWire += int64(next)
			if p.inTrail {
				p.deliver(0)
			} else {
				p.endOfHead()
			}
			return next
		}
		if next >= len(data) || data[next] == ' ' || data[next] == '\t' || next-i > p.lineMax {
			break
		}
		k := i
		for k < e && tchar[data[k]] {
			k++
		}
		if k == i || k == e || data[k] != ':' {
			break
		}
		vs := k + 1
		for vs < e && (data[vs] == ' ' || data[vs] == '\t') {
			vs++
		}
		ve := e
		for ve > vs && (data[ve-1] == ' ' || data[ve-1] == '\t') {
			ve--
		}
		if p.nKept >= p.lim.MaxHeaders || p.keptBytes+(ve-i) > p.lim.MaxHeaderBytes {
			break
		}
		if !p.inTrail {
			if kind := kindOf(data[i:k]); kind != kindOther {
				p.applyFraming(kind, data[vs:ve])
			}
		}
		p.nKept++
		p.keptBytes += ve - i
		*fields = append(*fields, fieldPos{ns: base + i, ne: base + k, vs: base + vs, ve: base + ve})
		i = next
	}
	p.buf = append(p.buf, data[:i]...)
	p.msgWire += int64(i)
	return i
}

// finishPending applies the pending field's framing meaning and decides
// whether it is kept. It is always the last thing in buf when called.
func (p *Parser) finishPending() {
	if !p.hasPend {
		return
	}
	p.hasPend = false
	if p.pendOv {
		p.pendOv = false
		if !p.inTrail {
			p.framingLost(p.pendKind)
		}
		return
	}
	f := p.pend
	if !p.inTrail {
		if kind := kindOf(p.buf[f.ns:f.ne]); kind != kindOther {
			p.applyFraming(kind, p.buf[f.vs:f.ve])
		}
	}
	size := f.ve - p.pendStart
	switch {
	case p.nKept >= p.lim.MaxHeaders:
		p.setLimHit(hitHeaders)
	case p.keptBytes+size > p.lim.MaxHeaderBytes:
		p.setLimHit(hitHeaderBytes)
	default:
		p.nKept++
		p.keptBytes += size
		if p.inTrail {
			p.tfields = append(p.tfields, f)
		} else {
			p.fields = append(p.fields, f)
		}
		return
	}
	p.buf = p.buf[:p.pendStart]
}

// framingLost: a framing header was too long to read whole. Its value
// cannot be trusted, so treat it as invalid.
func (p *Parser) framingLost(kind uint8) {
	switch kind {
	case kindContentLength:
		p.fr.clSeen, p.fr.clBad = true, true
		p.msg.Flags |= flow.FlagMalformed
	case kindTransferEncoding:
		// An unknown coding last: not chunked.
		p.fr.teSeen = true
		p.fr.teCodings++
		p.fr.teLastChunked = false
		p.msg.Flags |= flow.FlagMalformed
	case kindUpgrade:
		p.fr.upgrade = true
	}
}

func (p *Parser) applyFraming(kind uint8, value []byte) {
	f := &p.fr
	switch kind {
	case kindContentLength:
		// RFC 9110 8.6: a list of identical values is acceptable; empty
		// elements are ignored; anything else invalidates the length.
		f.clSeen = true
		any := false
		for more := true; more; {
			var e []byte
			e, value, more = nextElem(value)
			if len(e) == 0 {
				continue
			}
			any = true
			n, ok := parseDec(e)
			switch {
			case !ok:
				f.clBad = true
			case !f.clHave:
				f.cl, f.clHave = n, true
			case f.cl != n:
				f.clBad = true
			}
		}
		if !any {
			f.clBad = true
		}
	case kindTransferEncoding:
		f.teSeen = true
		for more := true; more; {
			var e []byte
			e, value, more = nextElem(value)
			if k := bytes.IndexByte(e, ';'); k >= 0 {
				e = trimOWS(e[:k])
			}
			if len(e) == 0 {
				continue
			}
			f.teCodings++
			f.teLastChunked = equalFold(e, "chunked")
			if f.teLastChunked {
				f.teChunked++
			}
		}
	case kindConnection:
		for more := true; more; {
			var e []byte
			e, value, more = nextElem(value)
			switch {
			case equalFold(e, "close"):
				f.connClose = true
			case equalFold(e, "keep-alive"):
				f.connKeepAlive = true
			case equalFold(e, "upgrade"):
				f.connUpgrade = true
			}
		}
	case kindUpgrade:
		if len(value) > 0 {
			f.upgrade = true
		}
	case kindExpect:
		if equalFold(value, "100-continue") {
			f.expect100 = true
		}
	}
}

var (
	methodHEAD    = []byte("HEAD")
	methodCONNECT = []byte("CONNECT")
)

// endOfHead applies the framing rules of RFC 9112 6.3 (see docs/http.md
// for the decisions on malformed input) and moves to the body state.
func (p *Parser) endOfHead() {
	m := &p.msg
	f := &p.fr
	http11 := p.sl.minor == '1'
	te := f.teSeen
	if te && !http11 {
		// RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty
		// framing. Like net/http, ignore it and use Content-Length.
		m.Flags |= flow.FlagMalformed
		te = false
	}
	chunked := te && f.teCodings > 0 && f.teLastChunked && f.teChunked == 1
	if te && (f.teChunked > 1 || f.clSeen) {
		// chunked twice, or TE together with CL (a smuggling pattern):
		// TE wins, but say so.
		m.Flags |= flow.FlagMalformed
	}
	if f.clSeen && f.clBad {
		m.Flags |= flow.FlagMalformed
	}
	if f.clSeen && !f.clBad && !te {
		m.ContentLength = f.cl
	}
	m.Chunked = chunked
	keepAlive := !f.connClose && (http11 || f.connKeepAlive)

	body := bodyNone
	unknownMethod := false
	if p.request {
		m.Upgrade = f.upgrade && f.connUpgrade
		m.Expect100 = f.expect100
		switch {
		case chunked:
			body = bodyChunks
		case te:
			// Chunked not last: the server must answer 400 and close
			// (RFC 9112 6.3 item 4). The bytes that follow are
			// resynchronised over.
			m.Flags |= flow.FlagMalformed
			keepAlive = false
		case f.clSeen && f.clBad:
			keepAlive = false
		case m.ContentLength > 0:
			body = bodyLength
		}
	} else {
		status := m.Status
		noBody := status < 200 || status == 204 || status == 304
		if status == 101 {
			m.Upgrade = true
			p.after = stOpaque
		}
		if status >= 200 {
			method := p.h.RequestMethod()
			unknownMethod = len(method) == 0
			if bytes.Equal(method, methodHEAD) {
				noBody = true
			} else if status < 300 && bytes.Equal(method, methodCONNECT) {
				noBody = true
				p.after = stOpaque
			}
		}
		switch {
		case noBody:
		case chunked:
			body = bodyChunks
		case te, f.clSeen && f.clBad:
			body = bodyUntilClose
		case f.clSeen:
			body = bodyLength
		default:
			body = bodyUntilClose
		}
		if body == bodyUntilClose {
			keepAlive = false
		}
		if unknownMethod && (body == bodyChunks || body == bodyLength && m.ContentLength > 0) {
			// The request was lost: this may answer a HEAD, whose
			// response declares a body it does not have. Look at the
			// bytes after the head before believing it (feedPeek).
			m.KeepAlive = keepAlive
			p.state = stPeek
			p.peekBody = body
			p.peekN = 0
			p.peekDfa.reset(false, true)
			p.headTs = p.ts
			return
		}
	}
	m.KeepAlive = keepAlive
	p.startBody(body)
}

// Body framing decided by endOfHead.
const (
	bodyNone uint8 = iota
	bodyLength
	bodyChunks
	bodyUntilClose
)

func (p *Parser) startBody(body uint8) {
	switch body {
	case bodyNone:
		p.deliver(0)
	case bodyLength:
		if p.msg.ContentLength == 0 {
			p.deliver(0)
			return
		}
		p.remaining = p.msg.ContentLength
		p.state = stBodyLen
	case bodyChunks:
		p.startChunkSize()
	case bodyUntilClose:
		p.state = stBodyClose
	}
}

// feedPeek decides, on at most peekMax bytes after a response head whose
// request method is unknown, whether the declared body follows: if the
// bytes begin a plausible status line (strict rules, as in resync), the
// response had no body (it answered a lost HEAD) and is delivered as it
// is; otherwise the body is read as declared. Bytes held back across Feed
// calls are replayed into the state decided on.
func (p *Parser) feedPeek(data []byte) int {
	k0 := p.peekN
	if k0 == 0 {
		p.peekTs = p.ts
	}
	in := data
	if len(in) > peekMax-k0 {
		in = in[:peekMax-k0]
	}
	n, r := p.peekDfa.feed(in)
	if r == slMore && !p.peekDfa.responseConfirmed() {
		// Still a prefix of a status line (n == len(in) < peekMax-k0).
		copy(p.peekBuf[k0:], in[:n])
		p.peekN += n
		return n
	}
	p.peekDecide(r == slAccept || r == slMore, 0)
	// data is re-examined from its first byte in the decided state.
	return 0
}

// peekDecide leaves stPeek: status=true delivers the response without a
// body (with flags), false starts the declared body. The held bytes are
// then replayed.
func (p *Parser) peekDecide(status bool, flags flow.Flags) {
	k := p.peekN
	p.peekN = 0
	saved := p.ts
	if status {
		p.ts = p.headTs
		p.deliver(flags)
	} else {
		p.startBody(p.peekBody)
	}
	if k > 0 {
		p.ts = p.peekTs
		p.run(p.peekBuf[:k])
	}
	p.ts = saved
}

// ---- bodies ----

func (p *Parser) keepBody(b []byte) {
	room := p.lim.MaxBodyBytes - len(p.body)
	if len(b) > room {
		if room > 0 {
			p.body = append(p.body, b[:room]...)
		}
		if p.msg.Flags&flow.FlagTruncated == 0 {
			p.msg.Flags |= flow.FlagTruncated
			p.stats.LimitBody++
		}
		return
	}
	p.body = append(p.body, b...)
}

func (p *Parser) feedBodyLen(data []byte) int {
	n := len(data)
	if int64(n) > p.remaining {
		n = int(p.remaining)
	}
	p.keepBody(data[:n])
	p.remaining -= int64(n)
	p.msgWire += int64(n)
	p.msg.BodyWireBytes += int64(n)
	if p.remaining == 0 {
		p.deliver(0)
	}
	return n
}

func (p *Parser) feedBodyClose(data []byte) int {
	p.keepBody(data)
	p.msgWire += int64(len(data))
	p.msg.BodyWireBytes += int64(len(data))
	return len(data)
}

const (
	csDigits uint8 = iota
	csAfter        // after the digits: BWS, ';' extension, CR or LF
	csExt          // extension: up to LF
	csCR           // LF after CR
)

func (p *Parser) startChunkSize() {
	p.state = stChunkSize
	p.csN, p.csDigits, p.csPhase, p.csLen = 0, 0, csDigits, 0
}

func (p *Parser) feedChunkSize(data []byte) int {
	// Look at no more than the line limit allows, so that the verdict on
	// an overlong line does not depend on how the bytes were split.
	if room := maxChunkLine - p.csLen; len(data) > room {
		data = data[:room]
	}
	i := 0
	done := false
	bad := false
	for i < len(data) && !done && !bad {
		c := data[i]
		switch p.csPhase {
		case csDigits:
			if v, ok := unhex(c); ok {
				// A chunk size beyond int64 (e.g. 2^64) is a known
				// desync attack: framing cannot be trusted any more.
				if p.csN > maxInt64>>4 {
					bad = true
					break
				}
				p.csN = p.csN<<4 | v
				p.csDigits++
				i++
				continue
			}
			if p.csDigits == 0 {
				bad = true
				break
			}
			p.csPhase = csAfter
		case csAfter:
			switch c {
			case ' ', '\t':
				i++
			case ';':
				p.csPhase = csExt
				i++
			case '\r':
				p.csPhase = csCR
				i++
			case '\n':
				i++
				done = true
			default:
				bad = true
			}
		case csExt:
			j := indexLF(data[i:])
			if j < 0 {
				i = len(data)
			} else {
				i += j + 1
				done = true
			}
		case csCR:
			if c != '\n' {
				bad = true
				break
			}
			i++
			done = true
		}
	}
	p.csLen += i
	p.msgWire += int64(i)
	if !bad && !done && p.csLen >= maxChunkLine {
		bad = true
	}
	if bad {
		p.framingBroken()
		return i
	}
	if done {
		if p.csN == 0 {
			p.state = stTrailers
			p.inTrail = true
			p.lineBegun = false
		} else {
			p.remaining = int64(p.csN)
			p.state = stChunkData
		}
	}
	return i
}

func (p *Parser) feedChunkData(data []byte) int {
	n := len(data)
	if int64(n) > p.remaining {
		n = int(p.remaining)
	}
	p.keepBody(data[:n])
	p.remaining -= int64(n)
	p.msgWire += int64(n)
	p.msg.BodyWireBytes += int64(n)
	if p.remaining == 0 {
		p.state = stChunkCRLF
		p.crlfCR = false
	}
	return n
}

func (p *Parser) feedChunkCRLF(data []byte) int {
	i := 0
	for i < len(data) {
		switch c := data[i]; {
		case c == '\r' && !p.crlfCR:
			p.crlfCR = true
			i++
		case c == '\n':
			i++
			p.msgWire += int64(i)
			p.startChunkSize()
			return i
		default:
			// Chunk data longer than its size said: framing is off.
			p.msgWire += int64(i)
			p.framingBroken()
			return i
		}
	}
	p.msgWire += int64(i)
	return i
}

// framingBroken: chunk framing became unparseable after a complete head.
// Deliver what we have (so request/response pairing stays right), then
// resynchronise from the offending byte.
func (p *Parser) framingBroken() {
	p.deliverResync(flow.FlagMalformed | flow.FlagIncomplete)
}

// abandon gives up on the message in progress (garbage head or trailer
// section) and resynchronises. midLine: the current line has not ended.
func (p *Parser) abandon(midLine bool) {
	if p.state == stTrailers {
		p.deliverResync(flow.FlagMalformed | flow.FlagIncomplete)
	} else {
		p.stats.Malformed++
		p.dropPartial()
		p.enterResync()
	}
	p.skipLine = midLine
}

// ---- delivery ----

// deliver hands the message to the Handler and moves to p.after (the
// Handler may switch this parser to opaque from inside Message).
func (p *Parser) deliver(flags flow.Flags) {
	p.state = p.after
	p.syncing = false
	p.send(flags)
}

// deliverResync delivers a message whose end could not be found, then
// resynchronises.
func (p *Parser) deliverResync(flags flow.Flags) {
	p.stats.Resyncs++
	p.state = stStart
	p.syncing = true
	p.skipLine = false
	p.send(flags)
}

func (p *Parser) send(flags flow.Flags) {
	p.finishPending()
	m := &p.msg
	m.Flags |= flags
	buf := p.buf
	sl := &p.sl
	if p.request {
		m.Method = buf[:sl.mEnd:sl.mEnd]
		m.Target = buf[sl.tStart:sl.tEnd:sl.tEnd]
		m.Proto = buf[sl.vStart : sl.vStart+8 : sl.vStart+8]
	} else {
		m.Proto = buf[sl.vStart : sl.vStart+8 : sl.vStart+8]
		re := lineContentEnd(buf[:sl.n])
		if sl.rStart > re {
			re = sl.rStart
		}
		m.Reason = buf[sl.rStart:re:re]
	}
	hd := p.hdrs[:0]
	for _, f := range p.fields {
		hd = append(hd, Field{Name: buf[f.ns:f.ne:f.ne], Value: buf[f.vs:f.ve:f.ve]})
	}
	p.hdrs = hd
	m.Headers = hd
	tr := p.trls[:0]
	for _, f := range p.tfields {
		tr = append(tr, Field{Name: buf[f.ns:f.ne:f.ne], Value: buf[f.vs:f.ve:f.ve]})
	}
	p.trls = tr
	if len(tr) > 0 {
		m.Trailers = tr
	}
	m.Body = p.body
	m.End = p.ts
	if m.Flags&flow.FlagMalformed != 0 {
		p.stats.Malformed++
	}
	p.stats.Messages++
	p.stats.MessageBytes += uint64(p.msgWire)
	p.flushSkip()
	p.delivering = true
	p.h.Message(m)
	p.delivering = false
	p.resetMessage()
}

// ---- gaps, close, opaque ----

// Gap reports n bytes lost before the next Feed. Inside a body of known
// remaining length (Content-Length, chunk data) the bytes are skipped and
// the message marked FlagGap; in a close-delimited body they are counted
// and flagged; anywhere else sync is lost: a message whose head was
// complete is delivered (FlagGap|FlagIncomplete), a partial head is
// dropped, and the parser scans for the next start line. In a response
// stream, the first message found after a gap outside any body carries
// FlagGap (a 1xx may have been lost with it). A response head whose body
// is in doubt (request method unknown, see feedPeek) is delivered without
// its body on a gap that follows it directly.
func (p *Parser) Gap(n int, ts int64) {
	if n <= 0 {
		return
	}
	p.ts = ts
	p.stats.Gaps++
	p.gap(int64(n))
	p.flushSkip()
}

func (p *Parser) gap(gap int64) {
	if !p.request {
		switch p.state {
		case stStart, stHeaders:
			p.gapNext = true
		case stBodyLen:
			if gap > p.remaining {
				p.gapNext = true
			}
		case stPeek:
			// Bytes right after a head whose body is in doubt. If a
			// status line had begun, it did (the response has no
			// body) and the gap is in the next head; if nothing had
			// arrived, the gap may have swallowed the body or the
			// next response: deliver the head (FlagGap), resync. Never
			// read a body of unknown existence past a gap: it could
			// swallow the responses that follow.
			if p.peekN > 0 {
				p.peekDecide(true, 0)
			} else {
				p.peekDecide(true, flow.FlagGap)
				if p.state == stStart { // not made opaque from Message
					p.stats.Resyncs++
					p.syncing = true
				}
			}
			p.gap(gap)
			return
		}
	}
	switch p.state {
	case stBodyLen, stChunkData:
		p.msg.Flags |= flow.FlagGap
		in := gap
		if in > p.remaining {
			in = p.remaining
		}
		p.remaining -= in
		p.msg.BodyWireBytes += in
		p.stats.GapBytesBody += uint64(in)
		p.stats.GapBytesOther += uint64(gap - in)
		switch {
		case gap > in:
			// The gap ran past the end of this body (or chunk):
			// where the next message starts is unknown.
			if p.state == stBodyLen {
				p.deliverResync(0)
			} else {
				p.deliverResync(flow.FlagIncomplete)
			}
		case p.remaining > 0:
		case p.state == stBodyLen:
			p.deliver(0)
		default:
			p.state = stChunkCRLF
			p.crlfCR = false
		}
	case stBodyClose:
		p.msg.Flags |= flow.FlagGap
		p.msg.BodyWireBytes += gap
		p.stats.GapBytesBody += uint64(gap)
	case stChunkSize, stChunkCRLF, stTrailers:
		p.stats.GapBytesOther += uint64(gap)
		p.deliverResync(flow.FlagGap | flow.FlagIncomplete)
	case stStart, stHeaders:
		p.stats.GapBytesOther += uint64(gap)
		if p.syncing && p.state == stStart {
			// Still searching: drop the candidate; the byte after
			// the gap is a fresh candidate.
			p.skip(int(p.msgWire))
			p.skipLine = false
			p.resetMessage()
		} else {
			p.dropPartial()
			p.enterResync()
		}
	default:
		p.stats.GapBytesOther += uint64(gap)
	}
}

// Close ends the stream. A close-delimited response body completes with
// FlagCloseDelimited; a message whose head was complete but whose body
// was cut short is delivered with FlagIncomplete (also a response whose
// body was in doubt, see feedPeek); a partial head is dropped (counted).
// Feed after Close only counts skipped bytes.
func (p *Parser) Close(ts int64) {
	p.ts = ts
	switch p.state {
	case stBodyClose:
		p.after = stClosed
		p.deliver(flow.FlagCloseDelimited)
	case stBodyLen, stChunkSize, stChunkData, stChunkCRLF, stTrailers:
		p.after = stClosed
		p.deliver(flow.FlagIncomplete)
	case stPeek:
		// Nothing can be swallowed any more: the declared body stays
		// (cut short, FlagIncomplete), as for a known method.
		p.peekDecide(false, 0)
		p.Close(ts)
		return
	case stStart, stHeaders:
		p.dropPartial()
	}
	p.state = stClosed
	p.flushSkip()
}

// SetOpaque makes the rest of the stream opaque (after a 101 Switching
// Protocols or a successful CONNECT): further bytes are reported through
// Handler.Skipped, never parsed. A message in progress is dropped
// (counted). SetOpaque never calls the Handler, so it is safe to call from
// inside Handler.Message of either parser.
func (p *Parser) SetOpaque() {
	p.pass = nil
	p.setOpaque()
}

// SetPassthrough is SetOpaque, except that the rest of the stream —
// starting with the bytes of the Feed call in progress that follow the
// current message — is handed to fn rather than counted: the protocol the
// connection switched to (HTTP/2 after an h2c upgrade) is read from the
// first byte after the 101. data is valid only during the call. Safe to
// call from inside Handler.Message, like SetOpaque.
func (p *Parser) SetPassthrough(fn func(data []byte, ts int64)) {
	p.setOpaque()
	p.pass = fn
}

func (p *Parser) setOpaque() {
	if p.state == stOpaque || p.state == stClosed {
		return
	}
	if !p.delivering {
		p.dropPartial()
	}
	p.state = stOpaque
	p.syncing = false
	p.skipLine = false
}
