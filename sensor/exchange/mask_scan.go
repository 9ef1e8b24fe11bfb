package exchange

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanners of masking. They place every leaf exactly in the raw body
// (the walker of analyzer/pii/walk hands out decoded values, which may live
// in its scratch), build the same key paths as that walker ($.a.b[].c for
// JSON, $.user.email for user[email] in forms), and keep, for a decoded
// value, the raw offset of every decoded byte so that a match can be masked
// escape sequence by escape sequence.

var (
	textKey = []byte("$")
	utf8BOM = []byte("\xef\xbb\xbf")
)

// jsonBody masks a JSON body. NDJSON (nd) is split into lines first, as
// analyzer/pii/walk does, so that a malformed record cannot hide the next
// one; each line, or the whole of a JSON body, is a sequence of values.
func (m *masker) jsonBody(b []byte, cut, nd bool) {
	if !nd {
		m.jsonSeq(b, cut)
		return
	}
	for len(b) > 0 {
		line, rest := b, []byte(nil)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, rest = b[:i], b[i+1:]
		}
		m.jsonSeq(line, cut && rest == nil)
		b = rest
	}
}

// jsonSeq masks one JSON value, or several separated by white space
// (concatenated JSON, json-seq's RS). A value the scanner cannot parse is
// masked by a text scan from its start to the end of the line where the
// fault is, and the scan resumes on the next line. A valid JSON body is
// never text-scanned, so it stays valid.
func (m *masker) jsonSeq(b []byte, cut bool) {
	p := 0
	if bytes.HasPrefix(b, utf8BOM) {
		p = len(utf8BOM)
	}
	for {
		for p < len(b) && (wsByte(b[p]) || b[p] == 0x1e) { // RS: json-seq
			p++
		}
		if p >= len(b) {
			return
		}
		end, ok := m.jsonValue(b, p, cut)
		if ok {
			p = end
			continue
		}
		m.fallbacks++
		eol := len(b)
		if i := bytes.IndexByte(b[end:], '\n'); i >= 0 {
			eol = end + i
		}
		m.text(b[p:eol], cut && eol == len(b))
		p = eol
	}
}

func wsByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// delimByte ends a bare word.
func delimByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '{', '}', '[', ']', '"':
		return true
	}
	return false
}

func isLiteral(w []byte) bool {
	switch string(w) {
	case "true", "false", "null":
		return true
	}
	return false
}

// jsonValue masks the leaves of the JSON value at b[p] and returns where it
// ends. A body that ends inside the value is not a fault: the leaves there
// are handled, one cut by the end masked whole, and the end is len(b). On
// a fault it returns the fault's position and false. It is lenient where
// sloppy servers are: a trailing comma is accepted, and a bare word
// (NaN, an unquoted string) is a value, classified like a string.
func (m *masker) jsonValue(b []byte, p int, cut bool) (int, bool) {
	n := len(b)
	m.path = append(m.path[:0], '$')
	m.stack = m.stack[:0]

value:
	for p < n && wsByte(b[p]) {
		p++
	}
	if p >= n {
		return n, true
	}
	switch c := b[p]; {
	case c == '{' || c == '[':
		m.stack = append(m.stack, mframe{plen: int32(len(m.path)), arr: c == '['})
		p++
		for p < n && wsByte(b[p]) {
			p++
		}
		if p >= n {
			return n, true
		}
		if c == '[' {
			m.path = append(m.path, "[]"...)
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
		end, esc := scanJSONString(b, p+1)
		raw := b[p+1 : end]
		if end == n { // cut by the end of the body: mask it whole
			if starAll(raw) {
				m.n++
			}
			return n, true
		}
		if esc {
			m.unescape(raw)
			m.classify(raw, m.val, m.off, m.path, lkString)
		} else {
			m.classify(raw, raw, nil, m.path, lkString)
		}
		p = end + 1
	case c == '-' || isDigit(c):
		end, ok := scanJSONNumber(b, p)
		if !ok {
			return end, false
		}
		raw := b[p:end]
		// A number that runs to the end of the body inside a container,
		// or in a body known to be cut, may be a prefix: masked whole.
		if end == n && (len(m.stack) > 0 || cut) {
			if zeroNumber(raw) {
				m.n++
			}
			return n, true
		}
		m.classify(raw, raw, nil, m.path, lkNumber)
		p = end
	case c == ']' && len(m.stack) > 0 && m.stack[len(m.stack)-1].arr:
		p++ // [1,]
		goto pop
	case c == ',' || c == ':' || c == '}' || c == ']':
		return p, false
	default:
		// true, false, null, or a bare word.
		end := p
		for end < n && !delimByte(b[end]) {
			end++
		}
		if w := b[p:end]; !isLiteral(w) {
			if end == n && (len(m.stack) > 0 || cut) {
				if starAll(w) {
					m.n++
				}
				return n, true
			}
			m.classify(w, w, nil, m.path, lkString)
		}
		p = end
	}

after:
	for p < n && wsByte(b[p]) {
		p++
	}
	if len(m.stack) == 0 {
		return p, true
	}
	if p >= n {
		return n, true
	}
	{
		c := b[p]
		p++
		if m.stack[len(m.stack)-1].arr {
			switch c {
			case ',':
				goto value
			case ']':
				goto pop
			}
			return p - 1, false
		}
		switch c {
		case ',':
			goto key
		case '}':
			goto pop
		}
		return p - 1, false
	}

pop:
	m.path = m.path[:m.stack[len(m.stack)-1].plen]
	m.stack = m.stack[:len(m.stack)-1]
	goto after

key:
	for p < n && wsByte(b[p]) {
		p++
	}
	if p >= n {
		return n, true
	}
	if b[p] == '}' { // {"a":1,}
		p++
		goto pop
	}
	if b[p] != '"' {
		return p, false
	}
	{
		end, esc := scanJSONString(b, p+1)
		if end == n {
			return n, true // a key cut by the end: nothing to mask
		}
		k := b[p+1 : end]
		m.path = append(m.path[:m.stack[len(m.stack)-1].plen], '.')
		if esc {
			m.unescape(k)
			k = m.val
		}
		if len(k) > maxPathKey {
			k = k[len(k)-maxPathKey:]
		}
		m.path = append(m.path, k...)
		p = end + 1
	}
	for p < n && wsByte(b[p]) {
		p++
	}
	if p >= n {
		return n, true
	}
	if b[p] != ':' {
		return p, false
	}
	p++
	goto value
}

// maxPathKey bounds one key in the path (pii reads the last 64 bytes of a
// segment).
const maxPathKey = 256

// scanJSONString returns the index of the quote closing the string whose
// content starts at p (len(b) when the body ends first) and whether the
// content holds a backslash. Control bytes are accepted: masking is
// lenient where the JSON grammar is strict, it only needs the extent.
func scanJSONString(b []byte, p int) (int, bool) {
	q := bytes.IndexByte(b[p:], '"')
	if q < 0 {
		return len(b), bytes.IndexByte(b[p:], '\\') >= 0
	}
	if bytes.IndexByte(b[p:p+q], '\\') < 0 {
		return p + q, false
	}
	for i := p; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i, true
		}
	}
	return len(b), true
}

// scanJSONNumber returns the end of the number at b[p] (len(b) when the
// body ends inside it) and false when it is malformed.
func scanJSONNumber(b []byte, p int) (int, bool) {
	n := len(b)
	i := p
	if b[i] == '-' {
		i++
	}
	if i >= n {
		return n, true
	}
	switch {
	case b[i] == '0':
		i++
	case isDigit(b[i]):
		for i < n && isDigit(b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n {
			return n, true
		}
		if !isDigit(b[i]) {
			return i, false
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n {
			return n, true
		}
		if !isDigit(b[i]) {
			return i, false
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// unescape decodes the content of a JSON string into m.val, with m.off
// mapping each decoded byte to the offset of the escape sequence (or byte)
// that gave it. Invalid escapes are kept as they are.
func (m *masker) unescape(raw []byte) {
	m.val, m.off = m.val[:0], m.off[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			m.put(c, i)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			m.put(e, i)
		case 'b':
			m.put('\b', i)
		case 'f':
			m.put('\f', i)
		case 'n':
			m.put('\n', i)
		case 'r':
			m.put('\r', i)
		case 't':
			m.put('\t', i)
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				m.put(c, i)
				i++
				continue
			}
			w := 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
					r2, ok2 = hex4(raw[i+8:])
				}
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r, w = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			var tmp [4]byte
			for _, x := range tmp[:utf8.EncodeRune(tmp[:], r)] {
				m.put(x, i)
			}
			i += w
			continue
		default:
			m.put(c, i) // invalid escape: the backslash, then the byte as it is
			i++
			continue
		}
		i += 2
	}
	m.off = append(m.off, int32(len(raw)))
}

func (m *masker) put(c byte, off int) {
	m.val = append(m.val, c)
	m.off = append(m.off, int32(off))
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// form masks an application/x-www-form-urlencoded body or a query string.
// Names and values are percent-decoded ('+' is a space) for the detector;
// masked bytes of the raw value become '*'. In a query, the parameters that
// redaction already replaced by a fingerprint are skipped. In a cut body
// the last value, which may be a prefix, is masked whole.
func (m *masker) form(b []byte, cut, query bool) {
	for p := 0; p < len(b); {
		pair := b[p:]
		last := true
		if i := bytes.IndexByte(pair, '&'); i >= 0 {
			pair, last = pair[:i], false
		}
		p += len(pair) + 1
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 || eq+1 == len(pair) {
			continue // no value
		}
		name, val := pair[:eq], pair[eq+1:]
		if query && m.redact && m.red.secretParam(name) {
			continue // already a fingerprint
		}
		if cut && last {
			if starAll(val) {
				m.n++
			}
			continue
		}
		m.formPath(name)
		if bytes.IndexByte(val, '%') < 0 && bytes.IndexByte(val, '+') < 0 {
			m.classify(val, val, nil, m.path, lkString)
			continue
		}
		m.unpercent(val)
		m.classify(val, m.val, m.off, m.path, lkString)
	}
}

// formPath sets m.path to the walker's path of a form parameter name:
// "$." + the decoded name, bracket notation turned into the JSON path rules
// (user[email] → $.user.email, ids[] and ids[3] → $.ids[]).
func (m *masker) formPath(name []byte) {
	if bytes.IndexByte(name, '%') >= 0 || bytes.IndexByte(name, '+') >= 0 {
		m.unpercent(name)
		name = m.val
	}
	if len(name) > maxPathKey {
		name = name[:maxPathKey]
	}
	m.path = append(m.path[:0], '$', '.')
	i := bytes.IndexByte(name, '[')
	if i < 0 {
		i = len(name)
	}
	m.path = append(m.path, name[:i]...)
	rest := name[i:]
	for len(rest) > 0 {
		j := bytes.IndexByte(rest, ']')
		if rest[0] != '[' || j < 0 {
			m.path = append(m.path, rest...)
			return
		}
		if seg := rest[1:j]; allDigits(seg) {
			m.path = append(m.path, "[]"...)
		} else {
			m.path = append(m.path, '.')
			m.path = append(m.path, seg...)
		}
		rest = rest[j+1:]
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// unpercent decodes a form value into m.val ('+' is a space, a bad escape
// is kept as it is) with m.off mapping each decoded byte to its raw offset.
func (m *masker) unpercent(raw []byte) {
	m.val, m.off = m.val[:0], m.off[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			m.put(' ', i)
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			m.put(unhex(raw[i+1])<<4|unhex(raw[i+2]), i)
			i += 2
		default:
			m.put(c, i)
		}
	}
	m.off = append(m.off, int32(len(raw)))
}

// text masks what the detector finds in free text (values with a validator
// or a strict format: emails, cards, IBANs, +E.164 phones, tokens…; values
// known only by their key, such as a password, cannot be found in text).
// In a cut body the run of value-like bytes at the very end is masked too.
func (m *masker) text(b []byte, cut bool) {
	if len(b) == 0 {
		return
	}
	m.ms = m.det.Text(m.ms[:0], textKey, b)
	for i := range m.ms {
		if m.shape(b, b, nil, &m.ms[i]) {
			m.n++
		}
	}
	if cut && maskTail(b) {
		m.n++
	}
}

// maxTail bounds the run masked at the end of a cut text body.
const maxTail = 64

// maskTail masks the run of value-like bytes (letters, digits, non-ASCII,
// "@._+-()", and spaces between digits) that ends a cut body: a card,
// phone, email or token cut by the body cap is no longer recognisable, and
// its prefix must not stay in clear.
func maskTail(b []byte) bool {
	i := len(b)
	for i > 0 && len(b)-i < maxTail {
		c := b[i-1]
		if isAlnum(c) || c >= 0x80 || c == '*' {
			i--
			continue
		}
		switch c {
		case '@', '.', '_', '+', '-', '(', ')':
			i--
			continue
		case ' ':
			if i < len(b) && i >= 2 && isDigit(b[i]) && (isDigit(b[i-2]) || b[i-2] == '*') {
				i--
				continue
			}
		}
		break
	}
	for i < len(b) && b[i]&0xc0 == 0x80 {
		i++ // never half a character
	}
	changed := false
	for j := i; j < len(b); j++ {
		if c := b[j]; isAlnum(c) || c >= 0x80 {
			b[j] = '*'
			changed = true
		}
	}
	return changed
}
