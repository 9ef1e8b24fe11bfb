package inject

import "unicode/utf8"

// Decoding. A part with no escape is matched as sent; the trigger pass
// stops at the first decodable escape (needDecode) and the part is then
// decoded whole, in up to maxRounds rounds (one for each layer of
// percent-encoding: %253C → %3C → <), into the Scanner's two buffers. A
// decoded byte is never longer than its escape, so a buffer of the part's
// size always suffices.

const maxRounds = 3

// decode returns part decoded.
func (s *Scanner) decode(part []byte) []byte {
	src := part
	k := 0
	for round := 0; round < maxRounds; round++ {
		if cap(s.dec[k]) < len(part) {
			s.dec[k] = make([]byte, 0, min(MaxScan, max(len(part), 2*cap(s.dec[k]), 1024)))
		}
		out, more, split := decodeOnce(s.dec[k][:0], src)
		if split >= 0 {
			s.split = split
		}
		src = out
		k ^= 1
		if !more {
			break
		}
	}
	return src
}

// decSpecial marks the bytes decodeOnce looks at: those that may start an
// escape, a comment or the end of an executed comment.
var decSpecial = func() (t [256]bool) {
	for _, c := range []byte{'%', '&', '\\', '/', '*', 0xC0, 0xC1, 0xE2, 0xEF} {
		t[c] = true
	}
	return
}()

// decodeOnce appends src decoded one layer to dst. more reports whether a
// decoded byte may start a further escape ('%', '&', '\', a lead byte).
func decodeOnce(dst, src []byte) (out []byte, more bool, split int) {
	inVersioned := false
	split = -1
	// A '%' copied as is may start an escape once the bytes after it
	// are decoded ("%%32%65" → "%2e").
	litPct, decoded := false, false
	for i := 0; i < len(src); {
		// Copy the run of bytes that start no escape in one go.
		j := i
		for j < len(src) && !decSpecial[src[j]] {
			j++
		}
		if j > i {
			dst = append(dst, src[i:j]...)
			i = j
			if i == len(src) {
				break
			}
		}
		c := src[i]
		switch c {
		case '%':
			if r, n, wide := pctAt(src, i); n > 0 {
				if wide {
					dst = appendRune(dst, r)
				} else {
					dst = append(dst, byte(r))
				}
				more = more || r == '%' || r == '&' || r == '\\' || (!wide && trig[byte(r)] == tHigh)
				decoded = true
				i += n
				continue
			}
			litPct = true
		case '&':
			if r, n := entityAt(src, i); n > 0 {
				dst = appendRune(dst, r)
				more = more || r == '%' || r == '&' || r == '\\'
				decoded = true
				i += n
				continue
			}
		case '\\':
			if r, n := escapeAt(src, i); n > 0 {
				dst = appendRune(dst, r)
				more = more || r == '%' || r == '&' || r == '\\'
				decoded = true
				i += n
				continue
			}
		case 0xC0, 0xC1, 0xE2, 0xEF:
			if r, n := highAt(src, i); n > 0 {
				dst = append(dst, r)
				more = more || r == '%' || r == '&' || r == '\\'
				i += n
				continue
			}
		case '/':
			if i+1 < len(src) && src[i+1] == '*' {
				if i+2 < len(src) && src[i+2] == '!' {
					// MySQL's executed comment /*!50000UNION*/: keep the
					// body.
					j := digitsEnd(src, i+3)
					dst = append(dst, ' ')
					inVersioned = true
					i = j
					continue
				}
				if e := commentEnd(src, i+2); e > 0 {
					join, whole, at := joinsKeyword(dst, src, e)
					if !join {
						dst = append(dst, ' ')
					} else if whole && split < 0 {
						split = at
					}
					i = e
					continue
				}
			}
		case '*':
			if inVersioned && i+1 < len(src) && src[i+1] == '/' {
				dst = append(dst, ' ')
				inVersioned = false
				i += 2
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst, more || litPct && decoded, split
}

// appendRune appends r, folding the full-width forms of ASCII and the
// division slash and set minus (U+2215, U+2216) to ASCII.
func appendRune(dst []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		return append(dst, byte(r))
	case r >= 0xFF01 && r <= 0xFF5E:
		return append(dst, byte(r-0xFEE0))
	case r == 0x2215:
		return append(dst, '/')
	case r == 0x2216:
		return append(dst, '\\')
	}
	return utf8.AppendRune(dst, r)
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

// pctAt decodes a percent escape at b[i] ('%'): %XX (a byte; wide false)
// or IIS's %uXXXX (a code point; wide true). n is 0 when there is none.
func pctAt(b []byte, i int) (r rune, n int, wide bool) {
	if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
		return unhex(b[i+1])<<4 | unhex(b[i+2]), 3, false
	}
	if i+5 < len(b) && b[i+1]|0x20 == 'u' && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) {
		return unhex(b[i+2])<<12 | unhex(b[i+3])<<8 | unhex(b[i+4])<<4 | unhex(b[i+5]), 6, true
	}
	return 0, 0, false
}

// escapeAt decodes a JavaScript/JSON escape at b[i] ('\'): \uXXXX,
// \u{X…}, \xXX. n is 0 when there is none.
func escapeAt(b []byte, i int) (r rune, n int) {
	if i+1 >= len(b) {
		return 0, 0
	}
	switch b[i+1] | 0x20 {
	case 'u':
		if i+5 < len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) {
			return unhex(b[i+2])<<12 | unhex(b[i+3])<<8 | unhex(b[i+4])<<4 | unhex(b[i+5]), 6
		}
		if i+3 < len(b) && b[i+2] == '{' {
			j := i + 3
			for j < len(b) && j < i+10 && isHex(b[j]) {
				r = r<<4 | unhex(b[j])
				j++
			}
			if j > i+3 && j < len(b) && b[j] == '}' && r <= utf8.MaxRune {
				return r, j + 1 - i
			}
		}
	case 'x':
		if i+3 < len(b) && isHex(b[i+2]) && isHex(b[i+3]) {
			return unhex(b[i+2])<<4 | unhex(b[i+3]), 4
		}
	}
	return 0, 0
}

// highAt folds a non-ASCII spelling of an ASCII byte at b[i]: an overlong
// two-byte UTF-8 sequence (C0 AE is '.'), U+2215/U+2216 (division slash,
// set minus), or a full-width form U+FF01–U+FF5E. n is 0 when there is
// none.
func highAt(b []byte, i int) (r byte, n int) {
	if i+1 >= len(b) {
		return 0, 0
	}
	c0, c1 := b[i], b[i+1]
	switch c0 {
	case 0xC0, 0xC1:
		if c1&0xC0 == 0x80 {
			return (c0&1)<<6 | c1&0x3F, 2
		}
	case 0xE2:
		if c1 == 0x88 && i+2 < len(b) {
			switch b[i+2] {
			case 0x95:
				return '/', 3
			case 0x96:
				return '\\', 3
			}
		}
	case 0xEF:
		if i+2 < len(b) {
			c2 := b[i+2]
			if c1 == 0xBC && c2 >= 0x81 && c2 <= 0xBF {
				return 0x21 + c2 - 0x81, 3
			}
			if c1 == 0xBD && c2 >= 0x80 && c2 <= 0x9E {
				return 0x60 + c2 - 0x80, 3
			}
		}
	}
	return 0, 0
}

// entityAt decodes an HTML character reference at b[i] ('&'): numeric
// (&#60; &#x3c; &#0000060, with or without ';'), or one of the named
// references payloads use. n is 0 when there is none.
func entityAt(b []byte, i int) (r rune, n int) {
	j := i + 1
	if j >= len(b) {
		return 0, 0
	}
	if b[j] == '#' {
		j++
		hex := j < len(b) && b[j]|0x20 == 'x'
		if hex {
			j++
		}
		start := j
		for j < len(b) && j-start < 10 {
			var d rune
			if hex {
				d = unhex(b[j])
			} else if isDigit(b[j]) {
				d = rune(b[j] - '0')
			} else {
				d = -1
			}
			if d < 0 {
				break
			}
			if hex {
				r = r<<4 | d
			} else {
				r = r*10 + d
			}
			j++
		}
		if j == start || r == 0 || r > utf8.MaxRune {
			return 0, 0
		}
		if j < len(b) && b[j] == ';' {
			j++
		}
		return r, j - i
	}
	e := alphaEnd(b, j, 9)
	if e == j {
		return 0, 0
	}
	var buf [9]byte
	name := lowerInto(buf[:], b, j, e)
	semi := e < len(b) && b[e] == ';'
	if !semi {
		// Legacy references without ';' (not before '=': "&amp=1" is a
		// parameter).
		if e < len(b) && (isIdent(b[e]) || b[e] == '=') {
			return 0, 0
		}
		switch string(name) {
		case "lt":
			return '<', e - i
		case "gt":
			return '>', e - i
		case "quot":
			return '"', e - i
		case "amp":
			return '&', e - i
		}
		return 0, 0
	}
	switch string(name) {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "quot":
		r = '"'
	case "apos":
		r = '\''
	case "nbsp":
		r = ' '
	case "tab":
		r = '\t'
	case "newline":
		r = '\n'
	case "colon":
		r = ':'
	case "semi":
		r = ';'
	case "lpar":
		r = '('
	case "rpar":
		r = ')'
	case "sol":
		r = '/'
	case "bsol":
		r = '\\'
	case "comma":
		r = ','
	case "period":
		r = '.'
	case "excl":
		r = '!'
	case "quest":
		r = '?'
	case "num":
		r = '#'
	case "dollar":
		r = '$'
	case "percnt":
		r = '%'
	case "equals":
		r = '='
	case "lsqb", "lbrack":
		r = '['
	case "rsqb", "rbrack":
		r = ']'
	case "lcub", "lbrace":
		r = '{'
	case "rcub", "rbrace":
		r = '}'
	case "grave":
		r = '`'
	case "verbar", "vert":
		r = '|'
	case "ast":
		r = '*'
	case "plus":
		r = '+'
	case "lowbar":
		r = '_'
	case "commat":
		r = '@'
	default:
		return 0, 0
	}
	return r, e + 1 - i
}

// joinKeywords are the words a comment may split ("UN/**/ION"): the
// comment is then dropped instead of read as a space. A comment between
// two letters is dropped when the letters around it form a prefix of one
// of these, so S/**/EL/**/ECT joins too.
var joinKeywords = [...]string{
	"union", "select", "from", "where", "and", "or", "xor", "insert", "into", "update", "delete",
	"drop", "table", "sleep", "benchmark", "concat", "having", "order", "group", "exec", "execute",
	"waitfor", "delay", "null", "char", "version", "database", "user", "substring", "ascii",
	"information", "schema", "like", "limit", "outfile", "declare", "cast", "convert",
	"script", "alert", "javascript", "expression", "onerror", "onload",
}

// firstScriptKeyword is the index of the first non-SQL joinKeyword.
const firstScriptKeyword = 38

// joinsKeyword reports whether the comment ending at src[e] sits between
// letters that, joined, start a keyword (join), whether they make a whole
// SQL keyword (whole), and where the word starts in dst.
func joinsKeyword(dst, src []byte, e int) (join, whole bool, at int) {
	var w [32]byte
	i := len(dst)
	for i > 0 && len(dst)-i < 16 && isAlpha(dst[i-1]) {
		i--
	}
	if i == len(dst) || e >= len(src) || !isAlpha(src[e]) || (i > 0 && isAlpha(dst[i-1])) {
		return false, false, 0
	}
	n := copy(w[:], dst[i:])
	for k := e; k < len(src) && n < len(w) && isAlpha(src[k]); k++ {
		w[n] = src[k]
		n++
	}
	for k := 0; k < n; k++ {
		w[k] = lowerTab[w[k]]
	}
	word := w[:n]
	for k, kw := range joinKeywords {
		if len(word) <= len(kw) && kw[:len(word)] == string(word) {
			return true, len(word) == len(kw) && k < firstScriptKeyword, i
		}
	}
	return false, false, 0
}
