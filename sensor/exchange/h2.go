package exchange

import (
	"bytes"
	"strconv"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/h2"
	"github.com/apitap/apitap/sensor/http1"
	"github.com/apitap/apitap/sensor/tcp"
)

// HTTP/2 with prior knowledge (h2c): a connection whose client direction
// starts with the connection preface is followed by two h2.Parsers, and
// each stream becomes one exchange. The messages of a stream are
// assembled here (head and a capped body prefix) and, once complete, go
// through the same fillRequest/fillResponse as HTTP/1.x messages, so
// redaction, body decoding, masking and the record are the same.

// maxH2Streams bounds the streams followed at once per connection (a
// server's SETTINGS_MAX_CONCURRENT_STREAMS is commonly 100–250); the
// events of further streams are dropped and counted as PendingDrops.
const maxH2Streams = 256

var proto2 = []byte("HTTP/2.0")

// h2state is a conn's HTTP/2 side, kept with the pooled conn.
type h2state struct {
	p     [2]*h2.Parser // by role
	lost  [2]bool       // by role: the direction can no longer be read
	maxID [2]uint32     // the highest stream id opened, by parity
	// expired are the last streams given up on (response timeout, memory
	// budget), so that their late answers are still reported.
	expired  [maxExpired]uint32
	nExpired int
	hs       [2]h2handler
	pass     [2]func([]byte, int64) // by role: the HTTP/1 parsers' passthrough after an h2c upgrade
	streams  map[uint32]*h2stream
	free     []*h2stream
	// scratch for the http1.Message handed to fillRequest/fillResponse
	fbuf   []byte
	fields []http1.Field
	msg    http1.Message
}

// h2stream is one stream: its two messages while they arrive, and the
// request's pendingReq once the request is complete.
type h2stream struct {
	id        uint32
	late      bool // opened by the answer to a request already given up on
	req, resp h2msg
	pr        *pendingReq
	info      []int
}

// h2msg is one message of a stream while it arrives.
type h2msg struct {
	fields     []h2.Field // the head, pseudo-header fields included
	body       []byte     // at most the body limit
	wire       int64
	flags      flow.Flags
	start, end int64
	head, done bool
	held       int64 // bytes counted in Factory.h2Bytes
}

// hold counts n more bytes of m against the budget.
func (c *conn) hold(m *h2msg, n int) {
	m.held += int64(n)
	c.f.h2Bytes += int64(n)
}

// release returns m's bytes to the budget and empties it.
func (c *conn) release(m *h2msg) {
	c.f.h2Bytes -= m.held
	m.reset()
}

func (m *h2msg) reset() {
	clear(m.fields)
	fields, body := m.fields[:0], m.body[:0]
	if cap(body) > maxRetainedBuf {
		body = nil
	}
	*m = h2msg{fields: fields, body: body}
}

// h2handler adapts a conn to h2.Handler for one role.
type h2handler struct {
	c    *conn
	role uint8
}

// startH2 fixes the roles once direction clientDir sent the preface and
// starts both parsers; held are bytes the other direction sent first (the
// server's SETTINGS), fed before anything else.
func (c *conn) startH2(clientDir tcp.Dir) {
	f := c.f
	if clientDir != tcp.ClientToServer {
		c.client, c.server = c.server, c.client
		f.st.swaps.Add(1)
	}
	c.roleOf[clientDir], c.roleOf[1-clientDir] = roleReq, roleResp
	c.mode = modeH2
	c.initH2()
	f.st.httpConns.Add(1)
	f.st.h2Conns.Add(1)
	other := &c.det[1-clientDir]
	held := other.h2held
	c.undetected -= min(c.undetected, uint64(len(held)))
	f.st.skippedBytes.Add(c.undetected)
	c.undetected = 0
	if len(held) > 0 {
		c.h2.p[roleResp].Feed(held, other.ts)
	}
	other.h2held = other.h2held[:0]
	if len(other.buf) > 0 {
		c.h2.p[c.roleOf[1-clientDir]].Feed(other.buf, other.ts)
		other.buf = other.buf[:0]
	}
}

// initH2 makes the conn's HTTP/2 state ready for a new connection.
func (c *conn) initH2() {
	if c.h2 == nil {
		st := &h2state{streams: map[uint32]*h2stream{}}
		for r := range st.hs {
			st.hs[r] = h2handler{c: c, role: uint8(r)}
			role := uint8(r)
			st.pass[r] = func(data []byte, ts int64) {
				if !c.opaque {
					c.h2.p[role].Feed(data, ts)
				}
			}
		}
		c.h2 = st
	}
	c.h2.lost, c.h2.maxID, c.h2.nExpired = [2]bool{}, [2]uint32{}, 0
	f := c.f
	lim := h2.Limits{MaxHeaders: f.cfg.Limits.MaxHeaders, MaxHeaderBytes: f.cfg.Limits.MaxHeaderBytes}
	for r := range c.h2.p {
		if c.h2.p[r] == nil {
			c.h2.p[r] = h2.NewParser(r == roleReq, lim, &c.h2.hs[r])
		} else {
			c.h2.p[r].Reset(r == roleReq, lim, &c.h2.hs[r])
		}
	}
}

// feedH2 and gapH2 are Data and Gap in modeH2.
func (c *conn) feedH2(dir tcp.Dir, data []byte, ts int64) {
	role := c.roleOf[dir]
	if role == roleResp {
		c.sawResp = true
	}
	if c.h2.lost[role] {
		c.f.st.opaqueBytes.Add(uint64(len(data)))
		c.f.st.h2LostBytes.Add(uint64(len(data)))
		return
	}
	p := c.h2.p[role]
	before := p.Stats().LostBytes
	p.Feed(data, ts)
	if d := p.Stats().LostBytes - before; d > 0 {
		// The rest of the segment in which the direction was lost.
		c.f.st.opaqueBytes.Add(d)
		c.f.st.h2LostBytes.Add(d)
	}
}

func (c *conn) gapH2(dir tcp.Dir, n int, ts int64) {
	if role := c.roleOf[dir]; !c.h2.lost[role] {
		c.h2.p[role].Gap(n, ts)
	}
}

// endH2 finishes every stream still open when the connection ends.
func (c *conn) endH2(ts int64) {
	for _, s := range c.h2.streams {
		c.finishH2(s, flow.FlagIncomplete, ts, true)
	}
}

// releaseH2 drops what a pooled conn must not keep.
func (c *conn) releaseH2() {
	if c.h2 == nil {
		return
	}
	for _, s := range c.h2.streams {
		c.dropStream(s) // returns its bytes to the budget
	}
	clear(c.h2.fields)
	c.h2.msg = http1.Message{}
}

// stream returns stream id, opening it when open is set (a header block)
// and the id was never used. Stream ids only grow (RFC 9113 §5.1.1): an id
// at or below the highest one seen of its kind (client-initiated odd,
// pushed even) belongs to a stream that ended, and frames that still come
// for it (DATA after END_STREAM was seen, late trailers) are ignored
// rather than opening a stream that would never end.
func (c *conn) stream(id uint32, open bool) *h2stream {
	st := c.h2
	if s := st.streams[id]; s != nil {
		return s
	}
	late := false
	if !open {
		return nil
	}
	if id <= st.maxID[id&1] {
		// Closed, unless its request was given up on: then the answer
		// that still comes is a (late) no_request record, as in HTTP/1.x.
		if late = st.takeExpired(id); !late {
			return nil
		}
	}
	st.maxID[id&1] = max(st.maxID[id&1], id)
	if len(st.streams) >= min(maxH2Streams, c.f.cfg.MaxPending*4) {
		c.f.st.drops.Add(1)
		return nil
	}
	var s *h2stream
	if n := len(st.free); n > 0 {
		s, st.free = st.free[n-1], st.free[:n-1]
	} else {
		s = &h2stream{}
	}
	s.id, s.late = id, late
	st.streams[id] = s
	return s
}

// maxExpired bounds the streams per connection whose late answer is still
// recognised after their request was given up on.
const maxExpired = 32

// expire remembers that stream id's request was given up on.
func (st *h2state) expire(id uint32) {
	st.expired[st.nExpired%maxExpired] = id
	st.nExpired++
}

// takeExpired reports whether id was given up on, forgetting it.
func (st *h2state) takeExpired(id uint32) bool {
	for i := range min(st.nExpired, maxExpired) {
		if st.expired[i] == id {
			st.expired[i] = 0
			return true
		}
	}
	return false
}

func (c *conn) dropStream(s *h2stream) {
	delete(c.h2.streams, s.id)
	c.release(&s.req)
	c.release(&s.resp)
	s.pr, s.info, s.late = nil, s.info[:0], false
	if len(c.h2.free) < 16 {
		c.h2.free = append(c.h2.free, s)
	}
}

// msg returns stream id (opened if open) and this role's message of it;
// nil when the connection is opaque or the stream is not followed.
func (h *h2handler) msg(id uint32, open bool) (*h2stream, *h2msg) {
	if h.c.opaque {
		return nil, nil
	}
	s := h.c.stream(id, open)
	if s == nil {
		return nil, nil
	}
	if h.role == roleResp {
		return s, &s.resp
	}
	return s, &s.req
}

// Headers implements h2.Handler.
func (h *h2handler) Headers(id uint32, fields []h2.Field, end, truncated bool, start, ts int64) {
	c := h.c
	s, m := h.msg(id, true)
	if s == nil {
		return
	}
	if h.role == roleResp {
		if !m.head {
			if st := statusOf(fields); st >= 100 && st < 200 {
				c.f.st.informational.Add(1)
				if len(s.info) < maxInfo {
					s.info = append(s.info, st)
				}
				return
			}
		}
	}
	if !m.head {
		if c.f.h2Bytes > c.f.cfg.MaxPendingBytes {
			// Over the memory budget: this stream is not followed.
			c.f.st.drops.Add(1)
			c.releaseStream(s)
			return
		}
		m.head, m.start = true, start
		m.fields = append(m.fields[:0], fields...)
		c.hold(m, fieldBytes(fields))
		if truncated {
			m.flags |= flow.FlagHeadersTruncated
		}
	} else if len(m.fields) < c.f.cfg.Limits.MaxHeaders {
		// A second block is the trailers: recorded after the headers
		// (gRPC's grpc-status and grpc-message travel there), within the
		// header limit; pseudo-header fields are not allowed in them.
		for _, fd := range fields {
			if len(m.fields) == c.f.cfg.Limits.MaxHeaders {
				m.flags |= flow.FlagHeadersTruncated
				break
			}
			if !fd.IsPseudo() {
				m.fields = append(m.fields, fd)
				c.hold(m, len(fd.Name)+len(fd.Value))
			}
		}
	} else if len(fields) > 0 {
		m.flags |= flow.FlagHeadersTruncated
	}
	if end {
		c.endMsg(s, h.role, ts)
	}
}

// Data implements h2.Handler.
func (h *h2handler) Data(id uint32, data []byte, end bool, ts int64) {
	c := h.c
	s, m := h.msg(id, false)
	if s == nil {
		return
	}
	m.wire += int64(len(data))
	if room := c.f.maxBody - len(m.body); room > 0 && c.f.h2Bytes <= c.f.cfg.MaxPendingBytes {
		if len(data) > room {
			data = data[:room]
			m.flags |= flow.FlagTruncated
		}
		m.body = append(m.body, data...)
		c.hold(m, len(data))
	} else if len(data) > 0 {
		m.flags |= flow.FlagTruncated
	}
	if end {
		c.endMsg(s, h.role, ts)
	}
}

// DataGap implements h2.Handler.
func (h *h2handler) DataGap(id uint32, n int, ts int64) {
	if _, m := h.msg(id, false); m != nil {
		m.wire += int64(n)
		m.flags |= flow.FlagGap
	}
}

// Reset implements h2.Handler: the stream ends where it is.
func (h *h2handler) Reset(id uint32, ts int64) {
	if s := h.c.h2.streams[id]; s != nil && !h.c.opaque {
		h.c.finishH2(s, flow.FlagIncomplete, ts, false)
	}
}

// TableSize implements h2.Handler: one side's SETTINGS bound the other
// side's HPACK encoder.
func (h *h2handler) TableSize(v uint32) { h.c.h2.p[1-h.role].SetTableSize(v) }

// Lost implements h2.Handler: without frame boundaries or the HPACK table
// nothing later in this direction can be read. The other direction has
// its own frames and its own HPACK table, so it is still followed:
// requests keep giving records (no_response, flagged gap) when the
// responses are lost, responses (no_request) when the requests are. What
// waited for the lost direction is emitted now, flagged gap. Both lost:
// the rest of the connection is counted as opaque.
func (h *h2handler) Lost(ts int64) {
	c := h.c
	st := c.h2
	if c.opaque || st.lost[h.role] {
		return
	}
	c.f.st.h2Lost.Add(1)
	st.lost[h.role] = true
	if st.lost[1-h.role] {
		for _, s := range st.streams {
			c.finishH2(s, flow.FlagGap|flow.FlagIncomplete, ts, false)
		}
		c.opaque = true
		return
	}
	for _, s := range st.streams {
		switch {
		case h.role == roleResp && (s.pr != nil || s.resp.head):
			// A complete request whose answer cannot be read, or an
			// answer cut short.
			c.finishH2(s, flow.FlagGap|flow.FlagIncomplete, ts, false)
		case h.role == roleReq && s.req.head && !s.req.done:
			// A request cut short: its answer may still come.
			s.req.flags |= flow.FlagGap | flow.FlagIncomplete
		}
	}
}

// endMsg runs when one message of s ended (END_STREAM).
func (c *conn) endMsg(s *h2stream, role uint8, ts int64) {
	f := c.f
	if role == roleReq {
		if s.req.done {
			return
		}
		s.req.done, s.req.end = true, ts
		f.st.requests.Add(1)
		if s.resp.done {
			c.pairH2(s, 0)
			return
		}
		if c.h2.lost[roleResp] {
			c.pairH2(s, flow.FlagGap) // its answer cannot be read
			return
		}
		pr := c.requestH2(s, 0)
		if pr == nil {
			return
		}
		s.pr = pr
		pr.h2id = s.id
		f.tqPush(pr) // the response timeout and the memory budget
		return
	}
	if s.resp.done {
		return
	}
	s.resp.done, s.resp.end = true, ts
	f.st.responses.Add(1)
	c.pairH2(s, 0)
}

// requestH2 makes the pendingReq of s's request (extra flags added), or
// nil when no request head was seen.
func (c *conn) requestH2(s *h2stream, extra flow.Flags) *pendingReq {
	if !s.req.head {
		return nil
	}
	f := c.f
	pr := f.getReq()
	pr.c = c
	m := &s.req
	var authority []byte
	msg := c.messageH2(m, true, &authority)
	msg.Flags |= extra
	f.fillRequestHost(&pr.half, msg, authority)
	if len(s.info) > 0 {
		pr.info = append(pr.info[:0], s.info...)
	}
	c.release(m) // the copy is in pr
	m.done, m.head = true, true
	return pr
}

// pairH2 emits s once its response is complete (or given up on with
// extra flags): with its request, or as no_request.
func (c *conn) pairH2(s *h2stream, extra flow.Flags) {
	f := c.f
	pr := s.pr
	s.pr = nil
	if pr == nil {
		pr = c.requestH2(s, extra|flagIf(!s.req.done, flow.FlagIncomplete))
	} else {
		f.tqRemove(pr)
	}
	if s.resp.head {
		msg := c.messageH2(&s.resp, false, nil)
		msg.Flags |= extra
		f.fillResponse(&f.resp, msg)
		flags := extra
		if pr == nil {
			f.st.noRequest.Add(1)
			flags |= flow.FlagNoRequest
			if s.late {
				f.st.late.Add(1)
			}
		}
		f.emitRecord(c, pr, &f.resp, flags, 0)
	} else if pr != nil {
		f.st.noResponse.Add(1)
		f.emitRecord(c, pr, nil, flow.FlagNoResponse|extra, max(s.resp.end, s.req.end, pr.end))
	}
	if pr != nil {
		f.putReq(pr)
	}
	c.dropStream(s)
}

func flagIf(b bool, f flow.Flags) flow.Flags {
	if b {
		return f
	}
	return 0
}

// finishH2 emits s as it stands (reset, loss, connection end): what did not
// complete is flagged extra. ended: the connection ended (counted as
// EndedPending when the response never came).
func (c *conn) finishH2(s *h2stream, extra flow.Flags, ts int64, ended bool) {
	if !s.resp.head && !s.req.head && s.pr == nil {
		c.dropStream(s)
		return
	}
	if !s.resp.head && ended {
		c.f.st.endedPending.Add(1)
	}
	if s.resp.head && !s.resp.done {
		s.resp.end = ts
	}
	if s.req.head && !s.req.done {
		s.req.end = ts
	}
	if s.resp.end == 0 {
		s.resp.end = ts
	}
	c.pairH2(s, extra)
}

// giveUpH2 is giveUp for a stream's request (response timeout, memory
// budget): it is emitted as no_response and the stream is forgotten; a
// response that still comes is a no_request record.
func (c *conn) giveUpH2(pr *pendingReq, now int64) {
	f := c.f
	f.tqRemove(pr)
	f.emitNoResponse(c, pr, now)
	if s := c.h2.streams[pr.h2id]; s != nil && s.pr == pr {
		s.pr = nil
		c.dropStream(s)
		c.h2.expire(pr.h2id)
	}
	f.putReq(pr)
}

// messageH2 builds the http1.Message of m for fillRequest/fillResponse:
// the pseudo-header fields become the request line or the status, the
// others are the headers. The bytes are copied into the conn's scratch
// (the fill functions only read them, but must never see a Go string's
// memory as a writable slice). authority receives :authority.
func (c *conn) messageH2(m *h2msg, req bool, authority *[]byte) *http1.Message {
	st := c.h2
	n := 0
	for i := range m.fields {
		n += len(m.fields[i].Name) + len(m.fields[i].Value)
	}
	buf := st.fbuf[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	fields := st.fields[:0]
	msg := &st.msg // reused: the fill functions copy what they keep
	*msg = http1.Message{Request: req, Proto: proto2, ContentLength: -1, Body: m.body,
		BodyWireBytes: m.wire, Start: m.start, End: m.end, Flags: m.flags}
	for i := range m.fields {
		fd := &m.fields[i]
		o := len(buf)
		buf = append(buf, fd.Name...)
		buf = append(buf, fd.Value...)
		name, value := buf[o:o+len(fd.Name):o+len(fd.Name)], buf[o+len(fd.Name):len(buf):len(buf)]
		if len(name) == 0 || name[0] != ':' {
			fields = append(fields, http1.Field{Name: name, Value: value})
			continue
		}
		switch fd.Name {
		case ":method":
			msg.Method = value
		case ":path":
			msg.Target = value
		case ":authority":
			if authority != nil {
				*authority = value
			}
		case ":status":
			msg.Status, _ = strconv.Atoi(fd.Value)
		}
	}
	if req && len(msg.Target) == 0 && authority != nil {
		msg.Target = *authority // CONNECT: the authority is the target
	}
	msg.Headers = fields
	st.fbuf, st.fields = buf, fields
	return msg
}

func statusOf(fields []h2.Field) int {
	for i := range fields {
		if fields[i].Name == ":status" {
			n, _ := strconv.Atoi(fields[i].Value)
			return n
		}
	}
	return 0
}

// prefaceState is h2.MatchPreface over held bytes followed by data.
func prefaceState(held, data []byte) (match, more bool) {
	n := len(held)
	if n > len(h2.Preface) || string(held) != h2.Preface[:n] {
		return false, false
	}
	rest := h2.Preface[n:]
	k := min(len(rest), len(data))
	if string(data[:k]) != rest[:k] {
		return false, false
	}
	return k == len(rest), k < len(rest)
}

// settingsFrame reports whether b starts with what a server sends first on
// an HTTP/2 connection: a SETTINGS frame (type 4) on stream 0, not an
// acknowledgement, of whole 6-byte entries.
func settingsFrame(b []byte) bool {
	if len(b) < 9 {
		return false
	}
	length := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	return b[3] == 0x4 && b[4] == 0 && b[5]&0x7f == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0 && length%6 == 0
}

// h2cUpgrade reports whether the 101 m switches pr's connection to
// HTTP/2 (RFC 7540 §3.2): the request asked for h2c and the response
// names it.
func h2cUpgrade(pr *pendingReq, m *http1.Message) bool {
	if !equalFold(trimOWS(m.Header("upgrade")), "h2c") {
		return false
	}
	for _, hs := range pr.hdrs {
		if equalFold(pr.get(hs.name), "upgrade") {
			for _, t := range bytes.Split(pr.get(hs.value), []byte(",")) {
				if equalFold(trimOWS(t), "h2c") {
					return true
				}
			}
		}
	}
	return false
}

// upgradeH2 switches the connection to HTTP/2 after the 101 that
// answered pr (an `Upgrade: h2c` request): pr becomes stream 1's request,
// with 101 among its informational statuses and the upgrade flag, and is
// answered by stream 1's response. Both HTTP/1 parsers hand the rest of
// their bytes to the HTTP/2 ones; the client's begins with the preface.
func (c *conn) upgradeH2(pr *pendingReq, ts int64) {
	c.initH2()
	c.mode = modeH2
	c.f.st.h2Conns.Add(1)
	if len(pr.info) < maxInfo {
		pr.info = append(pr.info, 101)
	}
	pr.half.flags |= flow.FlagUpgrade
	if s := c.stream(1, true); s != nil {
		s.req.head, s.req.done, s.req.end = true, true, pr.end
		s.pr, pr.h2id = pr, 1
	} else {
		c.f.emitNoResponse(c, pr, ts)
		c.f.putReq(pr)
	}
	st := c.h2
	c.parsers[roleReq].SetPassthrough(st.pass[roleReq])
	c.parsers[roleResp].SetPassthrough(st.pass[roleResp])
}

// releaseStream forgets s without a record (dropped at the memory
// budget); a request already complete is given up on as no_response.
func (c *conn) releaseStream(s *h2stream) {
	if pr := s.pr; pr != nil {
		s.pr = nil
		c.f.tqRemove(pr)
		c.f.emitNoResponse(c, pr, pr.end)
		c.f.putReq(pr)
	}
	c.dropStream(s)
}

func fieldBytes(fields []h2.Field) int {
	n := 0
	for i := range fields {
		n += len(fields[i].Name) + len(fields[i].Value) + 32 // HPACK's per-entry overhead, a fair per-field cost
	}
	return n
}
