package route

// Class is the token class of one path segment. Every class but Word is an
// identifier shape: a segment of such a class is a parameter at once,
// whatever the statistics say. Words (users, search, octocat, kube-system)
// are parameters only when the learned statistics of their position say so.
type Class uint8

// The classes, most specific first in classify's order.
const (
	Word     Class = iota
	Integer        // 42, 000123
	Number         // 1.5, 10.0.0.1, 12:30 (digits with . : - only)
	UUID           // 8-4-4-4-12 hex
	ObjectID       // 24 hex (MongoDB ObjectId)
	MD5            // 32 hex
	SHA1           // 40 hex (git commit)
	SHA256         // 64 hex
	Hex            // other hex runs of 7+ with letters and digits (short shas)
	Date           // 2024-05-01, 20240501, 2024-05-01T10:00:00Z
	Email          // someone@example.com (or %40)
	Semver         // 1.4.2, v2.0.0-rc.1 (release and package versions)
	Code           // ORD-2024-000123, SKU-84721-B: business ids with a digit run
	Token          // long mixed tokens: base64url ids, prefixed ids, random strings
)

var classNames = [...]string{
	Word: "word", Integer: "integer", Number: "number", UUID: "uuid",
	ObjectID: "objectid", MD5: "md5", SHA1: "sha1", SHA256: "sha256", Hex: "hex",
	Date: "date", Email: "email", Semver: "semver", Code: "code", Token: "token",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// reason is the Param.Reason of a class ("class:uuid").
var classReasons = func() (r [len(classNames)]string) {
	for i, n := range classNames {
		r[i] = "class:" + n
	}
	return r
}()

// Classify returns the token class of one path segment (without its
// format extension; see Template). It does not allocate.
func Classify(s string) Class {
	n := len(s)
	if n == 0 {
		return Word
	}
	var digits, upper, lower, hexLetters, seps, dots, other, runs, maxRun, run int
	at := -1
	for i := 0; i < n; i++ {
		c := s[i]
		isDigit := c >= '0' && c <= '9'
		switch {
		case isDigit:
			digits++
		case c >= 'a' && c <= 'z':
			lower++
			if c <= 'f' {
				hexLetters++
			}
		case c >= 'A' && c <= 'Z':
			upper++
			if c <= 'F' {
				hexLetters++
			}
		case c == '-' || c == '_':
			seps++
		case c == '.':
			dots++
		case c == '@':
			if at < 0 {
				at = i
			}
			other++
		default:
			other++
		}
		if isDigit {
			if run == 0 {
				runs++
			}
			run++
			if run > maxRun {
				maxRun = run
			}
		} else {
			run = 0
		}
	}
	letters := upper + lower
	switch {
	case digits == n:
		if n == 8 && isDate8(s) {
			return Date
		}
		return Integer
	case isEmail(s, at):
		return Email
	case isDate(s):
		return Date
	case other > 0:
		return Word // %-escapes, '+', ':', '~' …: names and words, not id shapes
	case n == 36 && isUUID(s):
		return UUID
	}
	if letters == 0 {
		// digits with separators: 1.5, 10.0.0.1, 2024-05 (not a date above)
		if digits >= 2 {
			if dots == 2 && isSemver(s) {
				return Semver
			}
			return Number
		}
		return Word
	}
	if digits > 0 && digits+hexLetters == n {
		switch n {
		case 24:
			return ObjectID
		case 32:
			return MD5
		case 40:
			return SHA1
		case 64:
			return SHA256
		}
		if n >= 16 || n >= 7 && digits >= 2 && hexLetters >= 1 {
			return Hex
		}
	}
	if dots >= 2 && isSemver(s) {
		return Semver
	}
	if digits >= 3 && maxRun >= 3 && seps > 0 && isCode(s) {
		return Code
	}
	if isToken(s, n, digits, runs, upper, lower, letters) {
		return Token
	}
	return Word
}

// isToken reports a long token that mixes character kinds the way generated
// identifiers do and words do not.
func isToken(s string, n, digits, runs, upper, lower, letters int) bool {
	switch {
	case n < 8:
		return false
	case digits >= 2 && letters > 0 && (runs >= 2 || digits*3 >= n):
		return true // a1b2c3d4, x7k2m9q3, CA0f3e… (Twilio SIDs), cs_live_a1…
	case n >= 16 && digits > 0 && upper > 0 && lower > 0:
		return true // base64url: dQw4w9WgXcQ-like, nanoid
	}
	// Prefixed ids (Stripe cus_NffrFeUfNV2Hib): a short lowercase prefix,
	// '_', then a random mixed-case run. About one random id in twelve has
	// no digit at all, so the case pattern decides.
	if i := prefixEnd(s); i > 0 && n-i >= 10 && (mixedCase(s[i:]) || randomCase(s[i:])) {
		return true
	}
	return n >= 12 && upper >= 3 && lower >= 3 && randomCase(s)
}

// prefixEnd returns the index after "prefix_" when s starts with 2–10
// lowercase letters and an underscore (Stripe, Slack, GitHub ghp_ tokens).
func prefixEnd(s string) int {
	for i := 0; i < len(s) && i <= 10; i++ {
		c := s[i]
		if c == '_' {
			if i >= 2 {
				return i + 1
			}
			return 0
		}
		if c < 'a' || c > 'z' {
			return 0
		}
	}
	return 0
}

// mixedCase reports upper and lower case letters after the first
// character: a random run after an id prefix (cus_NffrFeUfNVaHib), where
// route words after an underscore are lowercase (tax_ids).
func mixedCase(s string) bool {
	var up, lo bool
	for i := 1; i < len(s); i++ {
		c := s[i]
		up = up || c >= 'A' && c <= 'Z'
		lo = lo || c >= 'a' && c <= 'z'
	}
	return up && lo
}

// randomCase reports a run whose case changes too often to be camelCase:
// split at each uppercase letter, camelCase words give humps of about four
// letters or more (getUserById: 2.75, the short end), random base62 about
// two.
func randomCase(s string) bool {
	humps, letters, upper := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			humps++
			letters++
			upper++
		case c >= 'a' && c <= 'z':
			if i == 0 {
				humps++
			}
			letters++
		case c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	if upper < 3 || letters-upper < 3 {
		return false
	}
	return letters*10 < humps*25 // average hump < 2.5 letters
}

func isDate8(s string) bool { // YYYYMMDD, 1900–2099
	return (s[0] == '1' && s[1] == '9' || s[0] == '2' && s[1] == '0') &&
		month(s[4], s[5]) && day(s[6], s[7])
}

// isDate accepts YYYY-MM-DD optionally followed by a time (T… or _…).
func isDate(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if !month(s[5], s[6]) || !day(s[8], s[9]) {
		return false
	}
	return len(s) == 10 || s[10] == 'T' || s[10] == 't' || s[10] == '_'
}

func month(a, b byte) bool {
	return a == '0' && b >= '1' && b <= '9' || a == '1' && b >= '0' && b <= '2'
}
func day(a, b byte) bool {
	return a >= '0' && a <= '3' && b >= '0' && b <= '9' && !(a == '0' && b == '0') && !(a == '3' && b > '1')
}

func isUUID(s string) bool {
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isEmail(s string, at int) bool {
	if at <= 0 {
		// percent-encoded @
		for i := 1; i+3 < len(s); i++ {
			if s[i] == '%' && s[i+1] == '4' && s[i+2] == '0' {
				at = i + 2
				break
			}
		}
		if at <= 0 {
			return false
		}
	}
	for i := at + 2; i < len(s)-1; i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// isSemver accepts [v]MAJOR.MINOR.PATCH with an optional -pre or +build.
func isSemver(s string) bool {
	i := 0
	if s[0] == 'v' || s[0] == 'V' {
		i = 1
	}
	for part := 0; part < 3; part++ {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
		if part < 2 {
			if i >= len(s) || s[i] != '.' {
				return false
			}
			i++
		}
	}
	return i == len(s) || s[i] == '-' || s[i] == '+'
}

// isCode accepts business identifiers: parts separated by '-' or '_', at
// least one all-digit part of 3+ digits, and letter parts short (ORD, SKU,
// B) — not words like iso-8601-compliant's "compliant".
func isCode(s string) bool {
	longDigits := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' && s[i] != '_' {
			continue
		}
		part := s[start:i]
		start = i + 1
		if part == "" {
			continue
		}
		var d, l int
		for j := 0; j < len(part); j++ {
			if part[j] >= '0' && part[j] <= '9' {
				d++
			} else {
				l++
			}
		}
		switch {
		case l == 0 && d >= 3:
			longDigits = true
		case l > 4 && d == 0:
			return false
		}
	}
	return longDigits
}
