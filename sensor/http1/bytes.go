package http1

import "bytes"

// Character classes (RFC 9110 5.6.2 token, RFC 9112 3.2 request-target).
var (
	tchar      [256]bool // token characters
	capsTok    [256]bool // strict method characters: A-Z 0-9 '-' '_'
	targetChar [256]bool // visible ASCII and obs-text: no SP, no CTL
	authChar   [256]bool // first byte of an authority-form target / host chars
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		tchar[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		capsTok[c] = b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
		targetChar[c] = b > 0x20 && b != 0x7f
		authChar[c] = alnum || b == '-' || b == '.' || b == '[' || b == '_' || b == '%'
	}
}

func indexLF(b []byte) int { return bytes.IndexByte(b, '\n') }

func lastIndexByte(b []byte, c byte) int { return bytes.LastIndexByte(b, c) }

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[:len(s)], s)
}

// trimOWS removes optional whitespace (SP, HT) at both ends.
func trimOWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t') {
		j--
	}
	return b[i:j]
}

// nextElem splits a comma-separated list: it returns the first element
// (OWS-trimmed, possibly empty) and the rest after the comma.
func nextElem(b []byte) (elem, rest []byte, more bool) {
	k := bytes.IndexByte(b, ',')
	if k < 0 {
		return trimOWS(b), nil, false
	}
	return trimOWS(b[:k]), b[k+1:], true
}

// parseDec parses a non-empty run of decimal digits (leading zeros
// allowed) into a non-negative int64; false on anything else or overflow.
func parseDec(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (maxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

const maxInt64 = 1<<63 - 1

func unhex(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}
