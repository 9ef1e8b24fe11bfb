package http1

import "bytes"

// Request resynchronisation.
//
// After sync is lost in the request direction the bytes that follow are
// often the body of a request whose head was lost, and that body (JSON,
// form data) rarely ends in a newline: the next request line starts in the
// middle of a "line", glued to the last body byte:
//
//	..."note":"x"}PATCH /api/v1/users/5 HTTP/1.1\r\n
//
// reqScan finds such start lines wherever they begin, in one forward pass
// over the skipped bytes. A request line is "M SP T SP HTTP/1.x EOL" where
// neither M nor T contains SP, so a candidate can only begin with a method
// that ends right before an SP. At every SP the scanner looks back over the
// token characters before it (at most maxStrictMethod+1 bytes) for a method:
//
//   - the longest suffix of that token run that is a known method
//     (knownMethods), wherever the run starts ("x"}PATCH, 2GET);
//   - else the whole run, if it is a strict method (all caps, at most 20
//     bytes: see startLine) and begins after a non-token byte or at the
//     resync point (which includes every line start).
//
// Each method found starts a candidate: a strict startLine recogniser
// preloaded with "M SP" that is fed the bytes that follow. A candidate's
// target cannot contain SP, so at most two are alive at any time (one
// reading its target, one reading "HTTP/1.x" after the next SP); every
// byte is fed to at most two recognisers and looked back at a bounded
// number of times: the scan is O(n) in the skipped bytes, and the bytes
// before the first SP-free stretch are skipped with bytes.IndexByte.
//
// Carry-over between Feed calls: the bytes of the live candidates (each at
// most MaxStartLine, the oldest one's region contains the other) or, when
// none is alive, the last maxStrictMethod token bytes (a method may still
// end there). They are kept in Parser.buf and counted as the message in
// progress (msgWire) until they are either skipped or become the start of
// the accepted request line. Nothing is allocated beyond Parser.buf.
type reqScan struct {
	// cand[0], cand[1]: strict candidates (targets without SP). cand[2]:
	// the head candidate, started only at the resync point (the first
	// byte after a gap, or of a midstream stream: exchange feeds it from
	// the line start http1.Detect accepted) with Detect's rules (strict
	// method, any target, SP allowed in it), so that what Detect accepts
	// there the parser accepts too. It dies at the end of that line.
	cand [3]reqCand
	// head: the next scanRequest starts at the resync point.
	head bool
	// runCont: the byte just before buf[0] is a token character of the
	// same run as buf[0] (so a run reaching buf[0] is not bounded there).
	runCont bool
	// marks: capture times of the carried bytes: bytes from marks[i].off
	// on were fed at marks[i].ts. Only the few most recent changes are
	// kept (an older boundary is merged into its predecessor), which is
	// exact unless a method was fed in more than len(marks) pieces with
	// different timestamps.
	marks [4]tsMark
	nm    int
}

type reqCand struct {
	live  bool
	start int   // offset of the method's first byte (in buf + data)
	ts    int64 // capture time of that byte
	dfa   startLine
}

type tsMark struct {
	off int
	ts  int64
}

func (s *reqScan) reset() {
	s.cand[0].live, s.cand[1].live, s.cand[2].live = false, false, false
	s.runCont = false
	s.nm = 0
}

// knownMethods are looked for as suffixes of a token run (see reqScan):
// RFC 9110, PATCH (RFC 5789), QUERY, and the WebDAV family (IANA HTTP
// Method Registry).
var knownMethods = [...]string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "QUERY",
	"ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "COPY", "LABEL", "LINK", "LOCK",
	"MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE", "MOVE",
	"ORDERPATCH", "PROPFIND", "PROPPATCH", "REBIND", "REPORT", "SEARCH", "UNBIND", "UNCHECKOUT",
	"UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL",
}

// methodsByLast indexes knownMethods by last letter, longest first.
var methodsByLast [26][]string

func init() {
	for _, m := range knownMethods {
		if len(m) > maxStrictMethod {
			panic("http1: known method longer than maxStrictMethod: " + m)
		}
		k := m[len(m)-1] - 'A'
		l := append(methodsByLast[k], m)
		for i := len(l) - 1; i > 0 && len(l[i]) > len(l[i-1]); i-- {
			l[i], l[i-1] = l[i-1], l[i]
		}
		methodsByLast[k] = l
	}
}

// vat returns byte v of the concatenation carry+data.
func vat(carry, data []byte, v int) byte {
	if v < len(carry) {
		return carry[v]
	}
	return data[v-len(carry)]
}

// methodBefore returns the length of the method that ends right before
// offset v of carry+data (v is an SP), or 0.
func (p *Parser) methodBefore(carry, data []byte, v int) int {
	var t [maxStrictMethod + 1]byte
	k := 0
	bounded := false
	for k <= maxStrictMethod {
		pos := v - k - 1
		if pos < 0 {
			bounded = !p.rs.runCont
			break
		}
		c := vat(carry, data, pos)
		if !tchar[c] {
			bounded = true
			break
		}
		k++
		t[len(t)-k] = c
	}
	if k == 0 {
		return 0
	}
	run := t[len(t)-k:]
	last := run[len(run)-1]
	if last < 'A' || last > 'Z' {
		return 0
	}
	for _, m := range methodsByLast[last-'A'] {
		if len(m) <= len(run) && string(run[len(run)-len(m):]) == m {
			return len(m)
		}
	}
	if !bounded || k > maxStrictMethod || run[0] < 'A' || run[0] > 'Z' {
		return 0
	}
	for _, c := range run {
		if !capsTok[c] {
			return 0
		}
	}
	return k
}

// tsAt is the capture time of byte v of carry+data (data is being fed now).
func (p *Parser) tsAt(carryLen, v int) int64 {
	s := &p.rs
	if v >= carryLen || s.nm == 0 {
		return p.ts
	}
	ts := s.marks[0].ts
	for i := 1; i < s.nm && s.marks[i].off <= v; i++ {
		ts = s.marks[i].ts
	}
	return ts
}

// feedCand feeds b (no SP in it, or a single SP) to a live candidate. It
// returns the bytes consumed and whether the candidate accepted a line.
func (p *Parser) feedCand(c *reqCand, b []byte) (int, bool) {
	in := b
	if room := max(p.lim.MaxStartLine-c.dfa.n, 0); len(in) > room {
		in = in[:room]
	}
	n, r := c.dfa.feed(in)
	switch r {
	case slAccept:
		return n, true
	case slReject:
		c.live = false
	default:
		if c.dfa.n >= p.lim.MaxStartLine {
			// Too long to be a start line.
			p.stats.LimitStartLine++
			c.live = false
		}
	}
	return n, false
}

// scanRequest is feedStart while resynchronising a request stream. It
// consumes data up to the end of an accepted request line (then the head
// continues in stHeaders), or all of it.
func (p *Parser) scanRequest(data []byte) int {
	s := &p.rs
	carry := p.buf
	C := len(carry)
	i := 0
	if s.head {
		s.head = false
		if C == 0 {
			c := &s.cand[2]
			c.dfa.resetMode(true, true, true)
			c.live, c.start, c.ts = true, 0, p.ts
		}
	}
	for i < len(data) {
		j := bytes.IndexByte(data[i:], ' ')
		seg := data[i:]
		if j >= 0 {
			seg = data[i : i+j]
		}
		if len(seg) > 0 {
			// Every live candidate sees the segment before one is accepted:
			// stopping at the first that accepts would leave the others
			// unfed, and whether a longer one hit the start-line limit on
			// these bytes (a counter) would depend on the segmentation.
			var acc *reqCand
			accN := 0
			for k := range s.cand {
				c := &s.cand[k]
				if !c.live {
					continue
				}
				if n, ok := p.feedCand(c, seg); ok && acc == nil {
					acc, accN = c, n
				}
			}
			if acc != nil {
				return p.acceptCand(acc, data, i+accN)
			}
		}
		if j < 0 {
			break
		}
		i += j
		// The SP: it moves a candidate from its target to its version
		// (and kills any other), and may end a new method.
		for k := range s.cand {
			if c := &s.cand[k]; c.live {
				p.feedCand(c, data[i:i+1])
			}
		}
		if l := p.methodBefore(carry, data, C+i); l > 0 && l < p.lim.MaxStartLine {
			c := &s.cand[0]
			if c.live {
				c = &s.cand[1]
			}
			var mb [maxStrictMethod + 1]byte
			start := C + i - l
			for q := 0; q < l; q++ {
				mb[q] = vat(carry, data, start+q)
			}
			mb[l] = ' '
			c.dfa.reset(true, true)
			if _, r := c.dfa.feed(mb[:l+1]); r == slMore {
				c.live = true
				c.start = start
				c.ts = p.tsAt(C, start)
			}
		}
		i++
	}
	p.holdScan(data)
	return len(data)
}

// acceptCand: candidate c accepted a line that ends at data[end-1]. The
// line becomes the start of the current message, the bytes before it are
// skipped. A line whose target fails the strict form is skipped whole.
func (p *Parser) acceptCand(c *reqCand, data []byte, end int) int {
	C := len(p.buf)
	st := c.start
	p.skip(st)
	if st < C {
		n := copy(p.buf, p.buf[st:])
		p.buf = append(p.buf[:n], data[:end]...)
	} else {
		p.buf = append(p.buf[:0], data[st-C:end]...)
	}
	p.msgWire = int64(len(p.buf))
	if !c.dfa.finalOK(p.buf) {
		// An LF: nothing before it can be part of a later start line.
		p.skip(len(p.buf))
		p.buf = p.buf[:0]
		p.msgWire = 0
		p.rs.reset()
		return end
	}
	p.dfa = c.dfa
	p.msg.Start = c.ts
	p.rs.reset()
	p.acceptStart()
	return end
}

// holdScan ends a scan over data without an accepted line: the bytes that
// may still begin a start line stay in buf, the rest is skipped.
func (p *Parser) holdScan(data []byte) {
	s := &p.rs
	C := len(p.buf)
	end := C + len(data)
	// The token run at the end (a method may end at the next SP).
	hs := end
	for hs > 0 && end-hs < maxStrictMethod && tchar[vat(p.buf, data, hs-1)] {
		hs--
	}
	for k := range s.cand {
		if c := &s.cand[k]; c.live && c.start < hs {
			hs = c.start
		}
	}
	if hs > 0 {
		s.runCont = tchar[vat(p.buf, data, hs-1)]
	}
	p.skip(hs)
	if hs < C {
		n := copy(p.buf, p.buf[hs:])
		p.buf = append(p.buf[:n], data...)
	} else {
		p.buf = append(p.buf[:0], data[hs-C:]...)
		s.nm = 0
	}
	p.msgWire = int64(len(p.buf))
	for k := range s.cand {
		s.cand[k].start -= hs
	}
	// Timestamps of the carried bytes.
	w := 0
	for r := 0; r < s.nm; r++ {
		m := s.marks[r]
		m.off -= hs
		if m.off <= 0 {
			m.off = 0
			w = 0 // a later mark at or before the new start wins
		}
		s.marks[w] = m
		w++
	}
	s.nm = w
	if len(p.buf) == 0 {
		s.nm = 0
		return
	}
	if from := max(C-hs, 0); from < len(p.buf) && (s.nm == 0 || s.marks[s.nm-1].ts != p.ts) {
		if s.nm == len(s.marks) {
			copy(s.marks[1:], s.marks[2:])
			s.nm--
		}
		s.marks[s.nm] = tsMark{off: from, ts: p.ts}
		s.nm++
	}
}

// replayRequest rescans the bytes of a request line the in-sync
// recogniser rejected (they are in buf, none is an LF): a start line may
// begin inside them.
func (p *Parser) replayRequest() {
	old := p.buf
	p.buf = p.buf[:0]
	p.msgWire = 0
	p.rs.reset()
	saved := p.ts
	p.ts = p.msg.Start
	// holdScan appends a suffix of old to the front of the same array
	// (append copies with memmove semantics); nothing can be accepted:
	// an accepted line needs an LF.
	p.scanRequest(old)
	p.ts = saved
}

// innerRequest reports whether the request line in p.buf, accepted with an
// SP in its target, ends with a strict request line that starts after one
// of those SPs ("x /GET /a HTTP/1.1"): the in-sync rescan (replayRequest)
// then finds that one, which wins. O(n): each strict candidate dies at the
// next SP unless the version follows it.
func (p *Parser) innerRequest() bool {
	line := p.buf[:p.dfa.n]
	saved := p.rs.runCont
	p.rs.runCont = false
	defer func() { p.rs.runCont = saved }()
	for v := p.dfa.tStart; v < p.dfa.tEnd; v++ {
		if line[v] != ' ' {
			continue
		}
		l := p.methodBefore(nil, line, v)
		if l == 0 {
			continue
		}
		var c startLine
		c.reset(true, true)
		n, r := c.feed(line[v-l:])
		if r == slAccept && v-l+n == len(line) && c.finalOK(line[v-l:]) {
			return true
		}
	}
	return false
}
