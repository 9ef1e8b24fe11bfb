package shape

import "math"

// The scanner is a hand-written JSON tokenizer that turns a body into a flat
// list of events in one pass, validating as it goes. Observing is two steps,
// scan then apply, so that a body found invalid halfway leaves the Shape
// untouched (a single pass straight into the Shape would have to undo what
// it recorded). encoding/json is not used: Decoder.Token allocates per token
// and Unmarshal into any builds the whole generic tree this package exists
// to avoid.

type evKind uint8

const (
	evObject evKind = iota + 1 // b: index of the matching evEnd, -1 if the input ended first
	evArray                    // same
	evEnd                      // closes the innermost emitted object or array
	evName                     // a property name: data[a:b] without quotes
	evString                   // data[a:b] without quotes
	evInt
	evNumber
	evBool
	evNull
)

type event struct {
	kind evKind
	esc  bool  // the string or name holds backslash escapes
	a, b int32 // see evKind
}

type frame struct {
	open int32 // index of the opening event, -1 when the container is not emitted
	arr  bool
	emit bool  // the container's members are emitted
	n    int32 // elements seen so far (arrays)
}

// maxNesting is encoding/json's nesting limit: deeper input is invalid for
// both, which keeps the scanner and json.Valid in agreement (FuzzObserve).
const maxNesting = 10000

type scanner struct {
	ev        []event
	stack     []frame
	truncated bool // the input ended inside the root value
}

// scan tokenizes d. Members of containers deeper than maxDepth (the root is
// depth 0) and array elements past maxItems are validated but not emitted,
// so the event list is bounded by the same limits as the Shape. It returns
// false if d is not JSON; input that is a valid prefix of JSON (a capped
// body) is accepted with truncated set, and the possibly cut last token is
// dropped.
func (sc *scanner) scan(d []byte, maxDepth, maxItems int) bool {
	sc.ev = sc.ev[:0]
	sc.stack = sc.stack[:0]
	sc.truncated = false
	if len(d) > math.MaxInt32 {
		return false
	}
	i := ws(d, 0)
	if i == len(d) {
		return false
	}
	emit := true // the value starting at i is emitted
	for {
		// A value starts at d[i], i < len(d).
		switch c := d[i]; c {
		case '{', '[':
			if len(sc.stack) >= maxNesting {
				return false
			}
			f := frame{open: -1, arr: c == '['}
			if emit {
				f.open = int32(len(sc.ev))
				k := evObject
				if f.arr {
					k = evArray
				}
				sc.ev = append(sc.ev, event{kind: k, b: -1})
				f.emit = len(sc.stack) < maxDepth
			}
			sc.stack = append(sc.stack, f)
			if i = ws(d, i+1); i == len(d) {
				return sc.cut()
			}
			if d[i] == '}' && !f.arr || d[i] == ']' && f.arr {
				sc.pop()
				i++
				break
			}
			if f.arr {
				emit = f.emit && maxItems > 0
				continue
			}
			var st status
			if i, st = sc.member(d, i, f.emit); st != stOK {
				return st == stEOF && sc.cut()
			}
			emit = f.emit
			continue
		case '"':
			j, esc, st := str(d, i+1)
			if st != stOK {
				return st == stEOF && sc.cut()
			}
			if emit {
				sc.ev = append(sc.ev, event{kind: evString, esc: esc, a: int32(i + 1), b: int32(j - 1)})
			}
			i = j
		case 't', 'f', 'n':
			lit := "null"
			k := evNull
			if c == 't' {
				lit, k = "true", evBool
			} else if c == 'f' {
				lit, k = "false", evBool
			}
			n := len(d) - i
			if n > len(lit) {
				n = len(lit)
			}
			if string(d[i:i+n]) != lit[:n] {
				return false
			}
			if n < len(lit) {
				return sc.cut()
			}
			if emit {
				sc.ev = append(sc.ev, event{kind: k})
			}
			i += n
		default:
			j, float, st := number(d, i)
			if st == stBad {
				return false
			}
			if j == len(d) && len(sc.stack) > 0 {
				// A number that runs to the end of a cut body may itself be cut.
				return sc.cut()
			}
			if st == stEOF {
				return false // "-" or "1." as a whole body
			}
			if emit {
				k := evInt
				if float {
					k = evNumber
				}
				sc.ev = append(sc.ev, event{kind: k})
			}
			i = j
		}

		// After a value: a separator, a closer, or the end.
		for {
			i = ws(d, i)
			if len(sc.stack) == 0 {
				return i == len(d)
			}
			if i == len(d) {
				return sc.cut()
			}
			f := &sc.stack[len(sc.stack)-1]
			c := d[i]
			if c == '}' && !f.arr || c == ']' && f.arr {
				sc.pop()
				i++
				continue
			}
			if c != ',' {
				return false
			}
			if i = ws(d, i+1); i == len(d) {
				return sc.cut()
			}
			if f.arr {
				f.n++
				emit = f.emit && int(f.n) < maxItems
				break
			}
			var st status
			if i, st = sc.member(d, i, f.emit); st != stOK {
				return st == stEOF && sc.cut()
			}
			emit = f.emit
			break
		}
	}
}

// member scans `"name" :` and the white space after it, emitting the name.
func (sc *scanner) member(d []byte, i int, emit bool) (int, status) {
	if d[i] != '"' {
		return i, stBad
	}
	j, esc, st := str(d, i+1)
	if st != stOK {
		return j, st
	}
	if emit {
		sc.ev = append(sc.ev, event{kind: evName, esc: esc, a: int32(i + 1), b: int32(j - 1)})
	}
	if j = ws(d, j); j == len(d) {
		return j, stEOF
	}
	if d[j] != ':' {
		return j, stBad
	}
	if j = ws(d, j+1); j == len(d) {
		return j, stEOF
	}
	return j, stOK
}

func (sc *scanner) pop() {
	f := sc.stack[len(sc.stack)-1]
	sc.stack = sc.stack[:len(sc.stack)-1]
	if f.open >= 0 {
		sc.ev[f.open].b = int32(len(sc.ev))
		sc.ev = append(sc.ev, event{kind: evEnd})
	}
}

// cut ends a scan at the end of input inside the root value: a prefix of
// JSON, kept for what it holds. A root scalar cut short holds nothing.
func (sc *scanner) cut() bool {
	sc.truncated = true
	return len(sc.stack) > 0
}

type status uint8

const (
	stOK  status = iota
	stBad        // not JSON
	stEOF        // the input ended first
)

func ws(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// plain marks the bytes a string can hold without a closer look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string's contents starting after the opening quote and returns
// the index after the closing quote.
func str(d []byte, i int) (int, bool, status) {
	esc := false
	for {
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i == len(d) {
			return i, esc, stEOF
		}
		switch d[i] {
		case '"':
			return i + 1, esc, stOK
		case '\\':
			esc = true
			if i+1 == len(d) {
				return i, esc, stEOF
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 0; k < 4; k++ {
					if i+2+k == len(d) {
						return i, esc, stEOF
					}
					if unhex(d[i+2+k]) < 0 {
						return i, esc, stBad
					}
				}
				i += 6
			default:
				return i, esc, stBad
			}
		default: // a control character
			return i, esc, stBad
		}
	}
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at d[i].
func number(d []byte, i int) (int, bool, status) {
	float := false
	if d[i] == '-' {
		i++
	}
	if i == len(d) {
		return i, false, stEOF
	}
	switch {
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		i = digits(d, i+1)
	default:
		return i, false, stBad
	}
	if i < len(d) && d[i] == '.' {
		float = true
		if i++; i == len(d) {
			return i, float, stEOF
		}
		if d[i] < '0' || d[i] > '9' {
			return i, float, stBad
		}
		i = digits(d, i+1)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		float = true
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i == len(d) {
			return i, float, stEOF
		}
		if d[i] < '0' || d[i] > '9' {
			return i, float, stBad
		}
		i = digits(d, i+1)
	}
	return i, float, stOK
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the decoded contents of a JSON string (without quotes,
// already validated by str) to buf. Unpaired surrogates become U+FFFD, as
// encoding/json does.
func unescape(buf, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if r2 := hex4(s[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
					buf = appendRune(buf, (r-0xD800)<<10|(r2-0xDC00)+0x10000)
					i += 6
					continue
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = 0xFFFD
			}
			buf = appendRune(buf, r)
			continue
		default: // '"', '\\', '/'
			buf = append(buf, s[i+1])
		}
		i += 2
	}
	return buf
}

func hex4(s []byte) rune {
	return rune(unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3]))
}

func appendRune(buf []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(buf, byte(r))
	case r < 0x800:
		return append(buf, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(buf, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return append(buf, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
}
