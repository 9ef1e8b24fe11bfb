package pii

import (
	"bytes"
	"net/netip"
)

// The scanner makes one pass over a value. It stops only at the start of a
// run of word characters (and at '+' and '-----BEGIN'), dispatches on the
// first byte, and runs a validator only when the run can be a candidate;
// everything else is skipped a run at a time.

// runChar: the characters of an email local part, which also covers digit
// groups, dotted quads and most token alphabets.
var runChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = isAlnum(b) || b == '.' || b == '_' || b == '%' || b == '+' || b == '-'
	}
	return t
}()

// Text scans free text for embedded values: emails, cards, SSNs, phones in
// +E.164 form, IPv4 addresses, IBANs, JWTs, provider keys, PEM private keys
// and URLs with credentials; the enabled country IDs with a distinctive
// format (NINO, PAN, NIE, DNI, formatted CPF); and the custom detectors
// that need no key (a value regex with match "any" or alone). key gives
// context as for Leaf; types that need a key hint and a whole value (a
// bare SSN or NHS number, a password) are not reported from inside text.
func (d *Detector) Text(dst []Match, key, text []byte) []Match {
	if len(text) > d.maxScan {
		text = text[:d.maxScan]
	}
	k := parseKey(key)
	dst, _ = d.scan(dst, &k, text, 0, false)
	if len(d.custom) > 0 {
		dst = d.customText(dst, text)
	}
	return dst
}

// found is what a detector reports: the span end, the tier, example.
type found struct {
	t   Type
	end int
	c   Confidence
	ex  bool
}

// scan appends the matches in s (s starts at off in the caller's value).
// whole says s is an entire leaf, which raises bare formats (a 16-digit
// string that is all the leaf is more likely a card than 16 digits in a
// sentence). It reports whether one match spans all of s.
func (d *Detector) scan(dst []Match, k *keyCtx, s []byte, off int, whole bool) ([]Match, bool) {
	all := false
	for i := 0; i < len(s); {
		c := s[i]
		if !isAlnum(c) {
			switch {
			case c == '+' && i+1 < len(s) && isDigit(s[i+1]) && (i == 0 || !isAlnum(s[i-1])):
				if f := phoneAt(s, i, k); f.end > 0 {
					dst = d.add(dst, f.t, f.c, off+i, off+f.end, f.ex)
					all = all || (i == 0 && f.end == len(s))
					i = f.end
					continue
				}
			case c == '-' && hasPrefix(s[i:], "-----BEGIN "):
				if f := pemAt(s, i); f.end > 0 {
					dst = d.add(dst, f.t, f.c, off+i, off+f.end, f.ex)
					all = all || (i == 0 && f.end == len(s))
					i = f.end
					continue
				}
			}
			i++
			continue
		}
		j := i + 1
		for j < len(s) && runChar[s[j]] {
			j++
		}
		var f found
		switch {
		case j < len(s) && s[j] == '@':
			f = emailAt(s, i, j, k)
		case isDigit(c):
			f = digitsAt(s, i, j, k, whole)
			if f.end == 0 && d.ids != 0 {
				f = d.idDigitAt(s, i, j, k)
			}
		default:
			f = wordAt(s, i, j, k)
			if f.end == 0 && d.ids != 0 {
				f = d.idWordAt(s, i, j, k)
			}
		}
		if f.end > 0 {
			dst = d.add(dst, f.t, f.c, off+i, off+f.end, f.ex)
			all = all || (i == 0 && f.end == len(s))
			i = f.end
			continue
		}
		i = j
	}
	return dst, all
}

func endOK(s []byte, e int) bool { return e >= len(s) || !isAlnum(s[e]) }

// digitsAt tries the digit-led types: card, SSN, IPv4.
func digitsAt(s []byte, i, j int, k *keyCtx, whole bool) found {
	spaced := j < len(s) && s[j] == ' '
	if j-i >= 12 || spaced {
		if f := cardAt(s, i, k, whole); f.end > 0 {
			return f
		}
	}
	if (j-i == 3 && spaced) || j-i == 11 {
		if f := ssnAt(s, i, k); f.end > 0 {
			return f
		}
	}
	if j-i >= 7 {
		if f := ipv4At(s, i, k); f.end > 0 {
			return f
		}
	}
	return found{}
}

// cardAt reads 12-19 digits, bare or in consistent groups separated by one
// space or dash, and checks Luhn, issuer range and brand length.
func cardAt(s []byte, i int, k *keyCtx, whole bool) found {
	var d [19]byte
	var ends [8]uint8  // digit count at the end of each group
	var bends [8]int32 // byte offset of each group end
	nd, ng := 0, 0
	sep := byte(0)
	j := i
	for j < len(s) {
		c := s[j]
		if isDigit(c) {
			if nd == len(d) {
				return found{} // longer than any card: an ID
			}
			d[nd] = c
			nd++
			j++
			continue
		}
		if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && ng < len(ends)-1 {
			if sep == 0 {
				sep = c
			} else if sep != c {
				break
			}
			ends[ng], bends[ng] = uint8(nd), int32(j)
			ng++
			j++
			continue
		}
		break
	}
	if nd < 12 {
		return found{}
	}
	if ng == 0 {
		if !endOK(s, j) || (j < len(s) && (s[j] == '.' || s[j] == ',') && j+1 < len(s) && isDigit(s[j+1])) {
			return found{}
		}
	}
	ends[ng], bends[ng] = uint8(nd), int32(j)
	ng++
	// with groups, try the longest grouping that is consistent and valid
	for g := ng; g >= 1; g-- {
		n := int(ends[g-1])
		e := int(bends[g-1])
		if n < 12 {
			break
		}
		if g < ng && ng > 1 {
			// dropped trailing groups: the cut is at a separator
		} else if !endOK(s, e) {
			return found{}
		}
		if g > 1 && !groupsOK(ends[:g]) {
			continue
		}
		if g == 1 && ng > 1 {
			break // "4111111111111111 1234": the first group is its own run
		}
		dd := d[:n]
		if !luhn(dd) || !cardIssuer(dd) {
			continue
		}
		f := found{t: CreditCard, end: e, ex: isTestCard(dd)}
		switch {
		case k.hinted(hCard):
			f.c = Confirmed
		case k.leaf&hNeg != 0:
			return found{}
		case g > 1:
			f.c = Confirmed
		case whole:
			f.c = Likely
		default:
			f.c = Possible
		}
		return f
	}
	return found{}
}

// groupsOK accepts 4-4-4-4(-3), 4-4-4-1..4, 4-6-5 and 4-6-4.
func groupsOK(ends []uint8) bool {
	var l [8]int
	prev := 0
	for i, e := range ends {
		l[i] = int(e) - prev
		prev = int(e)
	}
	n := len(ends)
	if n == 3 && l[0] == 4 && l[1] == 6 && (l[2] == 5 || l[2] == 4) {
		return true
	}
	for i := 0; i < n-1; i++ {
		if l[i] != 4 {
			return false
		}
	}
	return l[n-1] >= 1 && l[n-1] <= 4
}

// ssnAt: ddd-dd-dddd (or ddd dd dddd with an SSN hint).
func ssnAt(s []byte, i int, k *keyCtx) found {
	if i+11 > len(s) {
		return found{}
	}
	x := s[i : i+11]
	sep := x[3]
	if (sep != '-' && !(sep == ' ' && k.hinted(hSSN))) || x[6] != sep {
		return found{}
	}
	var d [9]byte
	n := 0
	for p, c := range x {
		if p == 3 || p == 6 {
			continue
		}
		if !isDigit(c) {
			return found{}
		}
		d[n] = c
		n++
	}
	if !endOK(s, i+11) || (i+11 < len(s) && s[i+11] == '-') || !ssnValid(d[:]) {
		return found{}
	}
	f := found{t: USSSN, end: i + 11, c: Likely, ex: ssnExample(d[:])}
	if k.hinted(hSSN) {
		f.c = Confirmed
	} else if k.leaf&hNeg != 0 {
		f.c = Possible
	}
	return f
}

// ipv4At: a dotted quad without leading zeros.
func ipv4At(s []byte, i int, k *keyCtx) found {
	var a [4]byte
	j := i
	for o := 0; o < 4; o++ {
		if o > 0 {
			if j >= len(s) || s[j] != '.' {
				return found{}
			}
			j++
		}
		st := j
		v := 0
		for j < len(s) && isDigit(s[j]) && j-st < 3 {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j == st || v > 255 || (j-st > 1 && s[st] == '0') {
			return found{}
		}
		a[o] = byte(v)
	}
	if !endOK(s, j) || (j+1 < len(s) && s[j] == '.' && isDigit(s[j+1])) {
		return found{}
	}
	if k.leaf&hVersion != 0 || a[0] == 255 || versionBefore(s, i) {
		return found{} // a version, a netmask (255.255.255.0)
	}
	return ipFound(netip.AddrFrom4(a), j, k)
}

// versionBefore reports a dotted quad that text before it marks as a
// version: "openresty/1.13.6.1" (a product token), "Version='3.0.3.1'",
// "v=3.1.1.75", "ver 2.0.0.1". A URL's host ("//1.2.3.4") is not one.
func versionBefore(s []byte, i int) bool {
	j := i
	if j > 0 && s[j-1] == '/' {
		return j > 1 && isAlpha(s[j-2]) // product/1.2.3.4, not http://1.2.3.4
	}
	for n := 0; j > 0 && n < 2 && (s[j-1] == '=' || s[j-1] == '\'' || s[j-1] == '"' || s[j-1] == ' ' || s[j-1] == ':'); n++ {
		j--
	}
	e := j
	for j > 0 && e-j < 16 && isAlpha(s[j-1]) {
		j--
	}
	if j > 0 && isAlpha(s[j-1]) || e == i {
		return false
	}
	w := s[j:e]
	// rv: Gecko's revision in Firefox user agents (rv:1.9.0.4).
	return eqFold(w, "v") || eqFold(w, "ver") || eqFold(w, "vers") || eqFold(w, "build") || eqFold(w, "rv") ||
		len(w) >= 7 && eqFold(w[len(w)-7:], "version")
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func ipFound(ip netip.Addr, end int, k *keyCtx) found {
	f := found{t: IPAddress, end: end, c: Likely}
	switch {
	case ip.IsPrivate(), ip.IsLoopback(), ip.IsLinkLocalUnicast(), ip.IsUnspecified(),
		ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		f.c = Possible
	case k.hinted(hIP):
		f.c = Confirmed
	case k.leaf&hNeg != 0:
		f.c = Possible
	}
	f.ex = ipDoc(ip)
	return f
}

// ipDoc: the RFC 5737 and RFC 3849 documentation ranges.
func ipDoc(ip netip.Addr) bool {
	if ip.Is4() {
		b := ip.As4()
		return (b[0] == 192 && b[1] == 0 && b[2] == 2) || (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
			(b[0] == 203 && b[1] == 0 && b[2] == 113)
	}
	b := ip.As16()
	return b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8
}

// phoneAt: + and 8-15 digits in groups, plausible for the country code.
func phoneAt(s []byte, i int, k *keyCtx) found {
	var d [15]byte
	nd := 0
	j := i + 1
	last := j
	paren := false
	for j < len(s) {
		c := s[j]
		switch {
		case isDigit(c):
			if nd == len(d) {
				return found{}
			}
			d[nd] = c
			nd++
			j++
			last = j
			continue
		case (c == ' ' || c == '-' || c == '.') && j+1 < len(s) && (isDigit(s[j+1]) || s[j+1] == '('):
			j++
			continue
		case c == '(' && !paren && j+1 < len(s) && isDigit(s[j+1]):
			paren = true
			j++
			continue
		case c == ')' && paren:
			paren = false
			j++
			continue
		}
		break
	}
	if !endOK(s, last) || !e164Plausible(d[:nd]) {
		return found{}
	}
	f := found{t: Phone, end: last, c: Likely}
	if k.hinted(hPhone) {
		f.c = Confirmed
	} else if k.leaf&hNeg != 0 {
		f.c = Possible
	}
	// NANP fictional 555-01xx
	f.ex = nd == 11 && d[0] == '1' && string(d[4:9]) == "55501"
	return f
}

// e164Plausible checks the total digit count for common country codes and
// 9-15 digits otherwise.
func e164Plausible(d []byte) bool {
	n := len(d)
	if n < 8 || n > 15 || d[0] == '0' || sameByte(d[1:]) {
		return false
	}
	if d[0] == '1' {
		return n == 11 && d[1] >= '2' && d[4] >= '2'
	}
	if d[0] == '7' {
		return n == 11
	}
	lo, hi := 0, 0
	switch num(d, 2) {
	case 44:
		lo, hi = 11, 12
	case 49:
		lo, hi = 10, 15
	case 33, 34, 31, 41, 48, 61, 27, 40:
		lo, hi = 11, 11
	case 39, 43, 62:
		lo, hi = 10, 13
	case 32, 36, 51, 64, 66:
		lo, hi = 10, 11
	case 45, 47, 65:
		lo, hi = 10, 10
	case 46:
		lo, hi = 9, 12
	case 81, 20:
		lo, hi = 11, 12
	case 82, 84, 60:
		lo, hi = 10, 12
	case 86, 55, 54:
		lo, hi = 12, 13
	case 91, 52, 90, 63, 30, 57, 58:
		lo, hi = 12, 12
	default:
		lo, hi = 9, 15
	}
	return n >= lo && n <= hi
}

var fileExt = []string{"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "bmp",
	"tif", "tiff", "mp4", "mp3", "pdf", "json", "html", "htm", "xml", "txt", "woff", "woff2", "ttf", "avif", "heic"}

// fileExtSet holds fileExt packed by packLower, by open addressing
// (fileExtSlot): an email's TLD is checked with a multiply and a compare
// or two instead of a folded compare per extension.
var fileExtSet = func() (t [64]uint64) {
	for _, e := range fileExt {
		w, _ := packLower([]byte(e))
		i := fileExtSlot(w)
		for t[i] != 0 {
			i = (i + 1) & 63
		}
		t[i] = w
	}
	return t
}()

func fileExtSlot(w uint64) uint64 { return (w * 0x9e3779b97f4a7c15) >> 58 }

// packLower packs up to 7 bytes of b, lower-cased, with its length in
// the top byte; two packed slices are equal exactly when the slices are
// equal ignoring ASCII case. ok is false for a longer b.
func packLower(b []byte) (w uint64, ok bool) {
	if len(b) > 7 {
		return 0, false
	}
	w = uint64(len(b)) << 56
	for i, c := range b {
		w |= uint64(lower(c)) << (8 * i)
	}
	return w, true
}

// isFileExt reports a TLD that is a file extension (icon@2x.png).
func isFileExt(tld []byte) bool {
	w, ok := packLower(tld)
	if !ok {
		return false // longer than every extension
	}
	for i := fileExtSlot(w); fileExtSet[i] != 0; i = (i + 1) & 63 {
		if fileExtSet[i] == w {
			return true
		}
	}
	return false
}

// emailAt: local part s[i:at], then a domain with an alphabetic TLD.
func emailAt(s []byte, i, at int, k *keyCtx) found {
	local := s[i:at]
	if len(local) > 64 || local[len(local)-1] == '.' || hasDoubleDot(local) {
		return found{}
	}
	j := at + 1
	labelStart := j
	dots := 0
	lastDot := -1
	for j < len(s) {
		c := s[j]
		if isAlnum(c) || c == '-' {
			j++
			continue
		}
		if c == '.' && j > labelStart && j+1 < len(s) && isAlnum(s[j+1]) {
			if s[j-1] == '-' {
				return found{}
			}
			lastDot = j
			dots++
			j++
			labelStart = j
			continue
		}
		break
	}
	if dots == 0 || j-at-1 > 253 || s[at+1] == '-' || s[j-1] == '-' {
		return found{}
	}
	tld := s[lastDot+1 : j]
	if len(tld) < 2 || len(tld) > 24 {
		return found{}
	}
	for _, c := range tld {
		if !isAlpha(c) {
			return found{}
		}
	}
	if isFileExt(tld) {
		return found{}
	}
	if j < len(s) && (s[j] == '@' || s[j] == '_') {
		return found{}
	}
	dom := s[at+1 : j]
	if equalFold(local, "git") {
		return found{} // git@github.com: an SSH remote, not a mailbox
	}
	f := found{t: Email, end: j, c: Likely, ex: exampleDomain(dom)}
	if k.hinted(hEmail) {
		f.c = Confirmed
	}
	return f
}

// hasDoubleDot is bytes.Contains(b, ".."), cheaper on a short local part.
func hasDoubleDot(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] == '.' && b[i-1] == '.' {
			return true
		}
	}
	return false
}

// exampleDomain: example.com, .org and .net, test.com and domain.com with
// their subdomains, and the reserved TLDs .test, .example, .invalid,
// .localhost and .local. Only the last two labels decide.
func exampleDomain(dom []byte) bool {
	rest, tld := cutLastLabel(dom)
	if len(rest) == 0 {
		return false
	}
	switch len(tld) {
	case 3:
		_, sld := cutLastLabel(rest)
		switch {
		case equalFold(tld, "com"):
			return equalFold(sld, "example") || equalFold(sld, "test") || equalFold(sld, "domain")
		case equalFold(tld, "org"), equalFold(tld, "net"):
			return equalFold(sld, "example")
		case equalFold(tld, "tld"):
			return true // user@domain.tld: a placeholder, .tld is not delegated
		}
	case 4:
		return equalFold(tld, "test")
	case 5:
		return equalFold(tld, "local")
	case 7:
		return equalFold(tld, "example") || equalFold(tld, "invalid")
	case 9:
		return equalFold(tld, "localhost")
	}
	return false
}

// cutLastLabel splits a domain at its last dot (rest is nil without one).
func cutLastLabel(dom []byte) (rest, label []byte) {
	for i := len(dom) - 1; i >= 0; i-- {
		if dom[i] == '.' {
			return dom[:i], dom[i+1:]
		}
	}
	return nil, dom
}

// wordAt dispatches letter-led runs on their first bytes.
func wordAt(s []byte, i, j int, k *keyCtx) found {
	t := s[i:]
	if j < len(s) && s[j] == ':' && hasPrefix(s[j:], "://") {
		if f := connAt(s, i, j); f.end > 0 {
			return f
		}
	}
	switch t[0] {
	case 'A':
		if hasPrefix(t, "AKIA") || hasPrefix(t, "ASIA") || hasPrefix(t, "ABIA") || hasPrefix(t, "ACCA") {
			return awsKeyAt(s, i)
		}
		if hasPrefix(t, "AIza") {
			return exactToken(s, i, 4, 35, isB64URL, APIKey)
		}
	case 'e':
		if hasPrefix(t, "eyJ") {
			return jwtAt(s, i)
		}
	case 'g':
		if len(t) > 4 && t[1] == 'h' && t[3] == '_' {
			switch t[2] {
			case 'p', 'o', 'u', 's', 'r':
				return githubAt(s, i)
			}
		}
		if hasPrefix(t, "github_pat_") {
			f := exactToken(s, i, 11, 82, isWord, GitHubToken)
			if f.end > 0 && s[i+11+22] != '_' {
				return found{}
			}
			return f
		}
		if hasPrefix(t, "glpat-") {
			return rangeToken(s, i, 6, 20, 64, isB64URL, APIKey, Confirmed)
		}
	case 's', 'r':
		if hasPrefix(t, "sk_live_") || hasPrefix(t, "sk_test_") || hasPrefix(t, "rk_live_") || hasPrefix(t, "rk_test_") {
			return rangeToken(s, i, 8, 10, 247, isAlnum, APIKey, Confirmed)
		}
		if hasPrefix(t, "sk-") {
			f := rangeToken(s, i, 3, 32, 256, isB64URL, APIKey, Likely)
			if f.end > 0 && (bytes.Contains(s[i:f.end], []byte("T3BlbkFJ")) || hasPrefix(t, "sk-proj-") ||
				hasPrefix(t, "sk-ant-") || hasPrefix(t, "sk-svcacct-") || hasPrefix(t, "sk-admin-")) {
				f.c = Confirmed
			}
			return f
		}
		if hasPrefix(t, "shpat_") || hasPrefix(t, "shpss_") || hasPrefix(t, "shpca_") || hasPrefix(t, "shppa_") {
			return exactToken(s, i, 6, 32, isHexAny, APIKey)
		}
	case 'x':
		if len(t) > 5 && hasPrefix(t, "xox") && t[4] == '-' {
			switch t[3] {
			case 'b', 'p', 'a', 'r', 's', 'o':
				return rangeToken(s, i, 5, 10, 250, isSlack, APIKey, Confirmed)
			}
		}
	case 'S':
		if hasPrefix(t, "SG.") {
			f := exactToken(s, i, 3, 66, isSendGrid, APIKey)
			if f.end > 0 && s[i+3+22] != '.' {
				return found{}
			}
			return f
		}
		if hasPrefix(t, "SK") && (k.has(hAPIKey | hToken | hPassword)) {
			return exactToken(s, i, 2, 32, isHexLow, APIKey)
		}
	case 'n':
		if hasPrefix(t, "npm_") {
			return exactToken(s, i, 4, 36, isAlnum, APIKey)
		}
	case 'h':
		if hasPrefix(t, "hf_") {
			return exactToken(s, i, 3, 34, isAlpha, APIKey)
		}
	case 'd':
		if hasPrefix(t, "dapi") {
			return exactToken(s, i, 4, 32, isHexLow, APIKey)
		}
		if len(t) > 7 && t[1] == 'o' && (t[2] == 'p' || t[2] == 'o' || t[2] == 'r') && hasPrefix(t[3:], "_v1_") {
			return exactToken(s, i, 7, 64, isHexLow, APIKey)
		}
	case 'p':
		if hasPrefix(t, "pypi-AgEIcHlwaS5vcmc") {
			return rangeToken(s, i, 20, 50, 400, isB64URL, APIKey, Confirmed)
		}
	}
	if len(t) >= 15 && isUpper(t[0]) && isUpper(t[1]) && isDigit(t[2]) && isDigit(t[3]) {
		return ibanAt(s, i)
	}
	return found{}
}

func isWord(c byte) bool     { return isAlnum(c) || c == '_' }
func isHexAny(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isSlack(c byte) bool    { return isAlnum(c) || c == '-' }
func isSendGrid(c byte) bool { return isB64URL(c) || c == '.' }

// exactToken: prefix of pre bytes, then exactly n bytes of class ok, then a
// boundary.
func exactToken(s []byte, i, pre, n int, ok func(byte) bool, t Type) found {
	e := i + pre + n
	if e > len(s) || (e < len(s) && ok(s[e])) {
		return found{}
	}
	for _, c := range s[i+pre : e] {
		if !ok(c) {
			return found{}
		}
	}
	return found{t: t, end: e, c: Confirmed, ex: placeholderBody(s[i+pre : e])}
}

// rangeToken: prefix, then lo..hi bytes of class ok.
func rangeToken(s []byte, i, pre, lo, hi int, ok func(byte) bool, t Type, c Confidence) found {
	e := i + pre
	for e < len(s) && ok(s[e]) {
		e++
	}
	if n := e - i - pre; n < lo || n > hi {
		return found{}
	}
	return found{t: t, end: e, c: c, ex: placeholderBody(s[i+pre : e])}
}

// placeholderBody: xxxx, 0000, your_key_here, EXAMPLE: documentation tokens.
func placeholderBody(b []byte) bool {
	if len(b) >= 4 && (sameByte(b) || sameByte(b[len(b)-4:])) {
		return true
	}
	return containsFold(b, "example") || containsFold(b, "xxxx") || containsFold(b, "your") ||
		containsFold(b, "dummy") || containsFold(b, "redacted")
}

func containsFold(b []byte, p string) bool {
	for i := 0; i+len(p) <= len(b); i++ {
		if hasPrefixFold(b[i:], p) {
			return true
		}
	}
	return false
}

func awsKeyAt(s []byte, i int) found {
	f := exactToken(s, i, 4, 16, func(c byte) bool { return isUpper(c) || (c >= '2' && c <= '7') }, AWSAccessKey)
	if f.end > 0 && (i+20 < len(s) && isAlnum(s[i+20])) {
		return found{}
	}
	return f
}

func githubAt(s []byte, i int) found {
	f := exactToken(s, i, 4, 36, isAlnum, GitHubToken)
	if f.end == 0 {
		return f
	}
	want := githubChecksum(s[i+4 : i+34])
	if string(want[:]) != string(s[i+34:i+40]) {
		f.c = Possible // a docs example or a mangled token
		f.ex = true
	}
	return f
}

// jwtAt: header.payload.signature, base64url, header decoding to JSON with
// "alg", payload a JSON object.
func jwtAt(s []byte, i int) found {
	e := i
	for e < len(s) && isB64URL(s[e]) {
		e++
	}
	h := s[i:e]
	if len(h) < 10 || e >= len(s) || s[e] != '.' {
		return found{}
	}
	p := e + 1
	if !hasPrefix(s[p:], "eyJ") {
		return found{}
	}
	e = p
	for e < len(s) && isB64URL(s[e]) {
		e++
	}
	if e >= len(s) || s[e] != '.' {
		return found{}
	}
	e++
	for e < len(s) && isB64URL(s[e]) {
		e++
	}
	if e < len(s) && (s[e] == '.' || s[e] == '=') || !jwtHeaderOK(h) {
		return found{}
	}
	// the jwt.io sample and its payload
	ex := hasPrefix(s[p:], "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi")
	return found{t: JWT, end: e, c: Confirmed, ex: ex}
}

// pemAt: -----BEGIN [RSA |EC |...]PRIVATE KEY[ BLOCK]----- body -----END ...-----
func pemAt(s []byte, i int) found {
	t := s[i+len("-----BEGIN "):]
	lab := bytes.Index(t, []byte("-----"))
	if lab < len("PRIVATE KEY") || lab > 40 {
		return found{}
	}
	label := t[:lab]
	if !bytes.HasSuffix(label, []byte("PRIVATE KEY")) && !bytes.HasSuffix(label, []byte("PRIVATE KEY BLOCK")) {
		return found{}
	}
	body := t[lab+5:]
	start := i + len("-----BEGIN ") + lab + 5
	endm := bytes.Index(body, []byte("-----END "))
	f := found{t: PrivateKey, c: Confirmed}
	if endm < 0 {
		// truncated: the base64 run that follows
		e := 0
		for e < len(body) && (isAlnum(body[e]) || body[e] == '+' || body[e] == '/' || body[e] == '=' ||
			body[e] == '\n' || body[e] == '\r' || body[e] == '\\' || body[e] == ' ') {
			e++
		}
		endm = e
		f.c = Likely
		f.end = start + e
	} else {
		close := bytes.Index(body[endm+9:], []byte("-----"))
		if close < 0 || close > 40 {
			return found{}
		}
		f.end = start + endm + 9 + close + 5
	}
	n := 0
	for _, c := range body[:endm] {
		if isAlnum(c) || c == '+' || c == '/' {
			n++
		}
	}
	if n < 64 {
		return found{}
	}
	f.ex = containsFold(body[:endm], "example") || containsFold(body[:endm], "...")
	return f
}

var connSchemes = []string{"postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv",
	"redis", "rediss", "amqp", "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse",
	"ftp", "sftp", "smtp", "smtps", "ldap", "ldaps", "http", "https", "nats", "kafka", "memcached",
	"couchdb", "neo4j", "neo4j+s", "bolt", "cassandra", "elasticsearch", "jdbc:postgresql", "jdbc:mysql"}

// authByte classifies the bytes of a URL's authority for connAt: 0 for
// an ordinary byte, so that the common URL (a host, no userinfo) costs one
// table lookup per byte.
var authByte = func() (t [256]uint8) {
	for c := 0; c < ' '; c++ {
		t[c] = authEnd
	}
	for _, c := range "/?# \"'<>" {
		t[c] = authEnd
	}
	t[':'], t['@'] = authColon, authAt
	return t
}()

const (
	authEnd = iota + 1
	authColon
	authAt
)

// connAt: scheme://user:pass@host with a non-empty password.
func connAt(s []byte, i, j int) found {
	u := j + 3
	e := u
	colon, at := -1, -1
scan:
	for ; e < len(s); e++ {
		switch authByte[s[e]] {
		case authEnd:
			break scan
		case authColon:
			if colon < 0 && at < 0 {
				colon = e
			}
		case authAt:
			at = e
		}
	}
	if colon < 0 || at < colon || at == colon+1 || at+1 >= e || !isAlnum(s[at+1]) {
		return found{}
	}
	ok := false
	for _, sc := range connSchemes {
		if equalFold(s[i:j], sc) {
			ok = true
			break
		}
	}
	if !ok {
		return found{}
	}
	for e < len(s) && s[e] > ' ' && s[e] != '"' && s[e] != '\'' && s[e] != '<' && s[e] != '>' {
		e++
	}
	return found{t: ConnectionString, end: e, c: Confirmed, ex: isPlaceholder(s[colon+1 : at])}
}

// ibanAt: compact or in groups of four separated by one space or dash.
func ibanAt(s []byte, i int) found {
	var b [34]byte
	var gl [10]uint8 // compact length at each group end
	var ge [10]int32 // byte offset at each group end
	n, ng, e := 0, 0, i
	sep := byte(0)
	for e < len(s) {
		c := s[e]
		if isUpper(c) || isDigit(c) {
			if n == len(b) {
				return found{}
			}
			b[n] = c
			n++
			e++
			continue
		}
		if (c == ' ' || c == '-') && e+1 < len(s) && (isUpper(s[e+1]) || isDigit(s[e+1])) && ng < len(gl)-1 {
			if sep == 0 {
				sep = c
			} else if sep != c {
				break
			}
			gl[ng], ge[ng] = uint8(n), int32(e)
			ng++
			e++
			continue
		}
		break
	}
	gl[ng], ge[ng] = uint8(n), int32(e)
	ng++
	for g := ng; g >= 1; g-- {
		n, e := int(gl[g-1]), int(ge[g-1])
		if n < 15 {
			break
		}
		if !endOK(s, e) && g == ng {
			return found{}
		}
		if g > 1 {
			good := true
			prev := 0
			for x := 0; x < g; x++ {
				l := int(gl[x]) - prev
				prev = int(gl[x])
				if (x < g-1 && l != 4) || l < 1 || l > 4 {
					good = false
					break
				}
			}
			if !good {
				continue
			}
		}
		if ibanValid(b[:n]) {
			return found{t: IBAN, end: e, c: Confirmed, ex: ibanExample(b[:n])}
		}
	}
	return found{}
}
