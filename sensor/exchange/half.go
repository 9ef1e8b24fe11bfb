package exchange

import (
	"github.com/apitap/apitap/flow"
)

// span is a byte range of a half's buffer. Offsets rather than slices or
// strings, because the buffer moves when it grows and is reused for the
// next message.
type span struct{ off, n uint32 }

type hdrSpan struct{ name, value span }

// credSpan is a flow.Credential whose strings live in a half's buffer.
type credSpan struct {
	loc        string // constant: "header", "cookie", "query", "userinfo"
	scheme     string // constant for the well-known schemes ...
	schemeSpan span   // ... otherwise the lower-cased scheme in the buffer
	name       span
	fp         span
	user       span
	jwt        int32 // index into half.jwts, -1 if none
}

type jwtSpan struct {
	sub, iss, alg span
	aud0, audN    int32 // range of half.auds
	exp           int64
}

type bodySpan struct {
	data          span
	wire, decoded int64
	ctype, cenc   span
}

// half is everything the record needs from one message (the request or
// the response), already copied out of the parser's buffers, redacted and
// decoded: all strings in buf, addressed by spans. A pending request keeps
// its half until the response arrives; the response is staged in the
// Factory's scratch half. Building the record then only concatenates the
// two buffers into one arena.
//
// The buffers are reused message after message (the steady state
// allocates nothing here), and the secrets they briefly held are
// overwritten by the next message; they never leave the package.
type half struct {
	buf   []byte
	hdrs  []hdrSpan
	creds []credSpan
	jwts  []jwtSpan
	auds  []span

	proto span

	// Request only.
	method, target, host, path, pathDecoded, query span
	hostPort                                       uint16

	// Response only.
	status int
	reason span

	body       bodySpan
	start, end int64
	flags      flow.Flags
}

// maxRetainedBuf is the largest buffer a pooled half keeps between
// messages; a bigger one (an exceptional message) goes to the GC so one
// outlier does not pin memory in every pooled object.
const maxRetainedBuf = 256 << 10

func (h *half) reset() {
	buf, hdrs, creds, jwts, auds := h.buf[:0], h.hdrs[:0], h.creds[:0], h.jwts[:0], h.auds[:0]
	if cap(buf) > maxRetainedBuf {
		buf = nil
	}
	if cap(hdrs) > 1024 {
		hdrs = nil
	}
	if cap(creds) > 1024 {
		creds = nil
	}
	*h = half{buf: buf, hdrs: hdrs, creds: creds, jwts: jwts, auds: auds}
}

// copyFrom makes h a copy of s (reusing h's buffers).
func (h *half) copyFrom(s *half) {
	buf, hdrs, creds, jwts, auds := h.buf, h.hdrs, h.creds, h.jwts, h.auds
	*h = *s
	h.buf = append(buf[:0], s.buf...)
	h.hdrs = append(hdrs[:0], s.hdrs...)
	h.creds = append(creds[:0], s.creds...)
	h.jwts = append(jwts[:0], s.jwts...)
	h.auds = append(auds[:0], s.auds...)
}

func (h *half) mark() uint32 { return uint32(len(h.buf)) }

func (h *half) since(off uint32) span { return span{off, uint32(len(h.buf)) - off} }

func (h *half) add(b []byte) span {
	off := h.mark()
	h.buf = append(h.buf, b...)
	return h.since(off)
}

func (h *half) addString(s string) span {
	off := h.mark()
	h.buf = append(h.buf, s...)
	return h.since(off)
}

// addLower appends b lower-cased (ASCII).
func (h *half) addLower(b []byte) span {
	off := h.mark()
	for _, c := range b {
		h.buf = append(h.buf, lower(c))
	}
	return h.since(off)
}

// get returns the bytes of s (valid until the buffer changes).
func (h *half) get(s span) []byte { return h.buf[s.off : s.off+s.n] }

// sub returns the span of b[i:j] relative to span s.
func sub(s span, i, j int) span { return span{s.off + uint32(i), uint32(j - i)} }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// trimOWS trims optional white space (SP, HTAB) at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
