package walk

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON walker is a hand-written validating scanner: encoding/json's
// Decoder.Token allocates per token (about 40 MB/s) and Unmarshal builds
// the whole tree. Strings without a backslash are handed out in place;
// escaped ones are decoded into the Walker's buffer.

// strTbl marks the bytes that end a fast string run.
var strTbl = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return
}()

var wsTbl = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

const (
	stOK  = iota
	stEOF // the input ended inside the token
	stBad
)

// JSON walks one JSON value. A body that ends inside the value (the sensor
// caps bodies) is not an error: the leaves that are there are visited, a
// string or number cut by the end with Leaf.Cut, and truncated is true.
// Malformed input stops the walk with ErrSyntax after visiting the leaves
// before the fault; nesting past MaxDepth stops it with ErrDepth, more than
// MaxLeaves leaves with ErrLeaves. A body of only white space is truncated.
func (w *Walker) JSON(body []byte, visit Visitor) (truncated bool, err error) {
	w.init(visit)
	w.setRoot("$")
	return w.json(body)
}

// json walks body with w.path as the root path; the caller did init.
func (w *Walker) json(b []byte) (truncated bool, err error) {
	depth := 0 // containers open in this call
	p := 0
	n := len(b)

value:
	for p < n && wsTbl[b[p]] {
		p++
	}
	if p >= n {
		return true, nil
	}
	switch c := b[p]; {
	case c == '{' || c == '[':
		if depth >= w.MaxDepth {
			return false, ErrDepth
		}
		w.stack = append(w.stack, frame{plen: int32(len(w.path)), arr: c == '['})
		depth++
		p++
		for p < n && wsTbl[b[p]] {
			p++
		}
		if p >= n {
			return true, nil
		}
		if c == '[' {
			w.appendSeg("[]", nil)
			if b[p] == ']' {
				p++
				goto pop
			}
			goto value
		}
		if b[p] == '}' {
			p++
			goto pop
		}
		goto key
	case c == '"':
		end, esc, st := scanString(b, p+1)
		if st == stBad {
			return false, ErrSyntax
		}
		raw := b[p+1 : end]
		v, cut := raw, st == stEOF
		if esc {
			var c2 bool
			w.buf, c2 = unescape(w.buf[:0], raw, w.MaxValue)
			v, cut = w.buf, cut || c2
		}
		if !w.emit(v, String, cut) {
			return false, w.err
		}
		if st == stEOF {
			return true, nil
		}
		p = end + 1
	case c == '-' || c >= '0' && c <= '9':
		end, st := scanNumber(b, p)
		if st == stBad {
			return false, ErrSyntax
		}
		// A number that runs to the end of a body inside a container
		// may have been cut; a root number at the end is whole.
		if st == stEOF || end == n && depth > 0 {
			if !w.emit(b[p:end], Number, true) {
				return false, w.err
			}
			return true, nil
		}
		if !w.emit(b[p:end], Number, false) {
			return false, w.err
		}
		p = end
	case c == 't' || c == 'f' || c == 'n':
		lit, kind := "null", Null
		if c == 't' {
			lit, kind = "true", Bool
		} else if c == 'f' {
			lit, kind = "false", Bool
		}
		m := len(lit)
		if n-p < m {
			m = n - p
		}
		if string(b[p:p+m]) != lit[:m] {
			return false, ErrSyntax
		}
		if m < len(lit) {
			return true, nil
		}
		if !w.emit(b[p:p+m], kind, false) {
			return false, w.err
		}
		p += m
	default:
		return false, ErrSyntax
	}

after:
	for p < n && wsTbl[b[p]] {
		p++
	}
	if depth == 0 {
		if p < n {
			return false, ErrSyntax // trailing data
		}
		return false, nil
	}
	if p >= n {
		return true, nil
	}
	{
		top := w.stack[len(w.stack)-1]
		c := b[p]
		p++
		if top.arr {
			if c == ',' {
				goto value
			}
			if c == ']' {
				goto pop
			}
			return false, ErrSyntax
		}
		if c == ',' {
			goto key
		}
		if c == '}' {
			goto pop
		}
		return false, ErrSyntax
	}

pop:
	w.path = w.path[:w.stack[len(w.stack)-1].plen]
	w.stack = w.stack[:len(w.stack)-1]
	depth--
	goto after

key:
	for p < n && wsTbl[b[p]] {
		p++
	}
	if p >= n {
		return true, nil
	}
	if b[p] != '"' {
		return false, ErrSyntax
	}
	{
		end, esc, st := scanString(b, p+1)
		if st == stBad {
			return false, ErrSyntax
		}
		if st == stEOF {
			return true, nil
		}
		w.path = w.path[:w.stack[len(w.stack)-1].plen]
		if esc {
			if len(w.path) < w.MaxPath {
				w.path = append(w.path, '.')
				w.path, _ = unescape(w.path, b[p+1:end], w.MaxPath)
			}
		} else if w.CollapseIDs && idKey(b[p+1:end]) {
			w.appendSeg(".", star)
		} else {
			w.appendSeg(".", b[p+1:end])
		}
		p = end + 1
	}
	for p < n && wsTbl[b[p]] {
		p++
	}
	if p >= n {
		return true, nil
	}
	if b[p] != ':' {
		return false, ErrSyntax
	}
	p++
	goto value
}

// scanString finds the closing quote of the string whose content starts at
// p, validating escapes and rejecting control bytes as JSON does. It
// returns the quote's index (or len(b) with stEOF) and whether the content
// holds escapes.
func scanString(b []byte, p int) (int, bool, int) {
	esc := false
	n := len(b)
	for {
		// Eight bytes per round as one word (SWAR): most strings are short
		// runs of plain bytes, and the closing quote is usually within
		// the first word, found without a loop over its bytes.
		for p+8 <= n {
			if m := special8(binary.LittleEndian.Uint64(b[p:])); m != 0 {
				p += bits.TrailingZeros64(m) >> 3
				break
			}
			p += 8
		}
		for p < n && !strTbl[b[p]] {
			p++
		}
		if p >= n {
			return n, esc, stEOF
		}
		switch b[p] {
		case '"':
			return p, esc, stOK
		case '\\':
			esc = true
			if p+1 >= n {
				return n, esc, stEOF
			}
			switch b[p+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p += 2
			case 'u':
				for i := p + 2; i < p+6; i++ {
					if i >= n {
						return n, esc, stEOF
					}
					if unhex(b[i]) < 0 {
						return p, esc, stBad
					}
				}
				p += 6
			default:
				return p, esc, stBad
			}
		default:
			return p, esc, stBad // a control byte
		}
	}
}

// Words of eight bytes (SWAR): lsb has each byte's lowest bit set, msb
// its highest.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special8 flags (high bit of the byte) the bytes of x, eight string
// bytes little-endian, that strTbl marks: a quote, a backslash, a control
// byte. The classic zero-byte tests can also flag a byte above a flagged
// one (a borrow), never below: the lowest flag is exact, and only it is
// used.
func special8(x uint64) uint64 {
	q := x ^ ('"' * lsb)  // zero bytes where x has '"'
	s := x ^ ('\\' * lsb) // and backslashes
	return ((q-lsb)&^q | (s-lsb)&^s | (x-0x20*lsb)&^x) & msb
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func hex4(s []byte) rune {
	return unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3])
}

// unescape appends the decoded string content s (already validated by
// scanString, possibly cut at the end) to dst, up to max bytes of dst;
// cut reports that content was left out. Lone surrogates become U+FFFD,
// as encoding/json does.
func unescape(dst, s []byte, max int) (out []byte, cut bool) {
	for i := 0; i < len(s); {
		if len(dst) >= max {
			return dst, true
		}
		if s[i] != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				j = len(s) - i
			}
			run := s[i : i+j]
			if len(dst)+len(run) > max {
				return append(dst, run[:max-len(dst)]...), true
			}
			dst = append(dst, run...)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return dst, true // an escape cut by the end of the body
		}
		var r rune
		switch s[i+1] {
		case 'u':
			if i+6 > len(s) {
				return dst, true
			}
			r = hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			if len(dst)+utf8.RuneLen(r) > max {
				return dst, true
			}
			dst = utf8.AppendRune(dst, r)
			continue
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		default: // " \ /
			r = rune(s[i+1])
		}
		dst = append(dst, byte(r))
		i += 2
	}
	return dst, false
}

// scanNumber validates the JSON number starting at p and returns its end;
// stEOF when the body ends before the grammar is complete ("-", "1.", "1e").
func scanNumber(b []byte, p int) (int, int) {
	n := len(b)
	if b[p] == '-' {
		p++
		if p >= n {
			return p, stEOF
		}
	}
	switch {
	case b[p] == '0':
		p++
	case b[p] >= '1' && b[p] <= '9':
		p++
		for p < n && b[p] >= '0' && b[p] <= '9' {
			p++
		}
	default:
		return p, stBad
	}
	if p < n && b[p] == '.' {
		p++
		if p >= n {
			return p, stEOF
		}
		if b[p] < '0' || b[p] > '9' {
			return p, stBad
		}
		for p < n && b[p] >= '0' && b[p] <= '9' {
			p++
		}
	}
	if p < n && (b[p] == 'e' || b[p] == 'E') {
		p++
		if p < n && (b[p] == '+' || b[p] == '-') {
			p++
		}
		if p >= n {
			return p, stEOF
		}
		if b[p] < '0' || b[p] > '9' {
			return p, stBad
		}
		for p < n && b[p] >= '0' && b[p] <= '9' {
			p++
		}
	}
	return p, stOK
}

var star = []byte("*")
