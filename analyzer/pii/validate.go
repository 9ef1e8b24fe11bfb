package pii

import (
	"encoding/base64"
	"hash/crc32"
	"math"
)

// Validators work on byte slices the scanner already delimited; none
// allocates.

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool  { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool  { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool  { return isDigit(c) || isAlpha(c) }
func isHexLow(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') }
func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s starts with the lower-case ASCII p,
// ignoring case.
func hasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

func hasPrefix(s []byte, p string) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }

func equalFold(s []byte, p string) bool { return len(s) == len(p) && hasPrefixFold(s, p) }

// luhn checks the mod-10 check digit of an all-digit slice.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func num(d []byte, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// cardIssuer checks the IIN range and the length allowed for that brand.
func cardIssuer(d []byte) bool {
	n := len(d)
	if n < 12 || n > 19 {
		return false
	}
	p1, p2, p3, p4, p6 := num(d, 1), num(d, 2), num(d, 3), num(d, 4), num(d, 6)
	switch {
	case p1 == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // Amex
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners
		return n >= 14
	case p2 == 62: // UnionPay
		return n >= 16
	case p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 ||
		p4 == 6759 || p4 == 6761 || p4 == 6762 || p4 == 6763: // Maestro
		return n >= 12
	}
	return false
}

// testCards are the documented test PANs (Stripe, Braintree, Adyen docs).
var testCards = []string{"4111111111111111", "4242424242424242", "4000056655665556",
	"5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
	"378282246310005", "371449635398431", "6011111111111117", "6011000990139424",
	"3530111333300000", "3566002020360505", "30569309025904", "38520000023237",
	"6200000000000005", "4012888888881881", "4222222222222", "5454545454545454",
	"4000000000000002", "4000000000000077", "4000000000000127", "36227206271667"}

func isTestCard(d []byte) bool {
	for _, t := range testCards {
		if string(d) == t {
			return true
		}
	}
	return sameByte(d)
}

func sameByte(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] != b[0] {
			return false
		}
	}
	return len(b) > 0
}

// ssnValid applies the SSA rules to 9 digits.
func ssnValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area, group, serial := num(d, 3), num(d[3:], 2), num(d[5:], 4)
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	return !sameByte(d)
}

// ssnExample: SSA-published or famously misused numbers.
func ssnExample(d []byte) bool {
	switch string(d) {
	case "078051120", "219099999", "123456789", "111223333":
		return true
	}
	return false
}

// ibanLen is the ISO 13616 registry length per country.
var ibanLen = map[[2]byte]uint8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28,
	{'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27,
	{'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18,
	{'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23,
	{'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'N'}: 28, {'H', 'R'}: 21, {'H', 'U'}: 28,
	{'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30,
	{'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20,
	{'L', 'U'}: 20, {'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22,
	{'M', 'K'}: 19, {'M', 'N'}: 20, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28,
	{'N', 'L'}: 18, {'N', 'O'}: 15, {'O', 'M'}: 23, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29,
	{'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'R', 'U'}: 33, {'S', 'A'}: 24,
	{'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24, {'S', 'M'}: 27,
	{'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26,
	{'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// ibanNumericBBAN lists countries whose BBAN is digits only, a cheap part
// of the per-country format that removes most random mod-97 passes.
var ibanNumericBBAN = map[[2]byte]bool{
	{'A', 'T'}: true, {'B', 'A'}: true, {'B', 'E'}: true, {'C', 'Z'}: true, {'D', 'E'}: true,
	{'D', 'K'}: true, {'E', 'E'}: true, {'E', 'S'}: true, {'F', 'I'}: true, {'F', 'O'}: true,
	{'G', 'L'}: true, {'H', 'R'}: true, {'H', 'U'}: true, {'I', 'L'}: true, {'L', 'T'}: true,
	{'M', 'E'}: true, {'N', 'O'}: true, {'P', 'L'}: true, {'P', 'T'}: true, {'R', 'S'}: true,
	{'S', 'E'}: true, {'S', 'I'}: true, {'S', 'K'}: true, {'T', 'N'}: true, {'X', 'K'}: true,
}

// ibanLetterBank: four letters of bank code, then digits.
var ibanLetterBank = map[[2]byte]bool{{'G', 'B'}: true, {'I', 'E'}: true, {'N', 'L'}: true}

// ibanValid checks a compact upper-case IBAN: country, length, format, mod 97.
func ibanValid(s []byte) bool {
	if len(s) < 15 || len(s) > 34 || !isUpper(s[0]) || !isUpper(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	cc := [2]byte{s[0], s[1]}
	if int(ibanLen[cc]) != len(s) {
		return false
	}
	if ck := num(s[2:], 2); ck < 2 || ck > 98 {
		return false
	}
	bban := s[4:]
	for i, c := range bban {
		switch {
		case isDigit(c):
			if ibanLetterBank[cc] && i < 4 {
				return false
			}
		case isUpper(c):
			if ibanNumericBBAN[cc] || (ibanLetterBank[cc] && i >= 4) {
				return false
			}
		default:
			return false
		}
	}
	rem := 0
	for i := 0; i < len(s); i++ {
		c := s[(i+4)%len(s)]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	return rem == 1
}

// ibanExample: the SWIFT registry's example IBANs.
func ibanExample(s []byte) bool {
	switch string(s) {
	case "DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
		"NL91ABNA0417164300", "GB29NWBK60161331926819", "CH9300762011623852957":
		return true
	}
	return false
}

// abaValid checks the 3-7-1 weighted ABA routing checksum.
func abaValid(d []byte) bool {
	if len(d) != 9 || sameByte(d) {
		return false
	}
	w := [3]int{3, 7, 1}
	s := 0
	for i, c := range d {
		s += int(c-'0') * w[i%3]
	}
	return s%10 == 0
}

// jwtHeaderOK base64url-decodes the header and looks for a JSON object with
// "alg"; the payload must be a JSON object too (starts with eyJ, checked by
// the caller).
func jwtHeaderOK(h []byte) bool {
	var buf [384]byte
	if len(h) > 512 {
		return false
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], h)
	if err != nil {
		return false
	}
	b := buf[:n]
	if len(b) < 9 || b[0] != '{' {
		return false
	}
	for i := 0; i+5 <= len(b); i++ {
		if string(b[i:i+5]) == `"alg"` {
			return true
		}
	}
	return false
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// githubChecksum is the 6-char base62 CRC32 tail of a classic GitHub token
// body (30 random chars).
func githubChecksum(body []byte) [6]byte {
	v := crc32.ChecksumIEEE(body)
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return out
}

// entropy is the Shannon entropy in bits per byte.
func entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]uint16
	for _, c := range s {
		counts[c]++
	}
	n := float64(len(s))
	e := 0.0
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}
