package pii

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Generators for checksum-valid country IDs (seeded).

func genNHS(r *rand.Rand) string {
	for {
		b := genDigits(r, 9)
		if b[:3] == "999" {
			continue
		}
		s := 0
		for i := 0; i < 9; i++ {
			s += int(b[i]-'0') * (10 - i)
		}
		ck := 11 - s%11
		if ck == 11 {
			ck = 0
		}
		if ck != 10 {
			return b + string(byte('0'+ck))
		}
	}
}

func genSIN(r *rand.Rand) string {
	first := "123456779"[r.IntN(9)]
	b := string(first) + genDigits(r, 7)
	return b + string(luhnDigit(b))
}

func verhoeffDigit(body string) byte {
	for c := byte('0'); c <= '9'; c++ {
		if verhoeff([]byte(body + string(c))) {
			return c
		}
	}
	panic("unreachable")
}

func genAadhaar(r *rand.Rand) string {
	b := string(byte('2'+r.IntN(8))) + genDigits(r, 10)
	return b + string(verhoeffDigit(b))
}

func cpfDigits(b string) string {
	for n := 9; n <= 10; n++ {
		s := 0
		for i := 0; i < n; i++ {
			s += int(b[i]-'0') * (n + 1 - i)
		}
		dv := 0
		if r := s % 11; r >= 2 {
			dv = 11 - r
		}
		b += string(byte('0' + dv))
	}
	return b
}

func genCPF(r *rand.Rand) string {
	for {
		c := cpfDigits(genDigits(r, 9))
		if !sameByte([]byte(c)) {
			return c
		}
	}
}

func fmtCPF(c string) string { return c[:3] + "." + c[3:6] + "." + c[6:9] + "-" + c[9:] }

func genDNI(r *rand.Rand) string {
	n := r.IntN(100000000)
	return fmt.Sprintf("%08d%c", n, dniLetters[n%23])
}

func genNIE(r *rand.Rand) string {
	p := r.IntN(3)
	n := r.IntN(10000000)
	return fmt.Sprintf("%c%07d%c", "XYZ"[p], n, dniLetters[(p*10000000+n)%23])
}

const ninoFirst, ninoSecond = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"

func genNINO(r *rand.Rand) string {
	for {
		a, b := ninoFirst[r.IntN(len(ninoFirst))], ninoSecond[r.IntN(len(ninoSecond))]
		if !ninoPrefix(a, b) {
			continue
		}
		return string([]byte{a, b}) + genDigits(r, 6) + string("ABCD"[r.IntN(4)])
	}
}

func genPAN(r *rand.Rand) string {
	const up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	return genAlnum(r, 3, up) + string("ABCFGHLJPT"[r.IntN(10)]) + genAlnum(r, 1, up) +
		fmt.Sprintf("%04d", 1+r.IntN(9999)) + genAlnum(r, 1, up)
}

func allIDs(t testing.TB) *Detector {
	t.Helper()
	d, err := New(Config{CountryIDs: []string{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCountryIDsOffByDefault(t *testing.T) {
	d := newDet(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range [][2]string{
		{"nino", genNINO(r)}, {"nhs_number", genNHS(r)}, {"sin", genSIN(r)}, {"aadhaar", genAadhaar(r)},
		{"pan", genPAN(r)}, {"dni", genDNI(r)}, {"nie", genNIE(r)}, {"cpf", genCPF(r)}, {"cpf", fmtCPF(genCPF(r))},
	} {
		for _, m := range d.Leaf(nil, []byte(c[0]), []byte(c[1])) {
			if m.Type >= UKNINO {
				t.Errorf("%s=%s: %s reported with country IDs off", c[0], c[1], m.Type)
			}
		}
	}
	if d.ids != 0 {
		t.Errorf("ids = %b", d.ids)
	}
}

func TestCountryIDsConfig(t *testing.T) {
	if _, err := New(Config{CountryIDs: []string{"email"}}); err == nil || !strings.Contains(err.Error(), "not a country ID") {
		t.Errorf("email accepted as a country ID: %v", err)
	}
	if _, err := New(Config{CountryIDs: []string{"fr_insee"}}); err == nil {
		t.Error("unknown country ID accepted")
	}
	d, err := New(Config{CountryIDs: []string{" UK_NINO", "br_cpf"}, Disabled: []string{"br_cpf"}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.idOn(UKNINO) || d.idOn(BRCPF) || d.idOn(ESDNI) {
		t.Errorf("ids = %b", d.ids)
	}
	if ms := d.Leaf(nil, []byte("cpf"), []byte("529.982.247-25")); len(ms) != 0 {
		t.Errorf("disabled br_cpf reported: %s", show(ms, ""))
	}
	if ms := d.Leaf(nil, []byte("dni"), []byte("48264310Y")); len(ms) != 0 {
		t.Errorf("es_dni not enabled but reported: %s", show(ms, ""))
	}
	if m, ok := find(d.Leaf(nil, []byte("nino"), []byte("JG 10 37 29 B")), UKNINO); !ok || m.Confidence != Confirmed {
		t.Errorf("enabled uk_nino: %v", m)
	}
	if err := (Config{CountryIDs: []string{"all"}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestCountryIDs(t *testing.T) {
	d := allIDs(t)
	runLeaf(t, d, []leafCase{
		// UK NINO: distinctive, likely alone, confirmed by its key
		{"$.employee.nino", "JG103729B", UKNINO, Confirmed, false},
		{"$.employee.national_insurance_number", "JG 10 37 29 B", UKNINO, Confirmed, false},
		{"$.employee.niNumber", "JG 103729 B", UKNINO, Confirmed, false},
		{"$.employee.tax_id", "JG103729B", UKNINO, Confirmed, false},
		{"$.document", "JG103729B", UKNINO, Likely, false},
		{"$.reference", "JG103729B", UKNINO, Possible, false}, // a negative key
		{"$.nino", "AB123456C", UKNINO, Confirmed, true},      // the usual example
		{"$.nino", "QQ123456C", 0, 0, false},                  // HMRC's example prefix is never issued
		{"$.nino", "DA103729B", 0, 0, false},                  // first letter D
		{"$.nino", "JO103729B", 0, 0, false},                  // second letter O
		{"$.nino", "GB103729B", 0, 0, false},                  // GB prefix
		{"$.nino", "TN103729B", 0, 0, false},
		{"$.nino", "JG103729E", 0, 0, false}, // suffix past D
		{"$.nino", "JG10372B", 0, 0, false},
		{"$.nino", "JG1037299B", 0, 0, false},
		{"$.nino", "JG 1037 29 B", 0, 0, false},
		{"$.file", "JG103729B.pdf", 0, 0, false},
		// UK NHS: bare digits, only under its key
		{"$.patient.nhs_number", "9434765919", UKNHSNumber, Confirmed, true},
		{"$.patient.nhsNumber", "401 023 2137", UKNHSNumber, Confirmed, false},
		{"$.patient.nhs", "401-023-2137", UKNHSNumber, Confirmed, false},
		{"$.nhs.number", "4010232137", UKNHSNumber, Confirmed, false}, // the parent lends the hint
		{"$.patient.nhs_id", "4010232137", UKNHSNumber, Confirmed, false},
		{"$.patient.nhs_number", "4010232138", 0, 0, false},   // check digit
		{"$.patient.nhs_number", "401 0232 137", 0, 0, false}, // not 3-3-4
		{"$.patient.nhs_number", "401 023-2137", 0, 0, false}, // mixed separators
		{"$.patient.nhs_number", "0000000000", 0, 0, false},
		{"$.patient.national_id", "4010232137", 0, 0, false}, // generic hint: not enough for bare digits
		{"$.patient.number", "4010232137", 0, 0, false},
		// CA SIN
		{"$.employee.sin", "130692544", CASIN, Confirmed, false},
		{"$.employee.social_insurance_number", "130 692 544", CASIN, Confirmed, false},
		{"$.employee.sin", "130-692-544", CASIN, Confirmed, false},
		{"$.employee.sin", "046454286", 0, 0, false}, // Luhn passes, 0 is never issued
		{"$.employee.sin", "130692545", 0, 0, false},
		{"$.employee.id", "130692544", 0, 0, false},
		// IN Aadhaar
		{"$.kyc.aadhaar", "234123412346", INAadhaar, Confirmed, true},
		{"$.kyc.aadhaar_number", "4991 1866 5248", INAadhaar, Confirmed, false},
		{"$.kyc.aadhaar", "4991-1866-5248", INAadhaar, Confirmed, false},
		{"$.kyc.aadhaar", "4991 1866 5247", 0, 0, false},
		{"$.kyc.aadhaar", "1991 1866 5248", 0, 0, false},
		{"$.kyc.customer_number", "499118665248", 0, 0, false},
		// IN PAN
		{"$.kyc.pan", "ABCPE1234F", INPAN, Confirmed, false},
		{"$.kyc.pan_number", "AAACB1234C", INPAN, Confirmed, false},
		{"$.kyc.document_number", "ABCPE1234F", INPAN, Likely, false},
		{"$.kyc.pan", "ABCDE1234F", 0, 0, false}, // D is no holder kind
		{"$.kyc.pan", "ABCPE0000F", 0, 0, false},
		{"$.kyc.pan", "ABCPE1234", 0, 0, false},
		{"$.kyc.gstin", "27AAPFU0939F1ZV", 0, 0, false}, // a GSTIN holds a business PAN: not a person's
		// ES DNI / NIE
		{"$.cliente.dni", "48264310Y", ESDNI, Confirmed, false},
		{"$.cliente.nif", "48264310-Y", ESDNI, Confirmed, false},
		{"$.cliente.documento", "48264310Y", ESDNI, Likely, false},
		{"$.cliente.dni", "12345678Z", ESDNI, Confirmed, true},
		{"$.cliente.dni", "48264310J", 0, 0, false},
		{"$.cliente.dni", "48264310y", 0, 0, false},
		{"$.cliente.nie", "X1234567L", ESNIE, Confirmed, true},
		{"$.cliente.nie", "Y3456789H", ESNIE, Confirmed, false}, // 13456789 mod 23 = 18
		{"$.cliente.nie", "Z-7654321-H", ESNIE, Confirmed, false},
		{"$.cliente.documento", "Y3456789H", ESNIE, Likely, false},
		{"$.cliente.nie", "Y3456789L", 0, 0, false},
		{"$.cliente.nie", "W3456789H", 0, 0, false},
		{"$.cliente.nie", "X12345678", 0, 0, false}, // a passport shape
		// BR CPF
		{"$.cliente.cpf", "529.982.247-25", BRCPF, Confirmed, false},
		{"$.cliente.cpf", "52998224725", BRCPF, Confirmed, false},
		{"$.cliente.documento", "529.982.247-25", BRCPF, Likely, false},
		{"$.cliente.tax_id", "529.982.247-25", BRCPF, Confirmed, false},
		{"$.cliente.documento", "52998224725", 0, 0, false}, // bare: needs the key
		{"$.cliente.cpf", "529.982.247-26", 0, 0, false},
		{"$.cliente.cpf", "111.111.111-11", 0, 0, false},
		{"$.cliente.cnpj", "11.222.333/0001-81", 0, 0, false},
		{"$.order_id", "529.982.247-25", BRCPF, Possible, false},
	})
	// embedded in a longer leaf and in text
	v := "Cliente con NIE X1234567L y DNI 48264310Y; NINO JG 10 37 29 B, PAN ABCPE1234F, CPF 529.982.247-25."
	for _, fn := range []func([]Match, []byte, []byte) []Match{d.Leaf, d.Text} {
		ms := fn(nil, []byte("$.observaciones"), []byte(v))
		for _, w := range []struct {
			t    Type
			want string
		}{{ESNIE, "X1234567L"}, {ESDNI, "48264310Y"}, {UKNINO, "JG 10 37 29 B"}, {INPAN, "ABCPE1234F"}, {BRCPF, "529.982.247-25"}} {
			m, ok := find(ms, w.t)
			if !ok || v[m.Start:m.End] != w.want || m.Confidence != Likely {
				t.Errorf("%s in text: %s", w.t, show(ms, v))
			}
		}
	}
	// bare digits are never read from text, even under the key
	for _, s := range []string{"NHS 4010232137", "SIN 130692544", "aadhaar 4991 1866 5248", "cpf 52998224725"} {
		for _, m := range d.Text(nil, []byte("$.nhs_number"), []byte(s)) {
			if m.Type >= UKNINO {
				t.Errorf("Text %q: %s", s, show([]Match{m}, s))
			}
		}
	}
}

// Every single-digit change of a generated ID is rejected; for CPF, whose
// two mod-11 digits let a few through (remainders 0 and 1 both give 0),
// the validator agrees with the reference computation.
func TestCountryIDNearMisses(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	type gen struct {
		name  string
		gen   func(*rand.Rand) string
		valid func([]byte) bool
	}
	dni := func(b []byte) bool { e, _ := dniAt(b, 0); return e == len(b) }
	nie := func(b []byte) bool { e, _ := nieAt(b, 0); return e == len(b) }
	for _, g := range []gen{
		{"nhs", genNHS, nhsValid}, {"sin", genSIN, sinValid}, {"aadhaar", genAadhaar, aadhaarValid},
		{"cpf", genCPF, cpfValid}, {"dni", genDNI, dni}, {"nie", genNIE, nie},
	} {
		for n := 0; n < 300; n++ {
			v := g.gen(r)
			if !g.valid([]byte(v)) {
				t.Fatalf("%s: generated %s invalid", g.name, v)
			}
			for i := range v {
				if !isDigit(v[i]) {
					continue
				}
				for c := byte('0'); c <= '9'; c++ {
					if c == v[i] {
						continue
					}
					b := []byte(v)
					b[i] = c
					ok := g.valid(b)
					if g.name == "cpf" {
						// two mod-11 digits miss a few single changes:
						// agree with the reference computation
						if ok != (cpfDigits(string(b[:9])) == string(b) && !sameByte(b)) {
							t.Fatalf("cpf: %s (from %s): valid %v", b, v, ok)
						}
						continue
					}
					if ok {
						t.Fatalf("%s: %s (from %s) accepted", g.name, b, v)
					}
				}
			}
		}
	}
}

func TestCountryIDHardNegatives(t *testing.T) {
	d := allIDs(t)
	r := rand.New(rand.NewPCG(3, 3))
	keys := []string{"$.id", "$.order_number", "$.employee_number", "$.customer_id", "$.value", "$.data.code", "$.timestamp", "$.number"}
	found := 0
	for n := 0; n < 4000; n++ {
		v := genDigits(r, 9+r.IntN(4))
		for _, k := range keys {
			for _, m := range d.Leaf(nil, []byte(k), []byte(v)) {
				if m.Type >= UKNINO && m.Confidence >= Likely {
					found++
					t.Errorf("%s=%s: %s %s", k, v, m.Type, m.Confidence)
				}
			}
		}
		if found > 10 {
			t.FailNow()
		}
	}
	runLeaf(t, d, []leafCase{
		{"$.passport", "X12345678", PassportNumber, Likely, false},
		{"$.swift", "DEUTDEFF500", 0, 0, false},
		{"$.isin", "US0378331005", 0, 0, false},
		{"$.postcode", "SW1A 1AA", 0, 0, false},
		{"$.plate", "AB12 CDE", 0, 0, false},
		{"$.ifsc", "HDFC0001234", 0, 0, false},
		{"$.vat", "ESX1234567L", 0, 0, false},
		{"$.build", "20240520T103100Z", 0, 0, false},
		{"$.hash", "12345678e", 0, 0, false},
		{"$.ts", "1716201060", 0, 0, false},
		{"$.version", "529.982.247", 0, 0, false},
	})
}

func TestCountryIDMasks(t *testing.T) {
	for _, c := range []struct {
		t    Type
		v    string
		want string
	}{
		{UKNHSNumber, "943 476 5919", "*** *** 5919"},
		{ESDNI, "48264310Y", "*****310Y"},
		{BRCPF, "529.982.247-25", "***.***.*47-25"},
		{UKNINO, "JG 10 37 29 B", "** ** *7 29 B"},
	} {
		if got := Mask(c.t, []byte(c.v)); got != c.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", c.t, c.v, got, c.want)
		}
	}
	f := NewFingerprinter([]byte("k"))
	if f.Sum(BRCPF, []byte("529.982.247-25")) != f.Sum(BRCPF, []byte("52998224725")) ||
		f.Sum(UKNINO, []byte("jg 10 37 29 b")) != f.Sum(UKNINO, []byte("JG103729B")) {
		t.Error("formatting changes a country ID's fingerprint")
	}
}
