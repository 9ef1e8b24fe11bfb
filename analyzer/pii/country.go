package pii

import (
	"fmt"
	"strings"
)

// Country IDs, enabled per deployment (Config.CountryIDs). Every type has
// a checksum or a structure as strict as one; the rules for precision:
//
//   - a distinctive format (UK NINO, India PAN, Spanish NIE, DNI with its
//     letter, CPF written 000.000.000-00) passing its check is found by the
//     scanner, in leaves and in text: likely; confirmed under its key hint
//     or a generic one (tax_id, national_id); possible under a negative key
//     (order_id, reference);
//   - a bare digit string (NHS 10, SIN 9, CPF 11, Aadhaar 12 digits, bare
//     or in the type's groups) passing its checksum is reported only as a
//     whole leaf under the type's own key hint: confirmed. A generic hint
//     is not enough: one random 10-digit number in eleven passes NHS mod 11.

// countryHints is the key context that confirms each type.
var countryHints = [numTypes]hint{
	UKNINO:      hNINO | hNatID,
	UKNHSNumber: hNHS,
	CASIN:       hSIN,
	INAadhaar:   hAadhaar,
	INPAN:       hPANIN | hNatID,
	ESDNI:       hES | hNatID,
	ESNIE:       hES | hNatID,
	BRCPF:       hCPF | hNatID,
}

func idBit(t Type) uint16 { return 1 << (t - UKNINO) }

// bareIDs are the types bareID looks for.
var bareIDs = idBit(UKNHSNumber) | idBit(CASIN) | idBit(INAadhaar) | idBit(BRCPF)

// countryIDs enables the listed types.
func (d *Detector) countryIDs(names []string) error {
	var on uint16
	for _, s := range names {
		n := strings.ToLower(strings.TrimSpace(s))
		if n == "all" {
			on = 1<<(numTypes-UKNINO) - 1
			continue
		}
		t, ok := ParseType(n)
		if !ok || t < UKNINO {
			var all []string
			for t := UKNINO; t < numTypes; t++ {
				all = append(all, t.String())
			}
			return fmt.Errorf("pii: country_ids: %q is not a country ID (%s, or all)", s, strings.Join(all, ", "))
		}
		on |= idBit(t)
	}
	for t := UKNINO; t < numTypes; t++ {
		if on&idBit(t) == 0 {
			d.off[t] = true
		} else if !d.off[t] {
			d.ids |= idBit(t)
		}
	}
	return nil
}

func (d *Detector) idOn(t Type) bool { return d.ids&idBit(t) != 0 }

// idConf: confirmed under the type's hint, possible under a negative key,
// likely otherwise.
func idConf(k *keyCtx, t Type) Confidence {
	switch {
	case k.hinted(countryHints[t]):
		return Confirmed
	case k.leaf&hNeg != 0:
		return Possible
	}
	return Likely
}

// idEnd: an ID ends at the end of s or before a byte that cannot continue
// a token ("AB123456C." ends a sentence; "AB123456C.pdf" and
// "AB123456C_v2" are something else).
func idEnd(s []byte, e int) bool {
	if e >= len(s) {
		return true
	}
	c := s[e]
	if isAlnum(c) || c == '_' {
		return false
	}
	return !((c == '-' || c == '.' || c == '/') && e+1 < len(s) && isAlnum(s[e+1]))
}

// idWordAt tries the letter-led IDs at s[i:] (the run ends at j).
func (d *Detector) idWordAt(s []byte, i, j int, k *keyCtx) found {
	c := s[i]
	if !isUpper(c) || i+9 > len(s) {
		return found{}
	}
	if (c == 'X' || c == 'Y' || c == 'Z') && d.idOn(ESNIE) {
		if e, ex := nieAt(s, i); e > 0 {
			return found{t: ESNIE, end: e, c: idConf(k, ESNIE), ex: ex}
		}
	}
	if !isUpper(s[i+1]) {
		return found{}
	}
	if d.idOn(UKNINO) && (j-i == 2 || j-i >= 9) {
		if e, ex := ninoAt(s, i); e > 0 {
			return found{t: UKNINO, end: e, c: idConf(k, UKNINO), ex: ex}
		}
	}
	if d.idOn(INPAN) && j-i >= 10 {
		if e := panAt(s, i); e > 0 {
			return found{t: INPAN, end: e, c: idConf(k, INPAN)}
		}
	}
	return found{}
}

// idDigitAt tries the digit-led IDs with a distinctive format: the DNI with
// its letter and the formatted CPF.
func (d *Detector) idDigitAt(s []byte, i, j int, k *keyCtx) found {
	if j-i >= 8 && d.idOn(ESDNI) {
		if e, ex := dniAt(s, i); e > 0 {
			return found{t: ESDNI, end: e, c: idConf(k, ESDNI), ex: ex}
		}
	}
	if j-i >= 14 && d.idOn(BRCPF) && s[i+3] == '.' {
		if e, ex := cpfFormattedAt(s, i); e > 0 {
			return found{t: BRCPF, end: e, c: idConf(k, BRCPF), ex: ex}
		}
	}
	return found{}
}

// bareID: a whole leaf of 9-14 bytes that is one of the digit-only IDs,
// under that type's own key hint. Checksum first, hint second: parents
// are read only for a value that passes.
func (d *Detector) bareID(k *keyCtx, v []byte) found {
	var dg [12]byte
	var glen [4]uint8
	nd, ng := 0, 0
	sep := byte(0)
	run := 0
	for _, c := range v {
		if isDigit(c) {
			if nd == len(dg) {
				return found{}
			}
			dg[nd] = c
			nd++
			run++
			continue
		}
		if c != ' ' && c != '-' || run == 0 || ng == len(glen)-1 || (sep != 0 && c != sep) {
			return cpfLeaf(d, k, v)
		}
		sep = c
		glen[ng] = uint8(run)
		ng++
		run = 0
	}
	if run == 0 {
		return found{}
	}
	glen[ng] = uint8(run)
	ng++
	g := 0 // the group lengths, when there are three: 0x030304 is 3-3-4
	if ng == 3 {
		g = int(glen[0])<<16 | int(glen[1])<<8 | int(glen[2])
	}
	var t Type
	switch {
	case nd == 9 && (ng == 1 || g == 0x030303):
		t = CASIN
		if !d.idOn(t) || !sinValid(dg[:9]) {
			return found{}
		}
	case nd == 10 && (ng == 1 || g == 0x030304):
		t = UKNHSNumber
		if !d.idOn(t) || !nhsValid(dg[:10]) {
			return found{}
		}
	case nd == 11 && ng == 1:
		t = BRCPF
		if !d.idOn(t) || !cpfValid(dg[:11]) {
			return found{}
		}
	case nd == 12 && (ng == 1 || g == 0x040404):
		t = INAadhaar
		if !d.idOn(t) || !aadhaarValid(dg[:12]) {
			return found{}
		}
	default:
		return found{}
	}
	if !k.hinted(countryHints[t] &^ hNatID) {
		return found{}
	}
	return found{t: t, end: len(v), c: Confirmed, ex: idExample(t, dg[:nd])}
}

// cpfLeaf: a whole leaf written 000.000.000-00 under a CPF hint (the
// scanner finds it too, at the same tier; here it wins over anything else
// the scanner might read in it).
func cpfLeaf(d *Detector, k *keyCtx, v []byte) found {
	if len(v) != 14 || !d.idOn(BRCPF) {
		return found{}
	}
	e, ex := cpfFormattedAt(v, 0)
	if e == 0 || !k.hinted(hCPF) {
		return found{}
	}
	return found{t: BRCPF, end: e, c: Confirmed, ex: ex}
}

// ninoAt reads a UK National Insurance number: two prefix letters, six
// digits (123456, or 12 34 56 after a space), the suffix A-D; spaced
// forms "AB 12 34 56 C" and "AB 123456 C".
func ninoAt(s []byte, i int) (int, bool) {
	p := i + 2
	var dg [6]byte
	var e int
	if s[p] == ' ' {
		p++
		switch {
		case p+8 <= len(s) && allDigits(s[p:p+6]) && s[p+6] == ' ':
			copy(dg[:], s[p:p+6])
			p += 6
		case p+10 <= len(s) && allDigits(s[p:p+2]) && s[p+2] == ' ' && allDigits(s[p+3:p+5]) && s[p+5] == ' ' &&
			allDigits(s[p+6:p+8]) && s[p+8] == ' ':
			dg = [6]byte{s[p], s[p+1], s[p+3], s[p+4], s[p+6], s[p+7]}
			p += 8
		default:
			return 0, false
		}
		if s[p] != ' ' {
			return 0, false
		}
		p++
	} else {
		if p+7 > len(s) || !allDigits(s[p:p+6]) {
			return 0, false
		}
		copy(dg[:], s[p:p+6])
		p += 6
	}
	if p >= len(s) || s[p] < 'A' || s[p] > 'D' {
		return 0, false
	}
	e = p + 1
	if !idEnd(s, e) || !ninoPrefix(s[i], s[i+1]) {
		return 0, false
	}
	return e, string(dg[:]) == "123456" || sameByte(dg[:])
}

// ninoPrefix: HMRC's allocation rules for the two prefix letters.
func ninoPrefix(a, b byte) bool {
	if !isUpper(a) || !isUpper(b) {
		return false
	}
	switch a {
	case 'D', 'F', 'I', 'Q', 'U', 'V':
		return false
	}
	switch b {
	case 'D', 'F', 'I', 'O', 'Q', 'U', 'V':
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

// panAt reads an Indian PAN: five letters (the fourth the holder's kind:
// P person, C company, H HUF, F firm, A AOP, T trust, B BOI, L local
// authority, J juridical person, G government), four digits (not 0000),
// a letter.
func panAt(s []byte, i int) int {
	if i+10 > len(s) {
		return 0
	}
	p := s[i : i+10]
	for x := 0; x < 5; x++ {
		if !isUpper(p[x]) {
			return 0
		}
	}
	if !allDigits(p[5:9]) || string(p[5:9]) == "0000" || !isUpper(p[9]) || !idEnd(s, i+10) {
		return 0
	}
	switch p[3] {
	case 'A', 'B', 'C', 'F', 'G', 'H', 'L', 'J', 'P', 'T':
		return i + 10
	}
	return 0
}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// dniAt reads a Spanish DNI: eight digits, then the control letter
// (number mod 23), directly or after '-' or ' '.
func dniAt(s []byte, i int) (int, bool) {
	if i+9 > len(s) || !allDigits(s[i:i+8]) {
		return 0, false
	}
	p := i + 8
	if s[p] == '-' || s[p] == ' ' {
		p++
	}
	if p >= len(s) || !isUpper(s[p]) || !idEnd(s, p+1) || dniLetters[num(s[i:], 8)%23] != s[p] {
		return 0, false
	}
	n := num(s[i:], 8)
	return p + 1, n == 12345678 || sameByte(s[i:i+8])
}

// nieAt reads a Spanish NIE: X, Y or Z (0, 1, 2), seven digits, the
// control letter of the eight-digit number; compact or with '-' after the
// first letter and before the last.
func nieAt(s []byte, i int) (int, bool) {
	p := i + 1
	sep := byte(0)
	if p < len(s) && (s[p] == '-' || s[p] == ' ') {
		sep = s[p]
		p++
	}
	if p+8 > len(s) || !allDigits(s[p:p+7]) {
		return 0, false
	}
	n := int(s[i]-'X')*10000000 + num(s[p:], 7)
	p += 7
	if sep != 0 {
		if s[p] != sep || p+1 >= len(s) {
			return 0, false
		}
		p++
	}
	if !isUpper(s[p]) || dniLetters[n%23] != s[p] || !idEnd(s, p+1) {
		return 0, false
	}
	return p + 1, n%10000000 == 1234567
}

// cpfFormattedAt reads a CPF written 000.000.000-00.
func cpfFormattedAt(s []byte, i int) (int, bool) {
	if i+14 > len(s) {
		return 0, false
	}
	x := s[i : i+14]
	if x[3] != '.' || x[7] != '.' || x[11] != '-' || !idEnd(s, i+14) {
		return 0, false
	}
	var dg [11]byte
	n := 0
	for p, c := range x {
		if p == 3 || p == 7 || p == 11 {
			continue
		}
		if !isDigit(c) {
			return 0, false
		}
		dg[n] = c
		n++
	}
	if !cpfValid(dg[:]) {
		return 0, false
	}
	return i + 14, idExample(BRCPF, dg[:])
}

// cpfValid checks the two mod-11 check digits of an 11-digit CPF; one
// repeated digit (which passes) is rejected.
func cpfValid(d []byte) bool {
	if len(d) != 11 || sameByte(d) {
		return false
	}
	for n := 9; n <= 10; n++ {
		s := 0
		for i := 0; i < n; i++ {
			s += int(d[i]-'0') * (n + 1 - i)
		}
		dv := 0
		if r := s % 11; r >= 2 {
			dv = 11 - r
		}
		if int(d[n]-'0') != dv {
			return false
		}
	}
	return true
}

// nhsValid checks the mod-11 check digit of a 10-digit NHS number (a
// check value of 10 is never issued).
func nhsValid(d []byte) bool {
	if len(d) != 10 || sameByte(d) {
		return false
	}
	s := 0
	for i := 0; i < 9; i++ {
		s += int(d[i]-'0') * (10 - i)
	}
	ck := 11 - s%11
	if ck == 11 {
		ck = 0
	}
	return ck != 10 && ck == int(d[9]-'0')
}

// sinValid: nine digits, Luhn, not starting with 0 or 8 (never issued).
func sinValid(d []byte) bool {
	return len(d) == 9 && d[0] != '0' && d[0] != '8' && luhn(d) && !sameByte(d)
}

var verhoeffD = [10][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 8, 7, 6, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

// verhoeff checks the Verhoeff check digit (the last) of an all-digit slice.
func verhoeff(d []byte) bool {
	c := uint8(0)
	for i := 0; i < len(d); i++ {
		c = verhoeffD[c][verhoeffP[i%8][d[len(d)-1-i]-'0']]
	}
	return c == 0
}

// aadhaarValid: twelve digits, the first 2-9, Verhoeff.
func aadhaarValid(d []byte) bool {
	return len(d) == 12 && d[0] >= '2' && verhoeff(d) && !sameByte(d)
}

// idExample: the numbers that documentation and test data use.
func idExample(t Type, d []byte) bool {
	switch t {
	case UKNHSNumber:
		return string(d) == "9434765919" || string(d[:3]) == "999" // NHS Digital's test range
	case BRCPF:
		return string(d) == "12345678909" || string(d) == "11144477735"
	case INAadhaar:
		return string(d) == "999941057058" || string(d) == "234123412346"
	}
	return false
}
