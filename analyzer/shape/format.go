package shape

import "net/netip"

// format is a set of the JSON Schema string formats the package detects.
type format uint8

const (
	fDateTime format = 1 << iota
	fDate
	fEmail
	fUUID
	fURI
	fIPv4
	fIPv6

	allFormats = fDateTime | fDate | fEmail | fUUID | fURI | fIPv4 | fIPv6
)

// formatNames in the order Schema prefers when several formats fit every
// string seen (they are nearly disjoint: an empty set of strings fits all,
// and is never rendered).
var formatNames = [...]struct {
	f    format
	name string
}{
	{fDateTime, "date-time"},
	{fDate, "date"},
	{fUUID, "uuid"},
	{fEmail, "email"},
	{fURI, "uri"},
	{fIPv4, "ipv4"},
	{fIPv6, "ipv6"},
}

// detect returns the formats among want that s matches. Each test is a
// strict reading of the format's RFC, written on bytes without allocating:
// a format is a claim about every value at a path, so a false positive
// costs more than a miss.
func detect(s []byte, want format) format {
	var got format
	if len(s) < 2 {
		return 0
	}
	if want&fDateTime != 0 && isDateTime(s) {
		got |= fDateTime
	}
	if want&fDate != 0 && len(s) == 10 && isDate(s) {
		got |= fDate
	}
	if want&fUUID != 0 && isUUID(s) {
		got |= fUUID
	}
	if want&fEmail != 0 && isEmail(s) {
		got |= fEmail
	}
	if want&fURI != 0 && isURI(s) {
		got |= fURI
	}
	if want&fIPv4 != 0 && isIPv4(s) {
		got |= fIPv4
	}
	if want&fIPv6 != 0 && isIPv6(s) {
		got |= fIPv6
	}
	return got
}

func num(s []byte) (int, bool) {
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, len(s) > 0
}

// isDate: RFC 3339 full-date, YYYY-MM-DD with a day that exists.
func isDate(s []byte) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// isDateTime: RFC 3339 date-time, full-date "T" HH:MM:SS[.frac] (Z | ±HH:MM).
// T and Z may be lower case (RFC 3339 5.6); a leap second 60 is allowed.
func isDateTime(s []byte) bool {
	if len(s) < 20 || !isDate(s[:10]) || s[10] != 'T' && s[10] != 't' {
		return false
	}
	t := s[11:]
	if t[2] != ':' || t[5] != ':' {
		return false
	}
	h, ok1 := num(t[:2])
	m, ok2 := num(t[3:5])
	sec, ok3 := num(t[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return false
	}
	t = t[8:]
	if t[0] == '.' {
		k := 1
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k == 1 {
			return false
		}
		t = t[k:]
	}
	switch {
	case len(t) == 1 && (t[0] == 'Z' || t[0] == 'z'):
		return true
	case len(t) == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':':
		oh, ok1 := num(t[1:3])
		om, ok2 := num(t[4:6])
		return ok1 && ok2 && oh <= 23 && om <= 59
	}
	return false
}

// isUUID: 8-4-4-4-12 hex digits (RFC 9562 string form).
func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if unhex(c) < 0 {
			return false
		}
	}
	return true
}

// isEmail: local@domain with a dotted domain of letters, digits and
// hyphens, and a local part of RFC 5322 atext and dots. Quoted local parts
// and address literals are legal but rare enough to leave out.
func isEmail(s []byte) bool {
	at := -1
	for i, c := range s {
		if c == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	if at < 1 || at > 64 || len(s)-at-1 < 3 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i, c := range local {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.':
			if local[i-1] == '.' {
				return false
			}
		case c >= 0x80: // RFC 6531 allows UTF-8; accept it unexamined
		default:
			if !isAtext(c) {
				return false
			}
		}
	}
	return isHostname(domain, true)
}

func isAtext(c byte) bool {
	for i := 0; i < len("!#$%&'*+-/=?^_`{|}~"); i++ {
		if c == "!#$%&'*+-/=?^_`{|}~"[i] {
			return true
		}
	}
	return false
}

// isHostname: dot-separated labels of letters, digits and inner hyphens,
// each 1-63 long; dotted requires at least two labels.
func isHostname(s []byte, dotted bool) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		l := s[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	return !dotted || labels >= 2
}

// isURI: an absolute URI with an authority, scheme "://" host [rest], with
// only characters RFC 3986 allows (and percent escapes). Strings such as
// "status:ok" are URIs by the grammar, but calling them uri would mislead,
// so the authority is required.
func isURI(s []byte) bool {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' ||
		i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
		i++
	}
	if i == 0 || len(s)-i < 4 || s[i] != ':' || s[i+1] != '/' || s[i+2] != '/' {
		return false
	}
	if c := s[i+3]; c == '/' || c == '?' || c == '#' {
		return false // an empty authority: file:///x is a URI, but not the kind meant here
	}
	for k := i + 3; k < len(s); k++ {
		c := s[k]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '%':
			if k+2 >= len(s) || unhex(s[k+1]) < 0 || unhex(s[k+2]) < 0 {
				return false
			}
		default:
			if !isURIChar(c) {
				return false
			}
		}
	}
	return true
}

func isURIChar(c byte) bool {
	const allowed = "-._~:/?#[]@!$&'()*+,;="
	for i := 0; i < len(allowed); i++ {
		if c == allowed[i] {
			return true
		}
	}
	return false
}

// isIPv4: dotted quad, decimal, no leading zeros (the format's RFC 2673
// dotted-quad; leading zeros are ambiguous, octal to some parsers).
func isIPv4(s []byte) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	parts, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		p := s[start:i]
		v, ok := num(p)
		if !ok || len(p) > 3 || v > 255 || len(p) > 1 && p[0] == '0' {
			return false
		}
		parts++
		start = i + 1
	}
	return parts == 4
}

// isIPv6: RFC 4291 text form, no zone. A cheap character test first, so
// that only candidates are converted to a string for netip.
func isIPv6(s []byte) bool {
	if len(s) > 45 {
		return false
	}
	colons := 0
	for _, c := range s {
		switch {
		case c == ':':
			colons++
		case c == '.' || unhex(c) >= 0:
		default:
			return false
		}
	}
	if colons < 2 {
		return false
	}
	a, err := netip.ParseAddr(string(s))
	return err == nil && a.Is6() && a.Zone() == ""
}
