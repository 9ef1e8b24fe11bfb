package pii

// Shapes in which the scanner cannot find anything. The commonest leaves
// of API bodies after words and numbers are ids and timestamps; the
// scanner would walk each as one or three long runs, try the card, SSN and
// IPv4 validators on them and reject everything. scanFree recognises them
// by position and byte class, and value then goes straight to the key
// rules (context), which still see them: a UUID under "session_token" is
// a token. Why the scanner finds nothing in each shape is argued at the
// shape; TestScanFreeShapes checks it on generated values of every shape,
// under every kind of key. The country IDs are not covered: with any of
// them on, every value is scanned.

// scanFree reports a value that scan cannot match, whatever the key.
func scanFree(v []byte) bool {
	switch n := len(v); {
	case n == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-':
		return uuidShape(v)
	case n >= 16 && n <= 35 && v[4] == '-' && isDigit(v[0]):
		return timestampShape(v)
	case n >= 16 && n <= 64 && (isDigit(v[0]) || v[0] >= 'a' && v[0] <= 'f'):
		return hexIDShape(v)
	}
	return false
}

// uuidShape: 8-4-4-4-12 hex digits (either case; the dashes are checked
// by the caller). One run for the scanner. Digit-led: a card needs 12
// digits either in one group (the first has 8) or in groups of 4 (the
// first has 8); an SSN needs an 11-byte run, an IPv4 address a dot.
// Letter-led: no token prefix is hex but ACCA (an AWS key: 16 key bytes
// after it, where the UUID has a dash), and an IBAN needs groups of 4
// after its first (8 here). No '@', '+', ':' or "-----".
func uuidShape(v []byte) bool {
	return allHex(v[:8]) && allHex(v[9:13]) && allHex(v[14:18]) && allHex(v[19:23]) && allHex(v[24:])
}

// hexClass: 1 for a digit, 2 for a lower-case hex letter, 4 for an
// upper-case one, 0 for any other byte.
var hexClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = 2, 4
	}
	return t
}()

func allHex(b []byte) bool {
	for _, c := range b {
		if hexClass[c] == 0 {
			return false
		}
	}
	return true
}

// timestampShape: ISO 8601 date and time,
// YYYY-MM-DD[T ]hh:mm[:ss[.fraction]][Z|±hh[:]mm], the fraction 1-9
// digits. The scanner's runs: "YYYY-MM-DDThh" or "YYYY-MM-DD" (8 digits:
// no card, no 11-byte run, no dot after 3 digits), then at most 17 bytes
// of digits with '.', 'Z', '+' or '-' (no card: a card's first group
// ends at the dot or sign, or has 4 digits at most; an IPv4 address would
// start with "00"-"59" and need 4 dotted parts; an SSN needs a '-' as its
// fourth byte, where these have a digit or the dot). A '+' follows a
// digit: never a phone's start.
func timestampShape(v []byte) bool {
	if !allDigits(v[:4]) || !allDigits(v[5:7]) || v[7] != '-' || !allDigits(v[8:10]) ||
		(v[10] != 'T' && v[10] != ' ') || !allDigits(v[11:13]) || v[13] != ':' || !allDigits(v[14:16]) {
		return false
	}
	r := v[16:]
	if len(r) >= 3 && r[0] == ':' && isDigit(r[1]) && isDigit(r[2]) {
		r = r[3:]
		if len(r) >= 2 && r[0] == '.' && isDigit(r[1]) {
			f := 1
			for f < len(r) && isDigit(r[f]) {
				f++
			}
			if f > 10 {
				return false
			}
			r = r[f:]
		}
	}
	switch len(r) {
	case 0:
		return true
	case 1:
		return r[0] == 'Z'
	case 5: // ±hhmm
		return (r[0] == '+' || r[0] == '-') && allDigits(r[1:])
	case 6: // ±hh:mm
		return (r[0] == '+' || r[0] == '-') && allDigits(r[1:3]) && r[3] == ':' && allDigits(r[4:])
	}
	return false
}

// hexIDShape: lower-case hex with at least one letter (a hash, an
// ObjectId, a request id). One run. Digit-led: the digits before the
// first letter are no card (a card must end at a non-alphanumeric byte),
// there is no '-' for an SSN nor '.' for an IPv4 address. Letter-led:
// no token prefix is lower-case hex (dapi and do*_v1_ are not), an IBAN
// starts with capitals.
func hexIDShape(v []byte) bool {
	var seen uint8
	for _, c := range v {
		k := hexClass[c]
		if k&3 == 0 {
			return false
		}
		seen |= k
	}
	return seen&2 != 0
}
