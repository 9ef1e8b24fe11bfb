package exchange

import (
	"net/netip"
	"sync/atomic"
	"unsafe"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/freelist"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/http1"
	"github.com/apitap/apitap/sensor/tcp"
)

// Stats counts what a Factory did. Every record not emitted, every byte not
// parsed and every cap hit is counted here: absence of records is only
// meaningful next to these numbers.
type Stats struct {
	Connections        uint64 // streams handed out by New
	HTTPConnections    uint64 // connections recognised as HTTP
	NonHTTPConnections uint64 // connections where neither direction was HTTP (or never recognised)
	NonHTTPBytes       uint64 // bytes of non-HTTP connections, ignored
	DirectionSwaps     uint64 // connections whose client/server guess was reversed by content

	Requests      uint64 // request messages parsed
	Responses     uint64 // final response messages parsed
	Informational uint64 // 1xx responses (other than 101)

	Exchanges             uint64 // records emitted, of every kind
	NoResponse            uint64 // records with FlagNoResponse (sum of the four below)
	ResponseTimeouts      uint64 // ... given up after ResponseTimeout
	EndedPending          uint64 // ... still pending when the connection ended
	PendingDrops          uint64 // ... evicted by MaxPending or MaxPendingBytes
	LostResponses         uint64 // ... whose response was lost in a gap (see conn.realign)
	NoRequest             uint64 // records with FlagNoRequest
	LateResponses         uint64 // ... of which answer a request already emitted as timed out
	OrphansPaired         uint64 // responses parsed before their request completed, paired afterwards
	Upgrades              uint64 // 101 Switching Protocols
	HTTP2Connections      uint64 // connections followed as HTTP/2 with prior knowledge (also in HTTPConnections)
	HTTP2Lost             uint64 // HTTP/2 directions given up on (each direction of a connection once): bytes lost outside a DATA payload, a malformed frame or an HPACK error
	HTTP2LostBytes        uint64 // bytes of those directions after they were given up: seen, not parsed (also in OpaqueBytes)
	HTTP2Midstream        uint64 // connections recognised as HTTP/2 joined midstream (h2.Sync): unreadable without their start
	HTTP2MidstreamBytes   uint64 // every byte of those connections, from the first seen (not in NonHTTPBytes)
	HTTP2MidstreamStreams uint64 // requests (streams opened) on those connections after the sensor joined: seen, not read
	Connects              uint64 // CONNECT tunnels established

	GapBytes     uint64 // bytes the TCP layer reported missing
	SkippedBytes uint64 // bytes skipped while looking for HTTP (resync, garbage)
	OpaqueBytes  uint64 // bytes after an upgrade or CONNECT, not parsed

	DecodeErrors       uint64 // bodies whose content coding failed to decode
	DecompressionBombs uint64 // bodies cut at MaxDecodedBytes
	Redacted           uint64 // credentials replaced by fingerprints
	CredentialsDropped uint64 // redacted credentials not listed (per-message cap)

	MaskedValues  uint64 // values masked in bodies and queries (Config.Mask)
	MaskFallbacks uint64 // JSON values that did not parse, masked by a text scan instead
}

type counters struct {
	connections, httpConns, nonHTTPConns, nonHTTPBytes, swaps atomic.Uint64
	requests, responses, informational                        atomic.Uint64
	exchanges, noResponse, timeouts, endedPending, drops      atomic.Uint64
	lostResponses                                             atomic.Uint64
	noRequest, late, upgrades, connects, orphansPaired        atomic.Uint64
	h2Conns, h2Lost, h2LostBytes                              atomic.Uint64
	h2Midstream, h2MidstreamBytes, h2MidstreamStreams         atomic.Uint64
	gapBytes, skippedBytes, opaqueBytes                       atomic.Uint64
	decodeErrors, bombs, redacted, credsDropped               atomic.Uint64
	masked, maskFallbacks                                     atomic.Uint64
}

// Factory makes the per-connection Streams and owns everything they share:
// the pools, the response-timeout queue, the redactor and the decoders.
// See the package comment for its threading rules.
type Factory struct {
	cfg     Config
	emit    func(*flow.Exchange)
	timeout int64 // ResponseTimeout in ns
	maxBody int

	red  redactor
	mask *masker // nil when masking is off
	dec  decoder
	resp half // scratch: the response being turned into a record

	freeConns []*conn
	freeReqs  freelist.List[pendingReq]

	// tq lists every live pending request of every connection in arrival
	// order (intrusive, doubly linked), so Advance only looks at the head.
	tqHead, tqTail *pendingReq
	// pendingBytes is the memory held by the copies of live pending
	// requests (bounded by MaxPendingBytes).
	pendingBytes int64
	// h2Bytes is the memory held by HTTP/2 messages still arriving (their
	// header fields and body prefixes), bounded by MaxPendingBytes too.
	h2Bytes int64

	st counters
}

const (
	maxFreeConns = 256
	maxFreeReqs  = 256
)

// NewFactory returns a Factory that calls emit for every finished record;
// emit takes ownership of the record. cfg should come from DefaultConfig
// (and pass Validate): zero or out-of-range numbers are replaced by their
// defaults.
func NewFactory(cfg Config, emit func(*flow.Exchange)) *Factory {
	cfg = cfg.normalized()
	if emit == nil {
		emit = func(*flow.Exchange) {}
	}
	f := &Factory{
		cfg:      cfg,
		emit:     emit,
		timeout:  int64(cfg.ResponseTimeout),
		maxBody:  cfg.Limits.MaxBodyBytes,
		freeReqs: freelist.New[pendingReq](maxFreeReqs),
	}
	f.red = newRedactor(&f.cfg, &f.st)
	f.mask = newMasker(&f.cfg, &f.red, &f.st)
	return f
}

// Stats returns a snapshot of the counters. Safe from any goroutine.
func (f *Factory) Stats() Stats {
	s := &f.st
	return Stats{
		Connections:           s.connections.Load(),
		HTTPConnections:       s.httpConns.Load(),
		NonHTTPConnections:    s.nonHTTPConns.Load(),
		NonHTTPBytes:          s.nonHTTPBytes.Load(),
		DirectionSwaps:        s.swaps.Load(),
		Requests:              s.requests.Load(),
		Responses:             s.responses.Load(),
		Informational:         s.informational.Load(),
		Exchanges:             s.exchanges.Load(),
		NoResponse:            s.noResponse.Load(),
		ResponseTimeouts:      s.timeouts.Load(),
		EndedPending:          s.endedPending.Load(),
		PendingDrops:          s.drops.Load(),
		LostResponses:         s.lostResponses.Load(),
		NoRequest:             s.noRequest.Load(),
		LateResponses:         s.late.Load(),
		OrphansPaired:         s.orphansPaired.Load(),
		Upgrades:              s.upgrades.Load(),
		HTTP2Connections:      s.h2Conns.Load(),
		HTTP2Lost:             s.h2Lost.Load(),
		HTTP2LostBytes:        s.h2LostBytes.Load(),
		HTTP2Midstream:        s.h2Midstream.Load(),
		HTTP2MidstreamBytes:   s.h2MidstreamBytes.Load(),
		HTTP2MidstreamStreams: s.h2MidstreamStreams.Load(),
		Connects:              s.connects.Load(),
		GapBytes:              s.gapBytes.Load(),
		SkippedBytes:          s.skippedBytes.Load(),
		OpaqueBytes:           s.opaqueBytes.Load(),
		DecodeErrors:          s.decodeErrors.Load(),
		DecompressionBombs:    s.bombs.Load(),
		Redacted:              s.redacted.Load(),
		CredentialsDropped:    s.credsDropped.Load(),
		MaskedValues:          s.masked.Load(),
		MaskFallbacks:         s.maskFallbacks.Load(),
	}
}

// New implements tcp.Factory. The returned Stream is pooled: it goes back
// to the pool in End and must not be used afterwards.
func (f *Factory) New(info *tcp.ConnInfo) tcp.Stream {
	var c *conn
	if n := len(f.freeConns); n > 0 {
		c = f.freeConns[n-1]
		f.freeConns[n-1] = nil
		f.freeConns = f.freeConns[:n-1]
	} else {
		c = &conn{f: f}
		c.hs[roleReq] = handler{c: c, role: roleReq}
		c.hs[roleResp] = handler{c: c, role: roleResp}
	}
	c.init(info)
	f.st.connections.Add(1)
	return c
}

// Advance runs the response timeout on the capture clock: every request
// pending for ResponseTimeout or longer at now (Unix ns) is emitted with
// FlagNoResponse. Call it regularly (the sensor calls it with the
// Assembler's clock); Data and Gap also run it when the oldest pending
// request is due, so it costs one comparison when nothing is due.
func (f *Factory) Advance(now int64) {
	for f.tqHead != nil && f.tqHead.end+f.timeout <= now {
		f.expire(f.tqHead, now)
	}
}

// expire gives up on pr and on every older live request of its connection
// (their responses cannot come before pr's in HTTP/1.x).
func (f *Factory) expire(pr *pendingReq, now int64) {
	c := pr.c
	if pr.h2id != 0 {
		// HTTP/2 streams are answered in any order: only pr is due.
		f.st.timeouts.Add(1)
		c.giveUpH2(pr, now)
		return
	}
	for i := 0; i < c.n; i++ {
		x := c.at(i)
		if x.ghost {
			continue
		}
		f.st.timeouts.Add(1)
		c.giveUp(x, now)
		if x == pr {
			return
		}
	}
	// Not found in its connection: cannot happen, but never loop on it.
	f.tqRemove(pr)
}

func (f *Factory) tqPush(pr *pendingReq) {
	pr.prev, pr.next = f.tqTail, nil
	if f.tqTail != nil {
		f.tqTail.next = pr
	} else {
		f.tqHead = pr
	}
	f.tqTail = pr
	pr.queued = true
	pr.size = int64(cap(pr.buf)) + int64(cap(pr.hdrs))*int64(unsafe.Sizeof(hdrSpan{})) + 256
	f.pendingBytes += pr.size
	// Over the memory budget: give up on the oldest pending requests of
	// any connection (never the one just added).
	for f.pendingBytes > f.cfg.MaxPendingBytes && f.tqHead != nil && f.tqHead != pr {
		old := f.tqHead
		f.st.drops.Add(1)
		old.c.giveUp(old, pr.end)
	}
}

func (f *Factory) tqRemove(pr *pendingReq) {
	if !pr.queued {
		return
	}
	if pr.prev != nil {
		pr.prev.next = pr.next
	} else {
		f.tqHead = pr.next
	}
	if pr.next != nil {
		pr.next.prev = pr.prev
	} else {
		f.tqTail = pr.prev
	}
	pr.prev, pr.next, pr.queued = nil, nil, false
	f.pendingBytes -= pr.size
	pr.size = 0
}

func (f *Factory) getReq() *pendingReq { return f.freeReqs.Get() }

func (f *Factory) putReq(pr *pendingReq) {
	f.tqRemove(pr)
	pr.half.reset()
	pr.c, pr.ghost, pr.pipelined, pr.expect100, pr.afterGap, pr.h2id = nil, false, false, false, false, 0
	pr.info = pr.info[:0]
	f.freeReqs.Put(pr)
}

func (f *Factory) putConn(c *conn) {
	if len(f.freeConns) < maxFreeConns {
		f.freeConns = append(f.freeConns, c)
	}
}

// addr converts a decode.Addr: IPv4 connections carry ::ffff:a.b.c.d.
func addr(a decode.Addr, v6 bool) netip.Addr {
	ip := netip.AddrFrom16(a)
	if !v6 {
		ip = ip.Unmap()
	}
	return ip
}

// fillRequest copies what the record needs from a request message into h.
func (f *Factory) fillRequest(h *half, m *http1.Message) { f.fillRequestHost(h, m, nil) }

// fillRequestHost is fillRequest with the host to use when the message
// has no Host header (HTTP/2's :authority).
func (f *Factory) fillRequestHost(h *half, m *http1.Message, authority []byte) {
	h.reset()
	h.start, h.end, h.flags = m.Start, m.End, m.Flags
	h.method = h.add(m.Method)
	h.proto = h.add(m.Proto)
	var mi msgInfo
	f.copyHeaders(h, m.Headers, &mi)
	if mi.host == nil {
		mi.host = authority
	}
	f.setTarget(h, m.Method, m.Target, mi.host)
	f.fillBody(h, m, &mi)
}

// fillResponse copies what the record needs from a response message into h.
func (f *Factory) fillResponse(h *half, m *http1.Message) {
	h.reset()
	h.start, h.end, h.flags = m.Start, m.End, m.Flags
	h.proto = h.add(m.Proto)
	h.status = m.Status
	h.reason = h.add(m.Reason)
	var mi msgInfo
	f.copyHeaders(h, m.Headers, &mi)
	f.fillBody(h, m, &mi)
}

// msgInfo is what copyHeaders notices on the way.
type msgInfo struct {
	host     []byte // first Host value (aliases the message)
	ctype    []byte // first Content-Type value
	codings  codingList
	nEncHdrs int
}

// copyHeaders copies the header fields in wire order, redacting credential
// headers, and notes Host, Content-Type and Content-Encoding.
func (f *Factory) copyHeaders(h *half, fields []http1.Field, mi *msgInfo) {
	redact := f.cfg.Redact
	for i := range fields {
		fd := &fields[i]
		hs := hdrSpan{name: h.add(fd.Name)}
		if redact {
			if k := f.red.kindOf(fd.Name); k != credNone {
				hs.value = f.red.header(h, k, hs.name, fd.Value)
				h.hdrs = append(h.hdrs, hs)
				continue
			}
		}
		hs.value = h.add(fd.Value)
		h.hdrs = append(h.hdrs, hs)
		switch len(fd.Name) {
		case 4:
			if mi.host == nil && equalFold(fd.Name, "host") {
				mi.host = fd.Value
			}
		case 12:
			if mi.ctype == nil && equalFold(fd.Name, "content-type") {
				mi.ctype = fd.Value
			}
		case 16:
			if equalFold(fd.Name, "content-encoding") {
				mi.codings.add(fd.Value)
				mi.nEncHdrs++
			}
		}
	}
	if mi.nEncHdrs > 0 {
		// ContentEncoding: the field values as sent, joined with ", " when
		// the header is repeated (RFC 9110 §5.3).
		off := h.mark()
		n := 0
		for i := range fields {
			fd := &fields[i]
			if len(fd.Name) == 16 && equalFold(fd.Name, "content-encoding") {
				if v := trimOWS(fd.Value); len(v) > 0 {
					if n > 0 {
						h.buf = append(h.buf, ", "...)
					}
					h.buf = append(h.buf, v...)
					n++
				}
			}
		}
		h.body.cenc = h.since(off)
	}
	if mi.ctype != nil {
		// Media type only: lower-cased, parameters dropped.
		t := mi.ctype
		for i, c := range t {
			if c == ';' {
				t = t[:i]
				break
			}
		}
		h.body.ctype = h.addLower(trimOWS(t))
	}
}

// fillBody sets the body fields: wire size, content coding, and Data (the
// decoded body when decoding is on and succeeds, the raw body otherwise).
func (f *Factory) fillBody(h *half, m *http1.Message, mi *msgInfo) {
	b := &h.body
	b.wire = m.BodyWireBytes
	cl := &mi.codings
	switch {
	case !cl.present:
		b.data = h.add(m.Body)
		b.decoded = b.wire
		return
	case len(m.Body) == 0:
		return // HEAD, 204, 304, or a body lost entirely
	case !f.cfg.DecodeBodies:
		b.data = h.add(m.Body) // still encoded; DecodedBytes stays 0
		return
	case cl.unknown:
		b.data = h.add(m.Body)
		h.flags |= flow.FlagDecodeError
		f.st.decodeErrors.Add(1)
		return
	}
	off := h.mark()
	truncated := m.Flags&(flow.FlagTruncated|flow.FlagIncomplete) != 0
	var res decodeResult
	h.buf, res = f.dec.decode(h.buf, m.Body, cl.c[:cl.n], f.maxBody, f.cfg.MaxDecodedBytes, truncated)
	if res.err {
		// Keep the raw body rather than a partial decode the consumer
		// could not tell from a complete one.
		h.buf = h.buf[:off]
		b.data = h.add(m.Body)
		h.flags |= flow.FlagDecodeError
		f.st.decodeErrors.Add(1)
		return
	}
	b.data = h.since(off)
	b.decoded = res.decoded
	h.flags |= res.flags
	if res.flags&flow.FlagDecompressionBomb != 0 {
		f.st.bombs.Add(1)
	}
}
