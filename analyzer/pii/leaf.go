package pii

import (
	"bytes"
	"encoding/base64"
	"net/netip"
)

// Leaf classifies one value: a JSON leaf, a header value, a query or form
// parameter, a cookie. key is its context (a JSON path, a header name or a
// parameter name); hints are taken from whole words of the last segment and
// its two parents. Value-validated types are found anywhere in the value
// (whole-value matches rank higher); key-only types (password, name,
// address, a bare SSN...) need the value to be the whole leaf. The enabled
// country IDs and the custom detectors run too (key regexes against key as
// given; a nil key matches none). Matches are appended to dst; nothing
// allocates when dst has room.
func (d *Detector) Leaf(dst []Match, key, value []byte) []Match {
	v, off := trimSpace(value)
	if len(v) == 0 {
		return dst
	}
	if len(v) > d.maxScan {
		v = v[:d.maxScan]
	}
	k := parseKey(key)
	dst = d.leaf(dst, &k, v, off)
	if len(d.custom) > 0 {
		dst = d.customLeaf(dst, key, 0, v, off)
	}
	return dst
}

// Key is a parsed key context. A walker that classifies many values under
// one key (the elements of an array, "$.items[*].email") parses it once
// with ParseKey and calls LeafKey. A Key is immutable and may be shared;
// it does not keep key.
type Key struct {
	k keyCtx
	// d, when set, is the Detector whose custom key regexes were matched
	// (Detector.ParseKey); keys has bit i set when custom detector i's key
	// regex matched.
	d    *Detector
	keys uint64
}

// ParseKey parses key for LeafKey. A Key from ParseKey does not keep the
// key, so custom detectors with a key regex cannot match it: when the
// Detector has any, use Detector.ParseKey.
func ParseKey(key []byte) Key {
	k := parseKey(key)
	k.parents()
	k.rest = nil
	return Key{k: k}
}

// ParseKey is ParseKey that also matches d's custom key regexes against
// key once, for every LeafKey call with the Key (on d; on another
// Detector the Key acts as one from the package ParseKey).
func (d *Detector) ParseKey(key []byte) Key {
	kk := ParseKey(key)
	if d.keyed {
		kk.d = d
		kk.keys = d.customKeys(key)
	}
	return kk
}

// LeafKey is Leaf with a key parsed by ParseKey or Detector.ParseKey.
func (d *Detector) LeafKey(dst []Match, key Key, value []byte) []Match {
	return d.LeafKeyRef(dst, &key, value)
}

// LeafKeyRef is LeafKey with the Key passed by reference, for a caller
// that keeps parsed keys in a cache: a Key is 64 bytes, copied on every
// call otherwise. The Key is only read.
func (d *Detector) LeafKeyRef(dst []Match, key *Key, value []byte) []Match {
	v, off := trimSpace(value)
	if len(v) == 0 {
		return dst
	}
	if len(v) > d.maxScan {
		v = v[:d.maxScan]
	}
	k := key.k
	if leafSpecial(&k, v) {
		dst = d.leaf(dst, &k, v, off)
	} else {
		dst = d.value(dst, &k, v, off) // what leaf would do, one call less per leaf
	}
	if len(d.custom) > 0 {
		keys := uint64(0)
		if key.d == d {
			keys = key.keys
		}
		dst = d.customLeaf(dst, nil, keys, v, off)
	}
	return dst
}

func trimSpace(b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] > ' ' && b[len(b)-1] > ' ' {
		return b, 0 // the common leaf: nothing to trim
	}
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\n' || b[j-1] == '\r') {
		j--
	}
	return b[i:j], i
}

// leafSpecial reports a value that leaf does not simply hand to value: a
// Cookie header's, a short one (a null, a flag) or one that may start
// with "Bearer " or "Basic ". Keep it in step with leaf.
func leafSpecial(k *keyCtx, v []byte) bool {
	return k.leaf&hCookie != 0 || len(v) <= 5 || len(v) > 7 && v[0]|0x20 == 'b'
}

func (d *Detector) leaf(dst []Match, k *keyCtx, v []byte, off int) []Match {
	if k.leaf&hCookie != 0 {
		return d.cookies(dst, v, off)
	}
	if len(v) <= 5 && isNullish(v) {
		return dst // true, false, null: the commonest leaves
	}
	if len(v) > 7 && (v[0] == 'B' || v[0] == 'b') {
		if hasPrefixFold(v, "bearer ") {
			rest, o := trimSpace(v[7:])
			if len(rest) == 0 {
				return dst
			}
			k.leaf |= hToken
			return d.value(dst, k, rest, off+7+o)
		}
		if hasPrefixFold(v, "basic ") {
			return d.basic(dst, k, v, off)
		}
	}
	return d.value(dst, k, v, off)
}

// value: the scanner over the whole value, then the key-only rules when no
// match spans the value.
func (d *Detector) value(dst []Match, k *keyCtx, v []byte, off int) []Match {
	if d.ids&bareIDs != 0 && len(v) >= 9 && len(v) <= 14 && isDigit(v[0]) {
		if f := d.bareID(k, v); f.end > 0 {
			return d.add(dst, f.t, f.c, off, off+f.end, f.ex)
		}
	}
	if d.ids == 0 && scanFree(v) {
		return d.context(dst, k, v, off) // an id or a timestamp: scan would find nothing
	}
	dst, whole := d.scan(dst, k, v, off, true)
	if whole {
		return dst
	}
	return d.context(dst, k, v, off)
}

// cookies classifies each name=value pair of a Cookie header (or the first
// pair of a Set-Cookie) with the cookie name as its key.
func (d *Detector) cookies(dst []Match, v []byte, off int) []Match {
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j] != ';' {
			j++
		}
		pair := v[i:j]
		for e := 0; e < len(pair); e++ {
			if pair[e] == '=' {
				val, o := trimSpace(pair[e+1:])
				if len(val) > 0 {
					k := parseKey(pair[:e])
					k.leaf &^= hCookie
					dst = d.leaf(dst, &k, val, off+i+e+1+o)
				}
				break
			}
		}
		i = j + 1
		for i < len(v) && v[i] == ' ' {
			i++
		}
	}
	return dst
}

// basic: "Basic base64(user:pass)" is a password in the clear.
func (d *Detector) basic(dst []Match, k *keyCtx, v []byte, off int) []Match {
	b, o := trimSpace(v[6:])
	var buf [256]byte
	if len(b) < 4 || len(b) > 340 {
		return dst
	}
	n, err := base64.StdEncoding.Decode(buf[:], b)
	if err != nil {
		return dst
	}
	for i := 1; i < n-1; i++ {
		if buf[i] == ':' {
			return d.add(dst, Password, Confirmed, off+6+o, off+6+o+len(b), isPlaceholder(buf[i+1:n]))
		}
	}
	return dst
}

// context reports the types that only a key hint can reveal, with a value
// plausibility check for each.
func (d *Detector) context(dst []Match, k *keyCtx, v []byte, off int) []Match {
	end := off + len(v)
	l := k.leaf
	v6 := ipv6Candidate(v)
	if l == 0 && !v6 && (!(isDigit(v[0]) || v[0] == '(') || k.parents()&upHints == 0) {
		return dst // the common leaf: no hint, nothing left to try
	}
	// A leaf whose own hints are none of the ones tested below, with no
	// parent hint that hinted() would lend (a negative leaf such as "id",
	// "sku" or "created_at" takes none): no rule below can match. The
	// commonest hinted leaves (ids, timestamps, counts) stop here.
	if l&ctxHints == 0 && !v6 && (l&hNeg != 0 || k.parents()&ctxUpHints == 0) {
		return dst
	}
	if isNullish(v) {
		return dst
	}
	switch {
	case l&hAWSSecret != 0 || (l&(hPassword|hAPIKey|hToken) != 0 && (l&hAWS != 0 || k.parents()&hAWS != 0)):
		ex := isPlaceholder(v)
		if awsSecretShape(v) || ex {
			return d.add(dst, AWSSecretKey, Likely, off, end, ex || string(v) == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
		}
	}
	switch {
	case l&hPassword != 0:
		return d.add(dst, Password, Likely, off, end, isPlaceholder(v))
	case l&hPrivKey != 0:
		if ex := isPlaceholder(v); ex || b64Shape(v, 64) {
			return d.add(dst, PrivateKey, Likely, off, end, ex)
		}
	case l&hAPIKey != 0:
		if ex := isPlaceholder(v); ex || tokenShape(v, 12) {
			return d.add(dst, APIKey, Likely, off, end, ex)
		}
	case l&(hToken|hSession) != 0:
		if ex := isPlaceholder(v); ex || tokenShape(v, 16) {
			return d.add(dst, SessionToken, Likely, off, end, ex)
		}
	case l&hConn != 0:
		if containsFold(v, "password=") || containsFold(v, "pwd=") {
			return d.add(dst, ConnectionString, Likely, off, end, isPlaceholder(v))
		}
	}
	// value shape first, key hint second: parents are read only for a
	// plausible value
	var dg [20]byte
	nd, sepOnly := digitsOf(v, dg[:])
	switch {
	case nd == 9 && sepOnly && len(v) <= 11 && k.hinted(hSSN):
		if ssnValid(dg[:9]) {
			return d.add(dst, USSSN, Likely, off, end, ssnExample(dg[:9]))
		}
	case nd >= 7 && nd <= 15 && sepOnly && k.hinted(hPhone):
		if !sameByte(dg[:nd]) {
			return d.add(dst, Phone, Likely, off, end, false)
		}
	case nd == 9 && sepOnly && k.hinted(hRouting):
		if abaValid(dg[:9]) {
			return d.add(dst, BankAccount, Confirmed, off, end, false)
		}
	case nd >= 4 && nd <= 17 && sepOnly && k.hinted(hBank):
		return d.add(dst, BankAccount, Likely, off, end, sameByte(dg[:nd]))
	case nd >= 6 && k.hinted(hDOB) && isDate(v): // the hint first: it is the cheaper test
		return d.add(dst, DateOfBirth, Likely, off, end, false)
	case l == 0 && !v6:
		return dst
	case l&hPassport != 0 || (nd >= 4 && k.hinted(hPassport)):
		if passportShape(v) {
			return d.add(dst, PassportNumber, Likely, off, end, isPlaceholder(v))
		}
	case l&hAddress != 0 || (l&hAddrWeak != 0 && k.person()):
		if addressShape(v) {
			return d.add(dst, StreetAddress, Likely, off, end, isPlaceholder(v))
		}
	case l&hName != 0 || (l&hNameWeak != 0 && l&hNeg == 0 && k.person()):
		if nameShape(v) && !isPlaceholder(v) {
			return d.add(dst, PersonName, Likely, off, end, false)
		}
	}
	if v6 {
		if ip, ok := parseIPv6(v); ok && k.leaf&hVersion == 0 {
			f := ipFound(ip, len(v), k)
			return d.add(dst, IPAddress, f.c, off, end, f.ex)
		}
	}
	return dst
}

const (
	// ctxHints are the leaf hints that context tests (directly, or through
	// hinted and person).
	ctxHints = hAWSSecret | hPassword | hAPIKey | hToken | hPrivKey | hSession | hConn |
		hSSN | hPhone | hRouting | hBank | hDOB | hPassport | hAddress | hAddrWeak | hName | hNameWeak
	// ctxUpHints are the ones of them that hinted takes from a parent.
	ctxUpHints = ctxHints & upHints
)

// ipv6Candidate: a colon within the first five bytes of a short hex-led value.
func ipv6Candidate(v []byte) bool {
	if len(v) < 2 || len(v) > 45 || !(v[0] == ':' || isHexAny(v[0])) {
		return false
	}
	for i := 1; i < 5 && i < len(v); i++ {
		if v[i] == ':' {
			return true
		}
	}
	return false
}

// digitsOf copies the digits of v and reports whether everything else is a
// phone/number separator.
func digitsOf(v []byte, dg []byte) (int, bool) {
	n := 0
	for _, c := range v {
		switch {
		case isDigit(c):
			if n == len(dg) {
				return n, false
			}
			dg[n] = c
			n++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			return n, false
		}
	}
	return n, true
}

func isNullish(v []byte) bool {
	if len(v) < 2 || len(v) > 9 {
		return false
	}
	switch v[0] | 0x20 {
	case 'n':
		return equalFold(v, "null") || equalFold(v, "nil") || equalFold(v, "none") || equalFold(v, "no")
	case 't':
		return equalFold(v, "true")
	case 'f':
		return equalFold(v, "false")
	case 'u':
		return equalFold(v, "undefined")
	case 'y':
		return equalFold(v, "yes")
	case 'o':
		return equalFold(v, "on") || equalFold(v, "off")
	case '{': // and '['
		return len(v) == 2 && (string(v) == "[]" || string(v) == "{}")
	case '"':
		return string(v) == `""`
	}
	return false
}

// isPlaceholder: a template variable, a redaction or a documentation value.
func isPlaceholder(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	n := len(v)
	switch {
	case n >= 3 && v[0] == '$' && v[1] == '{' && v[n-1] == '}',
		n >= 4 && v[0] == '{' && v[1] == '{' && v[n-1] == '}' && v[n-2] == '}',
		n >= 3 && v[0] == '<' && v[n-1] == '>',
		n >= 3 && v[0] == '[' && v[n-1] == ']',
		n >= 2 && v[0] == '%' && v[n-1] == '%',
		n >= 2 && v[0] == '$' && isUpper(v[1]):
		return true
	}
	if n >= 3 && sameByte(v) {
		return true
	}
	for _, w := range []string{"redacted", "changeme", "change_me", "password", "secret", "example",
		"placeholder", "dummy", "xxx", "xxxx", "test", "sample", "masked", "hidden", "filtered",
		"removed", "n/a", "todo", "your_password", "your_api_key", "your-api-key", "yourpassword",
		"123456", "password123", "foobar", "secret123", "notasecret", "none", "unknown"} {
		if equalFold(v, w) {
			return true
		}
	}
	return n >= 3 && (hasPrefixFold(v, "***") || hasPrefixFold(v, "xxxx") || hasPrefixFold(v, "your_") ||
		hasPrefixFold(v, "your-") || hasPrefixFold(v, "<your"))
}

func awsSecretShape(v []byte) bool {
	if len(v) != 40 {
		return false
	}
	var lo, up, dg bool
	for _, c := range v {
		switch {
		case isLower(c):
			lo = true
		case isUpper(c):
			up = true
		case isDigit(c):
			dg = true
		case c == '/' || c == '+':
		default:
			return false
		}
	}
	_ = dg // a real secret lacks a digit about once in a thousand: the key hint carries it
	return lo && up && entropy(v) >= 4.0
}

func b64Shape(v []byte, min int) bool {
	n := 0
	for _, c := range v {
		switch {
		case isAlnum(c) || c == '+' || c == '/' || c == '=':
			n++
		case c == '\n' || c == '\r' || c == ' ' || c == '\\':
		default:
			return false
		}
	}
	return n >= min
}

// tokenShape: no spaces, token alphabet, at least min bytes, not one word
// repeated, some entropy.
func tokenShape(v []byte, min int) bool {
	if len(v) < min || len(v) > 4096 {
		return false
	}
	words := true // only lower-case letters and '-'/'_': a slug or a label
	for _, c := range v {
		if !(isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '=' || c == '~' || c == '%' || c == ':') {
			return false
		}
		words = words && ('a' <= c && c <= 'z' || c == '-' || c == '_')
	}
	// frame-title-text: words have letter entropy enough, but no token
	// generator emits only lower-case letters between separators.
	if words && bytes.ContainsAny(v, "-_") {
		return false
	}
	return entropy(v) >= 3.0
}

func passportShape(v []byte) bool {
	if len(v) < 6 || len(v) > 12 {
		return false
	}
	dg := 0
	for _, c := range v {
		switch {
		case isDigit(c):
			dg++
		case isUpper(c):
		default:
			return false
		}
	}
	return dg >= 4 && !sameByte(v)
}

func addressShape(v []byte) bool {
	if len(v) < 5 || len(v) > 200 || hasPrefixFold(v, "http") {
		return false
	}
	letters, space := 0, false
	for _, c := range v {
		switch {
		case isAlpha(c) || c >= 0x80:
			letters++
		case c == ' ':
			space = true
		case c == '@' || c == '{' || c == '<' || c == '=':
			return false
		}
	}
	return letters >= 3 && space
}

func nameShape(v []byte) bool {
	if len(v) < 2 || len(v) > 64 || !(isAlpha(v[0]) || v[0] >= 0x80) {
		return false
	}
	words := 1
	for i, c := range v {
		switch {
		case isAlpha(c) || c >= 0x80 || c == '\'' || c == '-' || c == '.' || c == ',':
		case c == ' ':
			if i > 0 && v[i-1] != ' ' {
				words++
			}
		default:
			return false
		}
	}
	return words <= 5
}

// isDate accepts YYYY-MM-DD (optionally followed by a time), YYYY/MM/DD,
// YYYYMMDD, and DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY, DD-MM-YYYY, with a year
// 1900-2099.
func isDate(v []byte) bool {
	var y, a, b int
	switch {
	case len(v) >= 10 && (v[4] == '-' || v[4] == '/') && v[7] == v[4] && allDigits(v[:4]) && allDigits(v[5:7]) && allDigits(v[8:10]) &&
		(len(v) == 10 || v[10] == 'T' || v[10] == ' '):
		y, a, b = num(v, 4), num(v[5:], 2), num(v[8:], 2)
		if a > 12 {
			return false
		}
	case len(v) == 8 && allDigits(v):
		y, a, b = num(v, 4), num(v[4:], 2), num(v[6:], 2)
		if a > 12 {
			return false
		}
	case len(v) == 10 && (v[2] == '/' || v[2] == '.' || v[2] == '-') && v[5] == v[2] && allDigits(v[:2]) && allDigits(v[3:5]) && allDigits(v[6:]):
		y, a, b = num(v[6:], 4), num(v, 2), num(v[3:], 2)
		if a > 12 && b > 12 {
			return false
		}
	default:
		return false
	}
	return y >= 1900 && y <= 2099 && a >= 1 && b >= 1 && a <= 31 && b <= 31
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// parseIPv6 parses an IPv6 address (with an optional trailing dotted quad)
// without allocating.
func parseIPv6(v []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1
	i, n := 0, 0 // byte index in v, bytes filled in ip
	if len(v) >= 2 && v[0] == ':' && v[1] == ':' {
		ellipsis = 0
		i = 2
		if i == len(v) {
			return netip.AddrFrom16(ip), true
		}
	}
	for i < len(v) {
		if n == 16 {
			return netip.Addr{}, false
		}
		st := i
		val := 0
		for i < len(v) && i-st < 4 && isHexAny(v[i]) {
			c := v[i]
			switch {
			case isDigit(c):
				val = val<<4 | int(c-'0')
			case c >= 'a':
				val = val<<4 | int(c-'a'+10)
			default:
				val = val<<4 | int(c-'A'+10)
			}
			i++
		}
		if i == st {
			return netip.Addr{}, false
		}
		if i < len(v) && v[i] == '.' {
			if n > 12 || ellipsis < 0 && n != 12 {
				return netip.Addr{}, false
			}
			f := ipv4At(v, st, &keyCtx{upDone: true})
			if f.end != len(v) {
				return netip.Addr{}, false
			}
			a4 := parse4(v[st:])
			copy(ip[n:], a4[:])
			n += 4
			break
		}
		ip[n], ip[n+1] = byte(val>>8), byte(val)
		n += 2
		if i == len(v) {
			break
		}
		if v[i] != ':' || i+1 == len(v) {
			return netip.Addr{}, false
		}
		i++
		if v[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
			if i == len(v) {
				break
			}
		}
	}
	if n < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		gap := 16 - n
		copy(ip[ellipsis+gap:], ip[ellipsis:n])
		for j := ellipsis; j < ellipsis+gap; j++ {
			ip[j] = 0
		}
	} else if ellipsis >= 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

func parse4(v []byte) [4]byte {
	var a [4]byte
	o := 0
	for _, c := range v {
		if c == '.' {
			o++
			continue
		}
		a[o] = a[o]*10 + (c - '0')
	}
	return a
}
