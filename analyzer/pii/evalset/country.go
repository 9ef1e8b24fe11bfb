package evalset

import (
	"fmt"
	"strings"
)

// Country IDs: UK NINO and NHS numbers, Canadian SINs, Indian Aadhaar
// numbers and PANs, Spanish DNIs and NIEs, Brazilian CPFs, in the payloads
// of the services that carry them (HR and payroll, KYC, customer records),
// in the formats people type, with near-misses that fail the check by one
// character and the lookalikes of those payloads (payroll and business
// numbers, GSTIN, IFSC, CNPJ, postcodes).

// CountryTypes are the country ID type names (a subset of Types); a
// classifier reports them only when configured to.
var CountryTypes = []string{"uk_nino", "uk_nhs_number", "ca_sin", "in_aadhaar", "in_pan", "es_dni", "es_nie", "br_cpf"}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// --- generators ------------------------------------------------------------

// NINO prefix letters: the first never D F I Q U V, the second never D F I
// O Q U V; BG GB KN NK NT TN ZZ never issued.
const ninoA, ninoB = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"

func (g gen) ninoCompact() string {
	for {
		p := string([]byte{ninoA[g.n(len(ninoA))], ninoB[g.n(len(ninoB))]})
		switch p {
		case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
			continue
		}
		d := g.str(digits, 6)
		if d == "123456" {
			continue
		}
		return p + d + string("ABCD"[g.n(4)])
	}
}

// ninoFormat writes a compact NINO as people do: AB123456C, AB 12 34 56 C
// or AB 123456 C.
func (g gen) ninoFormat(c string) string {
	switch x := g.n(10); {
	case x < 6:
		return c
	case x < 9:
		return c[:2] + " " + c[2:4] + " " + c[4:6] + " " + c[6:8] + " " + c[8:]
	default:
		return c[:2] + " " + c[2:8] + " " + c[8:]
	}
}

// nearNINO breaks one rule with one character: a prefix letter never
// used, a prefix never issued, or a suffix past D.
func (g gen) nearNINO() string {
	for {
		b := []byte(g.ninoCompact())
		switch g.n(4) {
		case 0:
			b[0] = "DFIQUV"[g.n(6)]
		case 1:
			b[1] = "DFIOQUV"[g.n(7)]
		case 2:
			p := g.pick("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
			if b[0] != p[0] && b[1] != p[1] {
				continue // more than one character would change
			}
			b[0], b[1] = p[0], p[1]
		default:
			b[8] = "EFGHJKLMNPRSTWXYZ"[g.n(17)]
		}
		if s := g.ninoFormat(string(b)); !NINOValid(s) {
			return s
		}
	}
}

func nhsCheck(b string) int {
	s := 0
	for i := 0; i < 9; i++ {
		s += int(b[i]-'0') * (10 - i)
	}
	ck := 11 - s%11
	if ck == 11 {
		ck = 0
	}
	return ck
}

func (g gen) nhsCompact() string {
	for {
		b := g.str("12345678", 1) + g.str(digits, 8) // 999… is the test range
		if ck := nhsCheck(b); ck != 10 {
			return b + string(rune('0'+ck))
		}
	}
}

// idGroups writes digits in groups (3-3-4 for NHS, 3-3-3 SIN, 4-4-4
// Aadhaar) with sep.
func idGroups(d string, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, d[:n])
		d = d[n:]
	}
	return strings.Join(parts, sep)
}

func (g gen) nhsFormat(c string) string {
	switch x := g.n(20); {
	case x < 10:
		return c
	case x < 17:
		return idGroups(c, " ", 3, 3, 4)
	default:
		return idGroups(c, "-", 3, 3, 4)
	}
}

func (g gen) sinCompact() string {
	b := g.str("12345679", 1) + g.str(digits, 7) // 0 and 8 are never issued
	return b + string(rune('0'+luhnDigit(b)))
}

func (g gen) sinFormat(c string) string {
	switch x := g.n(20); {
	case x < 10:
		return c
	case x < 17:
		return idGroups(c, " ", 3, 3, 3)
	default:
		return idGroups(c, "-", 3, 3, 3)
	}
}

var verhoeffD = [10][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 8, 7, 6, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

var verhoeffInv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}

// verhoeffCheck computes the check digit to append to body.
func verhoeffCheck(body string) int {
	c := 0
	for i := 0; i < len(body); i++ {
		c = verhoeffD[c][verhoeffP[(i+1)%8][body[len(body)-1-i]-'0']]
	}
	return verhoeffInv[c]
}

func (g gen) aadhaarCompact() string {
	b := g.str("23456789", 1) + g.str(digits, 10)
	return b + string(rune('0'+verhoeffCheck(b)))
}

func (g gen) aadhaarFormat(c string) string {
	if g.chance(0.4) {
		return c
	}
	return idGroups(c, " ", 4, 4, 4)
}

// pan: five letters (the fourth the holder's kind, mostly P for a
// person), four digits, a letter.
func (g gen) pan() string {
	kind := "P"
	if g.chance(0.3) {
		kind = g.str("ABCFGHLJT", 1)
	}
	return g.str(upper, 3) + kind + g.str(upper, 1) + fmt.Sprintf("%04d", g.between(1, 9999)) + g.str(upper, 1)
}

// nearPAN puts a letter that names no holder kind in fourth place.
func (g gen) nearPAN() string {
	b := []byte(g.pan())
	b[3] = "DEIKMNOQRSUVWXYZ"[g.n(16)]
	return string(b)
}

func (g gen) dniCompact() string {
	n := g.between(1000000, 99999999)
	return fmt.Sprintf("%08d%c", n, dniLetters[n%23])
}

func (g gen) nieCompact() string {
	p := g.n(3)
	n := g.n(10000000)
	return fmt.Sprintf("%c%07d%c", "XYZ"[p], n, dniLetters[(p*10000000+n)%23])
}

func (g gen) dniFormat(c string) string {
	if g.chance(0.8) {
		return c
	}
	return c[:8] + "-" + c[8:]
}

func (g gen) nieFormat(c string) string {
	if g.chance(0.8) {
		return c
	}
	return c[:1] + "-" + c[1:8] + "-" + c[8:]
}

// nearSpanish changes one digit or the control letter.
func (g gen) nearSpanish(v string, valid func(string) bool) string {
	for {
		b := []byte(v)
		i := g.n(len(b))
		switch c := b[i]; {
		case c >= '0' && c <= '9':
			b[i] = digits[g.n(10)]
		case c >= 'A' && c <= 'Z' && i == len(b)-1:
			b[i] = dniLetters[g.n(23)]
		default:
			continue
		}
		if s := string(b); !valid(s) {
			return s
		}
	}
}

func cpfCheck(b string) string {
	for n := 9; n <= 10; n++ {
		s := 0
		for i := 0; i < n; i++ {
			s += int(b[i]-'0') * (n + 1 - i)
		}
		dv := 0
		if r := s % 11; r >= 2 {
			dv = 11 - r
		}
		b += string(rune('0' + dv))
	}
	return b
}

func (g gen) cpfCompact() string {
	for {
		c := cpfCheck(g.str(digits, 9))
		if strings.Count(c, c[:1]) != 11 && c != "12345678909" {
			return c
		}
	}
}

func cpfFormatted(c string) string { return c[:3] + "." + c[3:6] + "." + c[6:9] + "-" + c[9:] }

// nearDigits changes one digit of a valid ID so that valid fails.
func (g gen) nearDigits(v string, valid func(string) bool) string {
	for {
		if s := g.mutateDigit(v, func(int) bool { return true }); !valid(s) {
			return s
		}
	}
}

// --- lookalikes ---------------------------------------------------------------

// gstin: state code, a business PAN, entity number, Z, check character.
func (g gen) gstin() string {
	b := []byte(g.pan())
	b[3] = "CF"[g.n(2)]
	return fmt.Sprintf("%02d%s%dZ%s", g.between(1, 37), b, g.between(1, 9), g.str(digits+upper, 1))
}

func (g gen) ifsc() string { return g.pick("HDFC", "ICIC", "SBIN", "UTIB") + "0" + g.str(digits, 6) }

func (g gen) cnpj() string {
	d := g.str(digits, 8)
	return d[:2] + "." + d[2:5] + "." + d[5:8] + "/0001-" + g.str(digits, 2)
}

func (g gen) ukPostcode() string {
	return g.pick("SW1A", "EC1A", "M1", "B33", "CR2", "DN55") + " " + g.str(digits, 1) + g.str("ABDEFGHJLNPQRSTUWXYZ", 2)
}

// --- or-near helpers ------------------------------------------------------------

func (g gen) ninoOrNear() lab {
	if g.chance(0.2) {
		return near("uk_nino", g.nearNINO())
	}
	return pos("uk_nino", g.ninoFormat(g.ninoCompact()))
}

func (g gen) nhsOrNear() lab {
	if g.chance(0.2) {
		return near("uk_nhs_number", g.nhsFormat(g.nearDigits(g.nhsCompact(), NHSValid)))
	}
	return pos("uk_nhs_number", g.nhsFormat(g.nhsCompact()))
}

func (g gen) sinOrNear() lab {
	if g.chance(0.2) {
		return near("ca_sin", g.sinFormat(g.nearDigits(g.sinCompact(), SINValid)))
	}
	return pos("ca_sin", g.sinFormat(g.sinCompact()))
}

func (g gen) aadhaarOrNear() lab {
	if g.chance(0.2) {
		return near("in_aadhaar", g.aadhaarFormat(g.nearDigits(g.aadhaarCompact(), AadhaarValid)))
	}
	return pos("in_aadhaar", g.aadhaarFormat(g.aadhaarCompact()))
}

func (g gen) panOrNear() lab {
	if g.chance(0.2) {
		return near("in_pan", g.nearPAN())
	}
	return pos("in_pan", g.pan())
}

func (g gen) dniOrNear() lab {
	if g.chance(0.2) {
		return near("es_dni", g.dniFormat(g.nearSpanish(g.dniCompact(), DNIValid)))
	}
	return pos("es_dni", g.dniFormat(g.dniCompact()))
}

func (g gen) nieOrNear() lab {
	if g.chance(0.2) {
		return near("es_nie", g.nieFormat(g.nearSpanish(g.nieCompact(), NIEValid)))
	}
	return pos("es_nie", g.nieFormat(g.nieCompact()))
}

func (g gen) cpfOrNear() lab {
	c := g.cpfCompact()
	if g.chance(0.2) {
		c = g.nearDigits(c, CPFValid)
		if g.chance(0.6) {
			c = cpfFormatted(c)
		}
		return near("br_cpf", c)
	}
	if g.chance(0.6) {
		c = cpfFormatted(c)
	}
	return pos("br_cpf", c)
}

// --- templates ----------------------------------------------------------------

// ukEmployees: an HR system's employee list.
func ukEmployees(g gen) Item {
	var es arr
	for range g.between(2, 4) {
		f, l := g.first(), g.last()
		e := obj{
			{"id", neg(g.uuid())},
			{"firstName", pos("person_name", f)},
			{"lastName", pos("person_name", l)},
			{g.pick("nationalInsuranceNumber", "nino", "niNumber", "ni_number"), g.ninoOrNear()},
			{g.pick("nhsNumber", "nhs_number", "nhsNo"), g.nhsOrNear()},
			{"payrollNumber", neg(g.str("123456789", 1) + g.str(digits, g.between(8, 10)))},
			{"employeeNumber", negNum(g.str("123456789", 1) + g.str(digits, g.between(8, 11)))},
			{"postcode", neg(g.ukPostcode())},
			{"startDate", neg(g.isoTime())},
		}
		if g.chance(0.5) {
			e = append(e, field{"documents", arr{obj{{"type", "NINO"}, {"value", pos("uk_nino", g.ninoFormat(g.ninoCompact()))}}}})
		}
		es = append(es, e)
	}
	return jsonItem(g, ResponseBody, "application/json", obj{{"employees", es}, {"meta", obj{{"total", num("3")}, {"generatedAt", negNum(g.epochS())}}}})
}

// caPayroll: a payroll export over SOAP.
func caPayroll(g gen) Item {
	var es arr
	for range g.between(2, 4) {
		es = append(es, obj{
			{"ns1:FullName", pos("person_name", g.first()+" "+g.last())},
			{g.pick("ns1:SIN", "ns1:SocialInsuranceNumber", "ns1:sin"), g.sinOrNear()},
			{"ns1:EmployeeNumber", neg(g.str("123456789", 1) + g.str(digits, 8))},
			{"ns1:BusinessNumber", neg(g.str("123456789", 1) + g.str(digits, 8) + "RP0001")},
			{"ns1:PayPeriodEnd", neg(g.isoTime())},
			{"ns1:GrossPay", neg(g.price())},
		})
	}
	s := ser{}
	s.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:acme:payroll"><soap:Body>`)
	s.xml("ns1:PayrollExport", obj{{"ns1:Employee", es}, {"ns1:BatchId", neg(g.str("123456789", 1) + g.str(digits, 9))}}, "/Envelope/Body")
	s.b.WriteString(`</soap:Body></soap:Envelope>`)
	return Item{Location: ResponseBody, ContentType: "text/xml; charset=utf-8", Body: []byte(s.b.String()), Labels: s.labels}
}

// inKYC: a lending KYC submission with co-applicants.
func inKYC(g gen) Item {
	var as arr
	for range g.between(2, 4) {
		a := obj{
			{"fullName", pos("person_name", g.first()+" "+g.last())},
			{g.pick("pan", "panNumber", "pan_no"), g.panOrNear()},
			{g.pick("aadhaar", "aadhaarNumber", "aadhaar_no"), g.aadhaarOrNear()},
			{"dateOfBirth", pos("date_of_birth", g.dob())},
			{"customerNumber", negNum(g.str("23789", 1) + g.str(digits, 11))}, // Aadhaar's length, no card's
		}
		if g.chance(0.5) {
			a = append(a, field{"kycDocuments", arr{obj{{"kind", "PAN"}, {"documentNumber", pos("in_pan", g.pan())}}}})
		}
		as = append(as, a)
	}
	return jsonItem(g, RequestBody, "application/json", obj{
		{"applicants", as},
		{"business", obj{{"gstin", neg(g.gstin())}, {"ifsc", neg(g.ifsc())}, {"udyam", neg("UDYAM-MH-" + g.str(digits, 2) + "-" + g.str(digits, 7))}}},
		{"applicationId", neg(g.uuid())},
		{"submittedAt", negNum(g.epochMS())},
	})
}

// esClientes: a Spanish shop's customer export; the note is free text.
func esClientes(g gen) Item {
	var cs arr
	for range g.between(3, 5) {
		c := obj{{"fullName", pos("person_name", g.first()+" "+g.last())}}
		if g.chance(0.5) {
			c = append(c, field{g.pick("dni", "nif", "documento"), g.dniOrNear()})
		} else {
			c = append(c, field{g.pick("nie", "nif", "documento"), g.nieOrNear()})
		}
		c = append(c, field{"pedido", negNum(g.str("123456789", 1) + g.str(digits, g.between(7, 9)))}, field{"codigoPostal", neg(g.str(digits, 5))})
		cs = append(cs, c)
	}
	var note lab
	if g.chance(0.5) {
		note = pos("es_dni", g.dniCompact())
	} else {
		note = pos("es_nie", g.nieCompact())
	}
	return jsonItem(g, ResponseBody, "application/json", obj{
		{"clientes", cs},
		{"observaciones", text{"Cliente verificado con documento " + note.v + " en tienda.", []lab{note}}},
		{"referencia", neg("PED-" + g.str(digits, 8))},
	})
}

// brClientes: a Brazilian customer registry, as a form post.
func brClientes(g gen) Item {
	var cs arr
	for range g.between(2, 4) {
		cs = append(cs, obj{
			{"full_name", pos("person_name", g.first()+" "+g.last())},
			{"cpf", g.cpfOrNear()},
			{"cnpj", neg(g.cnpj())},
			{"cep", neg(g.str(digits, 5) + "-" + g.str(digits, 3))},
			{"pedido", neg(g.str("123456789", 1) + g.str(digits, 10))},
		})
	}
	c := cpfFormatted(g.cpfCompact())
	v := obj{
		{"clientes", cs},
		{"observacao", text{"Titular com CPF " + c + " confirmado", []lab{pos("br_cpf", c)}}},
	}
	s := ser{}
	s.form(v, "", "$")
	return Item{Location: RequestBody, ContentType: "application/x-www-form-urlencoded", Body: []byte(s.b.String()), Labels: s.labels}
}

// --- checks ----------------------------------------------------------------------

func stripSeps(s, seps string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(seps, r) {
			return -1
		}
		return r
	}, s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// NINOValid: prefix letters as issued, six digits, suffix A-D (spaces ignored).
func NINOValid(s string) bool {
	s = stripSeps(s, " ")
	if len(s) != 9 || !allDigits(s[2:8]) || s[8] < 'A' || s[8] > 'D' {
		return false
	}
	a, b := s[0], s[1]
	if !strings.ContainsRune(ninoA, rune(a)) || !strings.ContainsRune(ninoB, rune(b)) {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

// NHSValid: ten digits, the mod-11 check digit (10 never issued).
func NHSValid(s string) bool {
	s = stripSeps(s, " -")
	if len(s) != 10 || !allDigits(s) {
		return false
	}
	ck := nhsCheck(s)
	return ck != 10 && ck == int(s[9]-'0')
}

// SINValid: nine digits, Luhn, not starting with 0 or 8.
func SINValid(s string) bool {
	s = stripSeps(s, " -")
	return len(s) == 9 && allDigits(s) && s[0] != '0' && s[0] != '8' && Luhn(s)
}

// AadhaarValid: twelve digits, the first 2-9, Verhoeff.
func AadhaarValid(s string) bool {
	s = stripSeps(s, " -")
	return len(s) == 12 && allDigits(s) && s[0] >= '2' && verhoeffCheck(s[:11]) == int(s[11]-'0')
}

// PANValid: AAAAA9999A with a holder kind in fourth place.
func PANValid(s string) bool {
	if len(s) != 10 || !allDigits(s[5:9]) || s[5:9] == "0000" {
		return false
	}
	for _, i := range []int{0, 1, 2, 3, 4, 9} {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return strings.IndexByte("ABCFGHLJPT", s[3]) >= 0
}

// DNIValid: eight digits and the control letter ('-' ignored).
func DNIValid(s string) bool {
	s = stripSeps(s, "-")
	if len(s) != 9 || !allDigits(s[:8]) {
		return false
	}
	n := 0
	for _, c := range s[:8] {
		n = n*10 + int(c-'0')
	}
	return dniLetters[n%23] == s[8]
}

// NIEValid: X, Y or Z, seven digits, the control letter ('-' ignored).
func NIEValid(s string) bool {
	s = stripSeps(s, "-")
	if len(s) != 9 || strings.IndexByte("XYZ", s[0]) < 0 {
		return false
	}
	return DNIValid(string(rune('0'+strings.IndexByte("XYZ", s[0]))) + s[1:])
}

// CPFValid: eleven digits (dots and dash ignored), not one repeated, both
// mod-11 check digits.
func CPFValid(s string) bool {
	s = stripSeps(s, ".-")
	return len(s) == 11 && allDigits(s) && strings.Count(s, s[:1]) != 11 && cpfCheck(s[:9]) == s
}
