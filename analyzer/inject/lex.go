package inject

// Lexical helpers. All are bounded, never allocate, treat the input as
// arbitrary bytes and compare ASCII case-insensitively (the literals they
// are given are lower case).

const (
	cSpace uint8 = 1 << iota // blanks, '+' (a space in a query) and NUL-free controls
	cDigit
	cAlpha
	cIdent // [A-Za-z0-9_]
	cHex
)

var lowerTab, ctype = func() (l [256]byte, t [256]uint8) {
	for i := range l {
		c := byte(i)
		l[i] = c
		switch {
		case c >= 'A' && c <= 'Z':
			l[i] = c + 32
			t[i] = cAlpha | cIdent
		case c >= 'a' && c <= 'z':
			t[i] = cAlpha | cIdent
		case c >= '0' && c <= '9':
			t[i] = cDigit | cIdent | cHex
		case c == '_':
			t[i] = cIdent
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '+':
			t[i] = cSpace
		}
		if (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			t[i] |= cHex
		}
	}
	return
}()

func isSpace(c byte) bool { return ctype[c]&cSpace != 0 }
func isDigit(c byte) bool { return ctype[c]&cDigit != 0 }
func isAlpha(c byte) bool { return ctype[c]&cAlpha != 0 }
func isIdent(c byte) bool { return ctype[c]&cIdent != 0 }
func isHex(c byte) bool   { return ctype[c]&cHex != 0 }

// foldAt reports whether b[i:] starts with s (lower case), ignoring ASCII case.
func foldAt(b []byte, i int, s string) bool {
	if i < 0 || len(b)-i < len(s) {
		return false
	}
	for k := 0; k < len(s); k++ {
		if lowerTab[b[i+k]] != s[k] {
			return false
		}
	}
	return true
}

// wordAt is foldAt with no identifier byte right after s.
func wordAt(b []byte, i int, s string) bool {
	if !foldAt(b, i, s) {
		return false
	}
	e := i + len(s)
	return e >= len(b) || !isIdent(b[e])
}

// wordStart reports whether an identifier may start at i: no letter or
// '_' just before (a digit may: "1union", "0or").
func wordStart(b []byte, i int) bool {
	return i <= 0 || !(isAlpha(b[i-1]) || b[i-1] == '_')
}

// skipSp returns the index of the first byte at or after i that is not a
// space ('+' counts) or a closed /* comment */.
func skipSp(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if isSpace(c) {
			i++
			continue
		}
		if c == '/' && i+1 < len(b) && b[i+1] == '*' {
			if e := commentEnd(b, i+2); e > 0 {
				i = e
				continue
			}
		}
		break
	}
	return i
}

// commentEnd returns the index after the "*/" closing a comment whose body
// starts at i, looking at most 128 bytes; -1 when there is none.
func commentEnd(b []byte, i int) int {
	lim := min(len(b)-1, i+128)
	for j := i; j < lim; j++ {
		if b[j] == '*' && b[j+1] == '/' {
			return j + 2
		}
	}
	return -1
}

// skipSpBack returns the index of the last byte before i that is not a
// space or part of a closed /* comment */; -1 when there is none.
func skipSpBack(b []byte, i int) int {
	j := i - 1
	for j >= 0 {
		c := b[j]
		if isSpace(c) {
			j--
			continue
		}
		if c == '/' && j > 0 && b[j-1] == '*' {
			// Find the opening "/*" at most 128 bytes back.
			lo := max(0, j-130)
			k := j - 2
			for ; k > lo; k-- {
				if b[k-1] == '/' && b[k] == '*' {
					break
				}
			}
			if k > lo {
				j = k - 2
				continue
			}
		}
		break
	}
	return j
}

// identEnd returns the index after the identifier bytes ([A-Za-z0-9_])
// from i, at most max of them.
func identEnd(b []byte, i, max int) int {
	lim := min(len(b), i+max)
	for i < lim && isIdent(b[i]) {
		i++
	}
	return i
}

// alphaEnd returns the index after the letters from i, at most max.
func alphaEnd(b []byte, i, max int) int {
	lim := min(len(b), i+max)
	for i < lim && isAlpha(b[i]) {
		i++
	}
	return i
}

// digitsEnd returns the index after the digits from i.
func digitsEnd(b []byte, i int) int {
	lim := min(len(b), i+32)
	for i < lim && isDigit(b[i]) {
		i++
	}
	return i
}

// identBack returns the start of the run of identifier bytes (and, when
// dots is set, '.') that ends at j inclusive, at most max bytes long.
func identBack(b []byte, j, max int, dots bool) int {
	lo := max0(j - max + 1)
	k := j
	for k >= lo && (isIdent(b[k]) || dots && b[k] == '.' && k < j) {
		k--
	}
	return k + 1
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

// lowerInto copies b[i:j] lower-cased into buf and returns the filled
// part; longer runs are cut to the buffer (callers compare it with
// literals, which a cut run never equals unless it is one).
func lowerInto(buf []byte, b []byte, i, j int) []byte {
	n := 0
	for k := i; k < j && n < len(buf); k++ {
		buf[n] = lowerTab[b[k]]
		n++
	}
	if j-i > len(buf) {
		return buf[:0]
	}
	return buf[:n]
}

// indexFold returns the index of s (lower case) in b[i:lim], or -1.
func indexFold(b []byte, i, lim int, s string) int {
	lim = min(lim, len(b)) - len(s)
	for k := i; k <= lim; k++ {
		if lowerTab[b[k]] == s[0] && foldAt(b, k+1, s[1:]) {
			return k
		}
	}
	return -1
}

// endish reports whether the value ends at i: the end, or only blanks up
// to the end, or a query separator ('&'), a line break or a NUL.
func endish(b []byte, i int) bool {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '+', '\v', '\f':
			continue
		case '&', '\n', '\r', 0:
			return true
		}
		return false
	}
	return true
}
