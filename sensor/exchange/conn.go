package exchange

import (
	"bytes"
	"math"
	"net/netip"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/h2"
	"github.com/apitap/apitap/sensor/http1"
	"github.com/apitap/apitap/sensor/tcp"
)

// Roles index the two parsers of a connection. Which tcp.Dir plays which
// role is decided by content (conn.roleOf), not by the TCP layer's guess.
const (
	roleReq  = 0
	roleResp = 1
)

const (
	modeDetect      uint8 = iota // looking at the first bytes for HTTP
	modeHTTP                     // roles fixed, both directions go to the parsers
	modeNonHTTP                  // neither direction is HTTP: bytes counted and dropped
	modeH2                       // HTTP/2 with prior knowledge (h2.go)
	modeH2Midstream              // HTTP/2 joined midstream: unreadable, bytes counted as lost
)

// detectCap is the most bytes held per direction while http1.Detect needs
// more (it decides within 8 KiB).
const detectCap = 8 << 10

// maxInfo bounds the 1xx statuses kept per exchange.
const maxInfo = 8

// pendingReq is a request waiting for its response: a copy of everything
// the record needs (its half), so the parser's buffers can be reused. It is
// pooled with its buffers.
type pendingReq struct {
	half
	c *conn
	// prev/next link the Factory's timeout queue (arrival order).
	prev, next *pendingReq
	queued     bool
	// ghost: already emitted as no_response (timeout). It stays in the
	// FIFO because HTTP/1.x answers in order: a late response still
	// belongs to it and must not be paired with the next request.
	ghost     bool
	pipelined bool   // sent while an earlier request was unanswered
	afterGap  bool   // request bytes were lost just before it: a request may be missing there
	expect100 bool   // the request carried Expect: 100-continue
	info      []int  // 1xx statuses received for it
	size      int64  // bytes accounted in Factory.pendingBytes while queued
	h2id      uint32 // HTTP/2: the stream (never 0 for a request); 0 for HTTP/1.x
}

// earlyInfo is a 1xx response seen while no request was pending.
type earlyInfo struct {
	status int
	start  int64
}

// handler adapts a conn to http1.Handler for one role. It lives inside the
// pooled conn, so handing &c.hs[role] to a parser allocates nothing.
type handler struct {
	c    *conn
	role uint8
}

// detector looks for HTTP at the start of one direction (and, for
// midstream connections or after a gap, at later line starts within a
// byte budget).
type detector struct {
	buf       []byte // a line start held because http1.Detect needs more bytes
	ts        int64  // timestamp of the held bytes
	gaveUp    bool   // no HTTP found within the budget
	lineStart bool   // the next byte begins a line
	resync    bool   // bytes were skipped: the parser must resynchronise
	scanned   int    // bytes scanned without finding a start line
	budget    int
	// clean: nothing of this direction was looked at yet and the
	// connection's start was seen, so it may begin with the HTTP/2
	// preface.
	clean bool
	// h2held keeps a copy of the first bytes of a direction that began
	// with an HTTP/2 SETTINGS frame (a server speaks first), up to
	// detectCap, in case the other direction turns out to send the
	// preface; h2hold says the copy is still complete.
	h2held []byte
	h2hold bool
	// sync looks for HTTP/2 frames where the direction may start
	// mid-stream (midstream connection, after a gap); syncing says it runs.
	sync    h2.Sync
	syncing bool
}

// conn is the tcp.Stream of one connection. Pooled by the Factory.
type conn struct {
	f              *Factory
	client, server netip.AddrPort
	outer          flow.Outer
	midstream      bool
	ended          bool
	mode           uint8
	opaque         bool     // after an upgrade or CONNECT: bytes counted, not parsed
	respGap        bool     // the response parser lost sync: whole responses may be missing
	respResyncs    uint64   // the response parser's Stats().Resyncs when last looked at
	respGapBytes   uint64   // the response parser's Stats().GapBytesOther when last looked at
	respGapNext    bool     // bytes were lost between responses: flag the next one
	reqGapBytes    uint64   // the request parser's Stats().GapBytesOther when last looked at
	reqLost        bool     // request bytes were lost since the last request: the next one gets afterGap
	sawResp        bool     // the response direction delivered bytes
	firstDone      [2]bool  // by role: a message was delivered (midstream flag)
	roleOf         [2]uint8 // by tcp.Dir
	parsers        [2]*http1.Parser
	hs             [2]handler
	h2             *h2state // modeH2 only; kept with the pooled conn
	det            [2]detector
	undetected     uint64 // bytes dropped while detecting
	mid            midstreamCount

	// fifo is a ring of pending requests, oldest first; live counts the
	// entries that are not ghosts.
	fifo          []*pendingReq
	head, n, live int

	// orphans are final responses that found no request to answer, held
	// (each in a pooled pendingReq's half) instead of being emitted as
	// no_request at once: the reassembler delivers each direction in
	// order, but not the two directions relative to each other. When the
	// last bytes of a request were lost and the hole is only declared
	// when later client bytes arrive, the request completes after its
	// response (and maybe the next ones) was parsed. A request that then
	// completes is paired with the oldest orphan that started after it;
	// older orphans, orphans older than a normally paired response, the
	// overflow of this small list and whatever is left at the end are
	// emitted as no_request, in order.
	orphans []*pendingReq

	// respTS is the timestamp of the bytes being fed to the response
	// parser: an upper bound of the start of the response in progress.
	respTS int64

	// early holds 1xx statuses that arrived while no request was pending
	// (100 Continue arrives before the request body, hence before the
	// request message is complete); they go to the next request.
	early  [maxInfo]earlyInfo
	nEarly int
}

func (c *conn) init(info *tcp.ConnInfo) {
	c.client = netip.AddrPortFrom(addr(info.ClientAddr, info.IPv6), info.ClientPort)
	c.server = netip.AddrPortFrom(addr(info.ServerAddr, info.IPv6), info.ServerPort)
	c.outer = info.Key.Outer
	c.midstream = info.Midstream
	c.ended, c.opaque, c.sawResp, c.respGap = false, false, false, false
	c.mode = modeDetect
	c.firstDone = [2]bool{}
	c.roleOf = [2]uint8{roleReq, roleResp}
	budget := 0 // a clean start is judged on its first bytes only
	if c.midstream {
		budget = c.f.cfg.MidstreamScanBytes
	}
	for i := range c.det {
		c.det[i] = detector{buf: c.det[i].buf[:0], h2held: c.det[i].h2held[:0], lineStart: true, budget: budget,
			clean: !c.midstream, syncing: c.midstream}
	}
	c.undetected, c.respTS, c.reqLost = 0, 0, false
	c.mid = midstreamCount{st: &c.f.st}
	c.head, c.n, c.live, c.nEarly = 0, 0, 0, 0
	c.orphans = c.orphans[:0] // End flushed them
}

// Data implements tcp.Stream.
func (c *conn) Data(dir tcp.Dir, data []byte, ts int64) {
	if c.ended || len(data) == 0 || dir > 1 {
		return
	}
	f := c.f
	if f.tqHead != nil && f.tqHead.end+f.timeout <= ts {
		f.Advance(ts)
	}
	switch c.mode {
	case modeHTTP:
		if c.opaque {
			// The parsers are opaque too; skipping the call is cheaper.
			f.st.opaqueBytes.Add(uint64(len(data)))
			return
		}
		c.feed(dir, data, ts)
	case modeH2:
		if c.opaque {
			f.st.opaqueBytes.Add(uint64(len(data)))
			return
		}
		c.feedH2(dir, data, ts)
	case modeNonHTTP:
		f.st.nonHTTPBytes.Add(uint64(len(data)))
	case modeH2Midstream:
		f.st.h2MidstreamBytes.Add(uint64(len(data)))
		c.det[dir].sync.Follow(data, &c.mid)
	default:
		c.detect(dir, data, ts)
	}
}

// Gap implements tcp.Stream.
func (c *conn) Gap(dir tcp.Dir, n int, ts int64) {
	if c.ended || n <= 0 || dir > 1 {
		return
	}
	f := c.f
	f.st.gapBytes.Add(uint64(n))
	if f.tqHead != nil && f.tqHead.end+f.timeout <= ts {
		f.Advance(ts)
	}
	switch c.mode {
	case modeHTTP:
		if !c.opaque {
			p := c.parsers[c.roleOf[dir]]
			p.Gap(n, ts)
			if c.roleOf[dir] == roleReq {
				if g := p.Stats().GapBytesOther; g != c.reqGapBytes {
					// Whole requests may have been in the lost bytes.
					c.reqGapBytes, c.reqLost = g, true
				}
			}
		}
	case modeH2:
		if !c.opaque {
			c.gapH2(dir, n, ts)
		}
	case modeH2Midstream:
		c.det[dir].sync.Gap()
	case modeDetect:
		// The bytes after a gap start anywhere: scan for a start line.
		d := &c.det[dir]
		d.clean, d.h2hold = false, false
		d.h2held = d.h2held[:0]
		d.sync.Gap()
		d.syncing = true
		if d.gaveUp {
			return
		}
		c.undetected += uint64(len(d.buf))
		d.buf = d.buf[:0]
		d.lineStart, d.resync = true, true
		d.scanned, d.budget = 0, f.cfg.MidstreamScanBytes
	}
}

// End implements tcp.Stream: the parsers complete what the close completes
// (close-delimited bodies), then every request still pending is emitted as
// no_response, and the conn goes back to the pool.
func (c *conn) End(reason tcp.EndReason, ts int64) {
	if c.ended {
		return
	}
	f := c.f
	switch c.mode {
	case modeHTTP:
		// Requests first: a request completed by the close must be
		// pending before the response parser completes its answer.
		c.parsers[roleReq].Close(ts)
		c.parsers[roleResp].Close(ts)
	case modeH2:
		if !c.opaque {
			c.endH2(ts)
		}
	case modeDetect:
		held := uint64(len(c.det[0].buf) + len(c.det[1].buf))
		if c.undetected+held > 0 {
			f.st.nonHTTPConns.Add(1)
			f.st.nonHTTPBytes.Add(c.undetected + held)
		}
	}
	c.flushOrphans(len(c.orphans))
	for c.n > 0 {
		pr := c.popFront()
		if !pr.ghost {
			c.live--
			f.st.endedPending.Add(1)
			f.emitNoResponse(c, pr, ts)
		}
		f.putReq(pr)
	}
	c.ended = true
	c.releaseH2()
	for i := range c.det {
		if cap(c.det[i].buf) > 64<<10 {
			c.det[i].buf = nil
		}
	}
	f.putConn(c)
}

func (c *conn) feed(dir tcp.Dir, data []byte, ts int64) {
	role := c.roleOf[dir]
	if role == roleResp {
		c.sawResp = true
		c.respTS = ts
	}
	c.parsers[role].Feed(data, ts)
}

// detect runs while the connection is not yet recognised. HTTP is
// recognised by content, never by port: http1.Detect is asked at the first
// byte of the direction and, when the direction may start mid-message
// (midstream connection, gap), at every following line start until the
// scan budget is spent. Bytes that cannot be a start line are dropped and
// counted; the first start line found fixes the roles of both directions.
func (c *conn) detect(dir tcp.Dir, data []byte, ts int64) {
	d := &c.det[dir]
	if d.syncing {
		// After the scan budget, only a chain already being followed may
		// go on (it skips payloads: a 16 KiB DATA frame costs nothing).
		if (!d.gaveUp || d.sync.Locked()) && d.sync.Follow(data, &c.mid) {
			c.startH2Midstream(uint64(len(data)))
			return
		}
		if d.gaveUp && !d.sync.Locked() {
			d.syncing = false
			c.undetected += uint64(len(data))
			c.settleNonHTTP()
			return
		}
	}
	if d.gaveUp {
		// Waiting for the other direction to decide.
		c.undetected += uint64(len(data))
		if d.h2hold {
			if len(d.h2held)+len(data) <= detectCap {
				d.h2held = append(d.h2held, data...)
			} else {
				d.h2hold, d.h2held = false, d.h2held[:0]
			}
		}
		return
	}
	if d.clean {
		switch match, more := prefaceState(d.buf, data); {
		case match:
			held := d.buf
			d.buf = d.buf[:0]
			c.startH2(dir)
			c.feedH2(dir, held, d.ts)
			c.feedH2(dir, data, ts)
			return
		case more:
			d.buf = append(d.buf, data...)
			d.ts = ts
			return
		}
		d.clean = false
		if len(d.buf) == 0 && settingsFrame(data) {
			d.h2held = append(d.h2held[:0], data[:min(len(data), detectCap)]...)
			d.h2hold = len(data) <= detectCap
		}
	}
	const capacity = detectCap
	for len(data) > 0 {
		if len(d.buf) > 0 {
			// A held line start: extend it and ask again.
			old := len(d.buf)
			take := min(capacity-old, len(data))
			d.buf = append(d.buf, data[:take]...)
			switch k := http1.Detect(d.buf); k {
			case http1.KindRequest, http1.KindResponse:
				c.startHTTP(dir, k)
				held := d.buf[:old]
				c.feed(dir, held, d.ts)
				d.buf = d.buf[:0]
				c.feed(dir, data, ts)
				return
			case http1.KindUnknown:
				if len(d.buf) < capacity {
					d.ts = ts
					return // everything taken into buf
				}
			}
			// Not a start line: drop what was held before this call and
			// rescan data from its first byte for the next line start.
			c.undetected += uint64(old)
			d.buf = d.buf[:0]
			d.lineStart = false
		} else if d.lineStart {
			switch k := http1.Detect(data); k {
			case http1.KindRequest, http1.KindResponse:
				c.startHTTP(dir, k)
				c.feed(dir, data, ts)
				return
			case http1.KindUnknown:
				if len(data) < capacity {
					d.buf = append(d.buf[:0], data...)
					d.ts = ts
					return
				}
			}
			d.lineStart = false
		}
		if d.scanned >= d.budget {
			break
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			d.scanned += len(data)
			c.undetected += uint64(len(data))
			return
		}
		d.scanned += i + 1
		c.undetected += uint64(i + 1)
		data = data[i+1:]
		d.lineStart = true
		d.resync = true
	}
	if len(data) == 0 && d.scanned < d.budget {
		return
	}
	// Budget spent without a start line: this direction is not HTTP.
	c.undetected += uint64(len(data))
	d.gaveUp = true
	c.settleNonHTTP()
}

// settleNonHTTP declares the connection not HTTP once both directions
// gave up and neither is following a chain of HTTP/2 frames.
func (c *conn) settleNonHTTP() {
	for i := range c.det {
		if d := &c.det[i]; !d.gaveUp || d.syncing && d.sync.Locked() {
			return
		}
	}
	c.det[0].h2held, c.det[1].h2held = c.det[0].h2held[:0], c.det[1].h2held[:0]
	c.mode = modeNonHTTP
	c.f.st.nonHTTPConns.Add(1)
	c.f.st.nonHTTPBytes.Add(c.undetected)
	c.undetected = 0
	c.det[0].buf, c.det[1].buf = c.det[0].buf[:0], c.det[1].buf[:0]
}

// midstreamCount counts the requests of an HTTP/2 connection joined
// midstream: the streams opened after the join, each a request the sensor
// saw but could not read. A client opens streams with odd, increasing ids
// (RFC 9113 §5.1.1), and the request's HEADERS come before the response's,
// so a HEADERS frame with an odd id above every id seen opens a stream,
// whichever direction it was seen in (a direction that lost its framing
// to a gap still leaves the other one counting).
type midstreamCount struct {
	st  *counters
	max uint32
}

// Frame implements h2.Visitor.
func (m *midstreamCount) Frame(typ, flags byte, stream uint32) {
	if typ == h2.TypeHeaders && stream&1 == 1 && stream > m.max {
		m.max = stream
		m.st.h2MidstreamStreams.Add(1)
	}
}

// startH2Midstream gives up on a connection found to carry HTTP/2 frames
// without its start (h2.Sync): the HPACK tables the peers built before
// cannot be rebuilt, so nothing can be read, but the bytes are counted as
// lost (http2_midstream) rather than as non-HTTP, so the analyzer knows
// the sensor was blind to it. n bytes of the current delivery are counted
// with those already seen.
func (c *conn) startH2Midstream(n uint64) {
	f := c.f
	c.mode = modeH2Midstream
	f.st.h2Midstream.Add(1)
	for i := range c.det {
		d := &c.det[i]
		n += uint64(len(d.buf))
		d.buf, d.h2held = d.buf[:0], d.h2held[:0]
	}
	f.st.h2MidstreamBytes.Add(c.undetected + n)
	c.undetected = 0
}

// startHTTP fixes the roles once direction dir was found to carry
// requests or responses (kind), resets both parsers and feeds the other
// direction whatever it held.
func (c *conn) startHTTP(dir tcp.Dir, kind http1.Kind) {
	f := c.f
	reqDir := dir
	if kind == http1.KindResponse {
		reqDir = 1 - dir
	}
	if reqDir != tcp.ClientToServer {
		// The TCP layer guessed the client from ports (no SYN seen); the
		// content says otherwise.
		c.client, c.server = c.server, c.client
		f.st.swaps.Add(1)
	}
	c.roleOf[reqDir], c.roleOf[1-reqDir] = roleReq, roleResp
	c.mode = modeHTTP
	// Reset below zeroes the parser's stats.
	c.respGap, c.respResyncs, c.respGapBytes, c.respGapNext = false, 0, 0, false
	c.reqGapBytes = 0
	f.st.httpConns.Add(1)
	f.st.skippedBytes.Add(c.undetected)
	c.undetected = 0
	for d := tcp.Dir(0); d < 2; d++ {
		det := &c.det[d]
		midstream := c.midstream || det.resync || det.gaveUp || (d != dir && det.scanned > 0)
		role := c.roleOf[d]
		p := c.parsers[role]
		if p == nil {
			p = http1.NewParser(role == roleReq, f.cfg.Limits, &c.hs[role])
			c.parsers[role] = p
		}
		p.Reset(role == roleReq, f.cfg.Limits, &c.hs[role], midstream)
	}
	other := &c.det[1-dir]
	if len(other.buf) > 0 {
		c.feed(1-dir, other.buf, other.ts)
		other.buf = other.buf[:0]
	}
}

// Message implements http1.Handler.
func (h *handler) Message(m *http1.Message) {
	if h.role == roleReq {
		h.c.onRequest(m)
	} else {
		h.c.onResponse(m)
	}
}

// RequestMethod implements http1.Handler: the method of the request the
// response being parsed will be paired with (see onResponse): normally the
// oldest unanswered one (a ghost still counts: its response is the next
// one). nil when it is unknown, so that a wrong guess (HEAD, CONNECT) does
// not mis-frame the response.
func (h *handler) RequestMethod() []byte {
	c := h.c
	c.checkResync()
	i := 0
	if c.respGap {
		// Mirror realign, with the time of the bytes being parsed as an
		// upper bound of the response's start.
		for i < c.n && c.nextStart(i) <= c.respTS {
			i++
		}
	}
	if i >= c.n {
		return nil
	}
	pr := c.at(i)
	if pr.start > c.respTS {
		return nil // the response started before this request: not its answer
	}
	method := pr.get(pr.method)
	if (c.respGap || pr.afterGap) && !equalFold(method, "head") && !equalFold(method, "connect") {
		// Which request this response answers is a guess: after lost
		// response bytes it may answer one whose response was expected
		// earlier, after lost request bytes one that was lost. If that
		// was a HEAD, its response declares a length it does not
		// carry, and taking the guess would read the next responses as
		// its body. Unknown, the parser looks at the bytes after the
		// head instead. A guessed HEAD or CONNECT is kept: a wrong HEAD
		// only skips a body (the parser resyncs on the next response),
		// and a CONNECT's answer turns the connection into a tunnel.
		return nil
	}
	return method
}

// checkResync arms realign when the response parser lost sync since the
// last look: a gap outside a body of known length, broken framing or a
// skipped head; whole responses may have been lost.
//
// It also notes bytes lost outside a body: they belonged to the next
// response (its head, or a 1xx before it), which gets FlagGap. Such bytes
// arm realign too: whole responses may be in them. The parser counts no
// new resync for a gap that arrives while it is still searching for a
// start line (a midstream connection whose first response head was lost,
// as in ndpi/1kxun.pcap), so the resync count alone would miss it.
func (c *conn) checkResync() {
	if p := c.parsers[roleResp]; p != nil {
		st := p.Stats()
		if st.Resyncs != c.respResyncs {
			c.respResyncs = st.Resyncs
			c.respGap = true
		}
		if st.GapBytesOther != c.respGapBytes {
			c.respGapBytes = st.GapBytesOther
			c.respGapNext = true
			c.respGap = true
		}
	}
}

// Skipped implements http1.Handler.
func (h *handler) Skipped(n int) {
	if n <= 0 {
		return
	}
	if h.c.opaque {
		h.c.f.st.opaqueBytes.Add(uint64(n))
	} else {
		h.c.f.st.skippedBytes.Add(uint64(n))
	}
}

func (c *conn) onRequest(m *http1.Message) {
	f := c.f
	f.st.requests.Add(1)
	if c.n >= f.cfg.MaxPending {
		old := c.popFront()
		if !old.ghost {
			c.live--
			f.st.drops.Add(1)
			f.emitNoResponse(c, old, m.End)
		}
		f.putReq(old)
	}
	pr := f.getReq()
	f.fillRequest(&pr.half, m)
	if c.midstream && !c.firstDone[roleReq] {
		pr.flags |= flow.FlagMidstream
	}
	c.firstDone[roleReq] = true
	pr.pipelined = c.live > 0
	pr.afterGap, c.reqLost = c.reqLost, false
	// 1xx responses seen before this request was complete belong to it
	// if they came after it started (and a 100 only if it asked for one);
	// others answered a request that was lost.
	for _, e := range c.early[:c.nEarly] {
		if e.start >= pr.start && (e.status != 100 || m.Expect100) {
			pr.info = append(pr.info, e.status)
		}
	}
	c.nEarly = 0
	if len(c.orphans) > 0 {
		i := 0
		for i < len(c.orphans) && c.orphans[i].start < pr.start {
			i++ // answered requests we never saw
		}
		if i > 0 {
			pr.afterGap = false // the lost requests' answers are accounted for
		}
		c.flushOrphans(i)
		if len(c.orphans) > 0 {
			// The response came first only because this request's
			// bytes were held by the reassembler: pair them.
			o := c.orphans[0]
			c.orphans = append(c.orphans[:0], c.orphans[1:]...)
			f.st.orphansPaired.Add(1)
			var flags flow.Flags
			if pr.afterGap {
				flags = flow.FlagGap // it may answer a request lost before pr
			}
			f.emitRecord(c, pr, &o.half, flags, 0)
			f.putReq(o)
			f.putReq(pr)
			return
		}
	}
	pr.expect100 = m.Expect100
	pr.c = c
	c.pushBack(pr)
	c.live++
	f.tqPush(pr)
}

// maxOrphans bounds the responses held per connection while their
// requests may still complete.
const maxOrphans = 4

// flushOrphans emits the n oldest held responses as no_request.
func (c *conn) flushOrphans(n int) {
	for _, o := range c.orphans[:n] {
		c.f.st.noRequest.Add(1)
		c.f.emitRecord(c, nil, &o.half, flow.FlagNoRequest, 0)
		c.f.putReq(o)
	}
	k := copy(c.orphans, c.orphans[n:])
	clear(c.orphans[k:])
	c.orphans = c.orphans[:k]
}

// front returns the oldest pending request, or nil.
func (c *conn) front() *pendingReq {
	if c.n == 0 {
		return nil
	}
	return c.at(0)
}

func (c *conn) onResponse(m *http1.Message) {
	f := c.f
	if m.Status >= 100 && m.Status < 200 && m.Status != 101 {
		f.st.informational.Add(1)
		// A 100 Continue answers a request that asked for one; if the
		// oldest pending request did not, the 100 is for a request whose
		// body is still on its way (not yet a message).
		if pr := c.front(); pr != nil && (m.Status != 100 || pr.expect100) {
			if !pr.ghost && len(pr.info) < maxInfo {
				pr.info = append(pr.info, m.Status)
			}
		} else if c.nEarly < maxInfo {
			c.early[c.nEarly] = earlyInfo{m.Status, m.Start}
			c.nEarly++
		}
		return
	}
	f.st.responses.Add(1)
	c.checkResync()
	if c.respGap {
		c.realign(m)
	}
	var pr *pendingReq
	if c.n > 0 {
		// A response that started before the request cannot answer it
		// (e.g. the request's own response was lost and this one belongs
		// to nothing we saw).
		if pr = c.at(0); pr.start > m.Start {
			pr = nil
		} else {
			c.popFront()
		}
	}
	resp := &f.resp
	f.fillResponse(resp, m)
	if c.midstream && !c.firstDone[roleResp] {
		resp.flags |= flow.FlagMidstream
	}
	if c.respGapNext {
		resp.flags |= flow.FlagGap
		c.respGapNext = false
	}
	c.firstDone[roleResp] = true
	if pr != nil {
		// Held responses are older than this answer: their requests
		// would have completed before pr's. One that started before pr
		// answered the requests lost before it.
		if len(c.orphans) > 0 && c.orphans[0].start < pr.start {
			pr.afterGap = false
		}
		c.flushOrphans(len(c.orphans))
	}

	var flags flow.Flags
	upgrade := m.Status == 101
	if upgrade && pr != nil && !pr.ghost && h2cUpgrade(pr, m) {
		// HTTP/2 from the next byte on: pr's answer comes on stream 1.
		f.st.upgrades.Add(1)
		c.live--
		c.upgradeH2(pr, m.End)
		return
	}
	connect := pr != nil && m.Status/100 == 2 && equalFold(pr.get(pr.method), "connect")
	if upgrade {
		flags |= flow.FlagUpgrade
		f.st.upgrades.Add(1)
	}
	if connect {
		flags |= flow.FlagConnect
		f.st.connects.Add(1)
	}
	switch {
	case pr == nil && !upgrade:
		// Hold it: its request may still be completing (see orphans).
		if len(c.orphans) == maxOrphans {
			c.flushOrphans(1)
		}
		o := f.getReq()
		o.half.copyFrom(resp)
		c.orphans = append(c.orphans, o)
	case pr == nil:
		c.flushOrphans(len(c.orphans))
		f.st.noRequest.Add(1)
		f.emitRecord(c, nil, resp, flags|flow.FlagNoRequest, 0)
	case pr.ghost:
		// The late answer to a request already emitted as timed out.
		f.st.noRequest.Add(1)
		f.st.late.Add(1)
		f.emitRecord(c, nil, resp, flags|flow.FlagNoRequest, 0)
		f.putReq(pr)
	default:
		c.live--
		if pr.pipelined {
			flags |= flow.FlagPipelined
		}
		if pr.afterGap {
			// Request bytes were lost just before pr and no answer to
			// them was seen: this response may be theirs.
			flags |= flow.FlagGap
		}
		f.emitRecord(c, pr, resp, flags, 0)
		f.putReq(pr)
		// The next request counted as pipelined because this one was
		// pending when it arrived. If it started only after this
		// response started, the delay was ours (the response's bytes
		// were held by the reassembler for a hole), not the client's.
		if c.n > 0 {
			if nx := c.at(0); nx.pipelined && nx.start >= m.Start {
				nx.pipelined = false
			}
		}
	}
	if upgrade || connect {
		// The rest of the connection is another protocol (WebSocket,
		// h2c, a TLS tunnel): stop parsing both directions.
		c.opaque = true
		for _, p := range c.parsers {
			if p != nil {
				p.SetOpaque()
			}
		}
	}
}

// realign runs for responses parsed after the response parser lost sync
// (a gap outside a body of known length, broken framing, garbage). HTTP/1.x
// framing cannot tell whether whole responses were in the lost or skipped
// bytes; pairing on regardless would shift every later pair by
// one. Timing can tell, for clients that wait for a response before
// sending the next request (nearly all; pipelining is rare): then the
// response to a request ended before the next request started, so a
// response that started at or after the start of request k+1 cannot answer
// request k. Such requests are emitted as no_response with FlagGap (their
// response was lost) and the response pairs with the right one.
//
// A pipelining client breaks the assumption: after a response-side gap
// its requests may be given up on too early. Without the rule every later
// pair of the connection would be wrong, so the trade is worth it. The
// rule stays armed until a response without FlagGap (one entirely after
// the gap) has been paired.
func (c *conn) realign(m *http1.Message) {
	f := c.f
	for c.n > 0 {
		pr := c.at(0)
		// Equal times count as "before": when the client's bytes were
		// held for a hole, the hole is often declared by the ACK in
		// this very response's packet, which then stamps both.
		if c.nextStart(0) > m.Start {
			break
		}
		c.popFront()
		if !pr.ghost {
			c.live--
			f.st.lostResponses.Add(1)
			f.st.noResponse.Add(1)
			flags := flow.FlagNoResponse | flow.FlagGap
			if pr.pipelined {
				flags |= flow.FlagPipelined
			}
			f.emitRecord(c, pr, nil, flags, m.Start)
		}
		// Under the same assumption, the next request was sent after
		// pr's response ended: it was not pipelined.
		if c.n > 0 {
			c.at(0).pipelined = false
		}
		f.putReq(pr)
	}
	if m.Flags&flow.FlagGap == 0 {
		c.respGap = false
	}
}

// nextStart is the start of the request after pending request i: the
// next pending one, else the one the request parser is still reading (a
// request whose end was lost completes only when the hole is declared,
// possibly after its response was parsed), else "never" (MaxInt64).
func (c *conn) nextStart(i int) int64 {
	if i+1 < c.n {
		return c.at(i + 1).start
	}
	if p := c.parsers[roleReq]; p != nil {
		if start, ok := p.Partial(); ok && start >= c.at(i).start {
			return start
		}
	}
	return math.MaxInt64
}

// giveUp emits a request as no_response (timeout, memory budget) and
// leaves it in the FIFO as a ghost holding only its method: the response,
// if it still comes, is the next one on the connection.
func (c *conn) giveUp(pr *pendingReq, now int64) {
	if pr.h2id != 0 {
		c.giveUpH2(pr, now)
		return
	}
	c.f.tqRemove(pr)
	pr.ghost = true
	c.live--
	c.f.emitNoResponse(c, pr, now)
	var m [16]byte
	method := append(m[:0], pr.get(pr.method)...)
	pr.half.reset()
	pr.method = pr.add(method)
}

func (c *conn) at(i int) *pendingReq { return c.fifo[(c.head+i)%len(c.fifo)] }

func (c *conn) pushBack(pr *pendingReq) {
	if c.n == len(c.fifo) {
		// Grow (rarely: the ring is kept with the pooled conn).
		nf := make([]*pendingReq, min(max(4, 2*len(c.fifo)), max(c.f.cfg.MaxPending, c.n+1)))
		for i := 0; i < c.n; i++ {
			nf[i] = c.at(i)
		}
		c.fifo, c.head = nf, 0
	}
	c.fifo[(c.head+c.n)%len(c.fifo)] = pr
	c.n++
}

func (c *conn) popFront() *pendingReq {
	pr := c.fifo[c.head]
	c.fifo[c.head] = nil
	c.head = (c.head + 1) % len(c.fifo)
	c.n--
	return pr
}

// emitNoResponse emits a request that got no response; end is when it was
// given up on.
func (f *Factory) emitNoResponse(c *conn, pr *pendingReq, end int64) {
	f.st.noResponse.Add(1)
	flags := flow.FlagNoResponse
	// In a one-sided capture every request would look pipelined; only say
	// so when responses were seen at all.
	if pr.pipelined && c.sawResp {
		flags |= flow.FlagPipelined
	}
	f.emitRecord(c, pr, nil, flags, end)
}
