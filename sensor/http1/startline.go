package http1

// startLine is an incremental recogniser for a request line or a status
// line. It is fed the bytes of one candidate line in any number of pieces
// and decides as early as possible whether the line can still be a start
// line, so that garbage is rejected after a byte or two instead of after
// buffering MaxStartLine bytes. Every byte is examined once (O(n) over any
// split of the input), which is what makes resynchronisation linear.
//
// It only records offsets (relative to the first byte of the line); the
// caller keeps the bytes (Parser.buf, or the slice given to Detect) and
// calls finalOK on the whole line once feed reports slAccept.
//
// Two strengths:
//   - lenient (in sync, a message is expected here): request method is any
//     token, target any run of visible bytes, status 100..999;
//   - strict (resynchronising, or Detect): method is an all-caps token of at
//     most 20 bytes (A-Z first, then A-Z 0-9 '-' '_': this covers every
//     registered method, WebDAV's and CCM_POST included), the target is
//     origin-form ('/'), absolute-form (http:// or https://), asterisk-form
//     ("*") or, for CONNECT only, authority-form (host:port); status 100..599.
//
// Both accept only "HTTP/1.0" and "HTTP/1.1" (HTTP/0.9 lines, HTTP/2
// prefaces and lower-case versions are rejected: the parser resynchronises).
type startLine struct {
	request bool
	strict  bool
	// loose: a request target may contain SP (the version is found after
	// the last SP of the line) and is not checked for form. Set in sync
	// (lenient) and for Detect and the resync point (strict method).
	loose bool
	// bad: the line was accepted through a leniency (SP in the target,
	// odd version, extra SP before the status): FlagMalformed.
	bad bool
	st  uint8
	n   int // bytes of the line consumed so far (LF included once accepted)

	mEnd   int  // request: end of method
	tStart int  // request: start of target
	tEnd   int  // request: end of target
	vStart int  // start of "HTTP/1.x"
	vIdx   int  // bytes of the version matched so far
	major  byte // digit of HTTP/d.d
	minor  byte // '0' or '1' (framing: '0' only for HTTP/1.0 and 0.x)
	conn   bool // request: the method so far is a prefix of "CONNECT"
	isConn bool // request: the method is exactly CONNECT

	status int // response
	sIdx   int // status digits seen
	rStart int // response: start of the reason phrase (== line end when absent)
}

type slResult uint8

const (
	slMore   slResult = iota // consistent so far, need more bytes
	slAccept                 // a complete line, LF consumed
	slReject                 // not a start line; the byte at the returned offset is not consumed
)

const (
	sMethod uint8 = iota
	sTarget0
	sTarget
	sVersion
	sSP     // response: SP after the version
	sStatus // response: three digits
	sAfterStatus
	sReason
	sEOL // request: CR or LF after the version
	sCR  // LF after CR
)

const maxStrictMethod = 20

func (s *startLine) reset(request, strict bool) {
	s.resetMode(request, strict, !strict)
}

func (s *startLine) resetMode(request, strict, loose bool) {
	*s = startLine{request: request, strict: strict, loose: loose, conn: true}
	if !request {
		s.st = sVersion
	}
}

const version = "HTTP/1."

// targetSP handles, in a loose request line, a byte c that ends a
// tentative version (the bytes after an SP of the target did not make
// " HTTP/1.x" CRLF): the SP belongs to the target after all. It returns
// false when c cannot continue a target either.
func (s *startLine) targetSP(c byte, pos int) bool {
	if !s.loose || !s.request {
		return false
	}
	switch {
	case c == ' ':
		s.tEnd = pos
		s.vStart = pos + 1
		s.vIdx = 0
		s.st = sVersion
	case targetChar[c]:
		s.st = sTarget
	default:
		return false
	}
	s.bad = true
	return true
}

// feed consumes a prefix of b. It returns how many bytes it consumed and
// the verdict. On slReject the returned count is the offset of the
// offending byte, which the caller may re-examine (a response candidate can
// start at it).
func (s *startLine) feed(b []byte) (int, slResult) {
	base := s.n
	i := 0
	res := slMore
loop:
	for i < len(b) {
		switch s.st {
		case sMethod:
			j := i
			if s.strict {
				for j < len(b) && capsTok[b[j]] {
					j++
				}
				if base == 0 && i == 0 && j > 0 && !(b[0] >= 'A' && b[0] <= 'Z') {
					j = 0
				}
				if base+j > maxStrictMethod {
					j = maxStrictMethod - base
					i = j
					res = slReject
					break loop
				}
			} else {
				for j < len(b) && tchar[b[j]] {
					j++
				}
			}
			for k := i; k < j && s.conn; k++ {
				pos := base + k
				if pos >= len("CONNECT") || b[k] != "CONNECT"[pos] {
					s.conn = false
				}
			}
			i = j
			if i == len(b) {
				break loop
			}
			if b[i] != ' ' || base+i == 0 {
				res = slReject
				break loop
			}
			s.mEnd = base + i
			s.isConn = s.conn && s.mEnd == len("CONNECT")
			s.st = sTarget0
			i++
		case sTarget0:
			c := b[i]
			if c == ' ' && s.loose {
				// "GET  /a": more than one SP after the method (nginx
				// skips them).
				s.bad = true
				i++
				continue
			}
			if !targetChar[c] {
				res = slReject
				break loop
			}
			if s.strict && !s.loose && !(c == '/' || c == '*' || c|0x20 == 'h' || (s.isConn && authChar[c])) {
				res = slReject
				break loop
			}
			s.tStart = base + i
			s.st = sTarget
			i++
		case sTarget:
			j := i
			for j < len(b) && targetChar[b[j]] {
				j++
			}
			i = j
			if i == len(b) {
				break loop
			}
			if b[i] != ' ' {
				// CR/LF here is an HTTP/0.9 request or junk; other
				// bytes are controls. Either way: not a start line.
				res = slReject
				break loop
			}
			s.tEnd = base + i
			s.vStart = base + i + 1
			s.vIdx = 0
			s.st = sVersion
			i++
		case sVersion:
			c := b[i]
			// "HTTP/d.d": exactly 1.0 or 1.1, except for a status line
			// read leniently (HTTP/1.2, HTTP/2.0 on an HTTP/1
			// connection: FlagMalformed).
			anyVer := !s.strict && !s.request
			if s.vIdx < len(version) {
				ok := c == version[s.vIdx]
				if s.vIdx == 5 && anyVer {
					ok = c >= '0' && c <= '9'
					s.major = c
				}
				if !ok {
					if s.targetSP(c, base+i) {
						i++
						continue
					}
					res = slReject
					break loop
				}
				if s.vIdx == 0 && !s.request {
					s.vStart = base + i
				}
				s.vIdx++
				i++
				continue
			}
			if anyVer && c >= '0' && c <= '9' {
				if s.major != '1' || c > '1' {
					s.bad = true
				}
				if s.major == '0' || s.major == '1' && c == '0' {
					c = '0'
				} else {
					c = '1'
				}
			}
			if c != '0' && c != '1' {
				if s.targetSP(c, base+i) {
					i++
					continue
				}
				res = slReject
				break loop
			}
			s.minor = c
			i++
			if s.request {
				s.st = sEOL
			} else {
				s.st = sSP
			}
		case sSP:
			if b[i] != ' ' {
				res = slReject
				break loop
			}
			s.st = sStatus
			i++
		case sStatus:
			c := b[i]
			if c == ' ' && s.sIdx == 0 && !s.strict {
				// "HTTP/1.1  200": extra SP before the status.
				s.bad = true
				i++
				continue
			}
			if c < '0' || c > '9' {
				res = slReject
				break loop
			}
			if s.sIdx == 0 && (c == '0' || (s.strict && c > '5')) {
				res = slReject
				break loop
			}
			s.status = s.status*10 + int(c-'0')
			s.sIdx++
			i++
			if s.sIdx == 3 {
				s.st = sAfterStatus
			}
		case sAfterStatus:
			switch b[i] {
			case ' ':
				s.rStart = base + i + 1
				s.st = sReason
				i++
			case '\r':
				s.rStart = base + i
				s.st = sCR
				i++
			case '\n':
				s.rStart = base + i
				i++
				res = slAccept
				break loop
			default:
				res = slReject
				break loop
			}
		case sReason:
			// The reason phrase is free text; a bare CR in it is
			// tolerated (the caller strips only a CR right before LF).
			j := indexLF(b[i:])
			if j < 0 {
				i = len(b)
				break loop
			}
			i += j + 1
			res = slAccept
			break loop
		case sEOL:
			switch b[i] {
			case '\r':
				s.st = sCR
				i++
			case '\n':
				i++
				res = slAccept
				break loop
			default:
				if s.targetSP(b[i], base+i) {
					i++
					continue
				}
				res = slReject
				break loop
			}
		case sCR:
			if b[i] != '\n' {
				res = slReject
				break loop
			}
			i++
			res = slAccept
			break loop
		}
	}
	s.n = base + i
	return i, res
}

// confirmed reports whether a response line is certain even though its end
// has not been seen (status digits and the byte after them are valid).
func (s *startLine) responseConfirmed() bool {
	return !s.request && (s.st == sReason || s.st == sCR)
}

// finalOK applies the checks that need the whole line (line = the accepted
// line, terminator included). Only strict request lines have any: the
// target form.
func (s *startLine) finalOK(line []byte) bool {
	if !s.strict || !s.request || s.loose {
		return true
	}
	t := line[s.tStart:s.tEnd]
	switch t[0] {
	case '/':
		return true
	case '*':
		return len(t) == 1
	}
	if len(t) > 8 && hasPrefixFold(t, "https://") || len(t) > 7 && hasPrefixFold(t, "http://") {
		return true
	}
	return s.isConn && validAuthority(t)
}

// validAuthority: host ":" port, as CONNECT requires (RFC 9112 3.2.3).
func validAuthority(t []byte) bool {
	k := lastIndexByte(t, ':')
	if k <= 0 || k == len(t)-1 || len(t)-k-1 > 5 {
		return false
	}
	for _, c := range t[k+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	for _, c := range t[:k] {
		if !authChar[c] && c != ':' && c != ']' {
			return false
		}
	}
	return true
}

// lineContentEnd returns the end of line content: before LF and a CR
// directly preceding it.
func lineContentEnd(line []byte) int {
	e := len(line)
	if e > 0 && line[e-1] == '\n' {
		e--
		if e > 0 && line[e-1] == '\r' {
			e--
		}
	}
	return e
}

// Kind is Detect's verdict on the first bytes of a stream.
type Kind uint8

const (
	// KindUnknown: the bytes are consistent with a start line but too few
	// to decide; call again with more.
	KindUnknown Kind = iota
	// KindRequest: a plausible request line (strict form, complete line).
	KindRequest
	// KindResponse: a plausible status line ("HTTP/1.x DDD" and a separator).
	KindResponse
	// KindNotHTTP: neither can start here.
	KindNotHTTP
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindResponse:
		return "response"
	case KindNotHTTP:
		return "not_http"
	}
	return "unknown"
}

// detectMax is how many bytes Detect looks at: a request line longer than
// the default MaxStartLine is not worth waiting for.
const detectMax = 8 << 10

// Detect classifies the first bytes of a stream using the strict
// (resynchronisation) rules. It does not skip leading garbage or blank
// lines: it answers "does an HTTP/1 message start at b[0]".
func Detect(b []byte) Kind {
	if len(b) == 0 {
		return KindUnknown
	}
	if len(b) > detectMax {
		b = b[:detectMax]
	}
	var rs startLine
	rs.reset(false, true)
	_, r := rs.feed(b)
	if r == slAccept || rs.responseConfirmed() {
		return KindResponse
	}
	respDead := r == slReject

	var qs startLine
	qs.resetMode(true, true, true)
	n, r2 := qs.feed(b)
	if r2 == slAccept {
		if qs.finalOK(b[:n]) {
			return KindRequest
		}
		r2 = slReject
	}
	if respDead && r2 == slReject {
		return KindNotHTTP
	}
	if len(b) >= detectMax {
		return KindNotHTTP
	}
	return KindUnknown
}

// LooksLikeRequest reports whether b starts with a complete plausible
// request line.
func LooksLikeRequest(b []byte) bool { return Detect(b) == KindRequest }

// LooksLikeResponse reports whether b starts with a plausible status line.
func LooksLikeResponse(b []byte) bool { return Detect(b) == KindResponse }
