package evalset

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"math/big"
	"math/rand/v2"
	"strings"
)

// Value generators. Positives carry real check digits; near-misses change
// one character so that the check fails; the checks are in checks.go and
// the tests hold every generated value to them.

const (
	digits   = "0123456789"
	upper    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	base62   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	base32   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	hexchars = "0123456789abcdef"
)

type gen struct{ r *rand.Rand }

func (g gen) n(k int) int             { return g.r.IntN(k) }
func (g gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }
func (g gen) chance(p float64) bool   { return g.r.Float64() < p }
func (g gen) between(lo, hi int) int  { return lo + g.r.IntN(hi-lo+1) }
func (g gen) str(alpha string, k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = alpha[g.r.IntN(len(alpha))]
	}
	return string(b)
}

// mutateDigit changes the digit at a random position among those for
// which ok(i) holds to another digit.
func (g gen) mutateDigit(s string, ok func(i int) bool) string {
	b := []byte(s)
	for {
		i := g.n(len(b))
		if b[i] < '0' || b[i] > '9' || !ok(i) {
			continue
		}
		d := byte('0' + g.n(9))
		if d >= b[i] {
			d++
		}
		b[i] = d
		return string(b)
	}
}

// --- payment cards -------------------------------------------------------

var brands = []struct {
	prefixes []string
	length   int
}{
	{[]string{"4"}, 16}, {[]string{"4"}, 13}, {[]string{"4"}, 19},
	{[]string{"51", "52", "53", "54", "55", "2221", "2500", "2720"}, 16},
	{[]string{"34", "37"}, 15},
	{[]string{"6011", "644", "649", "65"}, 16},
	{[]string{"3528", "3589"}, 16},
	{[]string{"36"}, 14},
}

// card returns a Luhn-valid PAN in a brand's IIN range and length; the
// documented test PANs (4111…, 4242…) are avoided.
func (g gen) card() string {
	for {
		br := brands[g.n(len(brands))]
		p := br.prefixes[g.n(len(br.prefixes))]
		body := p + g.str(digits, br.length-len(p)-1)
		pan := body + string(rune('0'+luhnDigit(body)))
		if !strings.HasPrefix(pan, "4111") && !strings.HasPrefix(pan, "4242") {
			return pan
		}
	}
}

// nearCard changes one digit after the IIN: Luhn fails, brand and length hold.
func (g gen) nearCard() string {
	return g.mutateDigit(g.card(), func(i int) bool { return i >= 4 })
}

// groupCard formats a PAN in groups of 4 with a space or dash (15-digit Amex: 4-6-5).
func (g gen) groupCard(pan string) string {
	sep := g.pick(" ", "-")
	if len(pan) == 15 {
		return pan[:4] + sep + pan[4:10] + sep + pan[10:]
	}
	var b strings.Builder
	for i := 0; i < len(pan); i += 4 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(pan[i:min(i+4, len(pan))])
	}
	return b.String()
}

// --- IBAN ----------------------------------------------------------------

// ibanFormats: country, BBAN pattern (n digit, a upper letter, c alnum).
var ibanFormats = []struct{ cc, bban string }{
	{"DE", "nnnnnnnnnnnnnnnnnn"},
	{"GB", "aaaannnnnnnnnnnnnn"},
	{"FR", "nnnnnnnnnncccccccccccnn"},
	{"NL", "aaaannnnnnnnnn"},
	{"ES", "nnnnnnnnnnnnnnnnnnnn"},
	{"IT", "annnnnnnnnncccccccccccc"},
	{"BE", "nnnnnnnnnnnn"},
	{"CH", "nnnnncccccccccccc"},
	{"PL", "nnnnnnnnnnnnnnnnnnnnnnnn"},
}

func (g gen) iban() string {
	f := ibanFormats[g.n(len(ibanFormats))]
	b := make([]byte, len(f.bban))
	for i, c := range []byte(f.bban) {
		switch c {
		case 'n':
			b[i] = digits[g.n(10)]
		case 'a':
			b[i] = upper[g.n(26)]
		default:
			b[i] = (digits + upper)[g.n(36)]
		}
	}
	check := 98 - mod97(string(b)+f.cc+"00")
	return fmt.Sprintf("%s%02d%s", f.cc, check, b)
}

// nearIBAN changes one digit of the BBAN: mod-97 catches every single
// substitution, so the check fails while the country format holds.
func (g gen) nearIBAN() string {
	return g.mutateDigit(g.iban(), func(i int) bool { return i >= 4 })
}

func groupIBAN(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// --- SSN -----------------------------------------------------------------

func (g gen) ssn() string {
	for {
		area := g.between(1, 899)
		if area == 666 {
			continue
		}
		s := fmt.Sprintf("%03d-%02d-%04d", area, g.between(1, 99), g.between(1, 9999))
		if s != "078-05-1120" && s != "219-09-9999" && s != "123-45-6789" {
			return s
		}
	}
}

// nearSSN puts the area in a range never issued (000, 666, 9xx).
func (g gen) nearSSN() string {
	s := g.ssn()
	return g.pick("000", "666", fmt.Sprintf("9%02d", g.n(100))) + s[3:]
}

// --- GitHub tokens -------------------------------------------------------

func githubChecksum(body string) string {
	v := crc32.ChecksumIEEE([]byte(body))
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out[:])
}

func (g gen) githubToken() string {
	body := g.str(base62, 30)
	return g.pick("ghp_", "gho_", "ghu_", "ghs_", "ghr_") + body + githubChecksum(body)
}

// nearGitHub changes one character of the random part: CRC32 catches it.
func (g gen) nearGitHub() string {
	t := []byte(g.githubToken())
	i := 4 + g.n(30)
	c := base62[g.n(62)]
	for c == t[i] {
		c = base62[g.n(62)]
	}
	t[i] = c
	return string(t)
}

// --- AWS -----------------------------------------------------------------

func (g gen) awsKeyID() string {
	for {
		k := g.pick("AKIA", "AKIA", "ASIA") + g.str(base32, 16)
		if !strings.HasSuffix(k, "EXAMPLE") {
			return k
		}
	}
}

// nearAWSKeyID puts a character outside the base32 alphabet ('0', '1',
// '8', '9') in the key, or is the documentation example.
func (g gen) nearAWSKeyID() string {
	if g.chance(0.2) {
		return "AKIAIOSFODNN7EXAMPLE"
	}
	k := []byte(g.awsKeyID())
	k[4+g.n(16)] = g.pick("0", "1", "8", "9")[0]
	return string(k)
}

func (g gen) awsSecret() string {
	for {
		s := g.str(b64chars, 40)
		if entropy(s) >= 4.25 {
			return s
		}
	}
}

// --- JWT -----------------------------------------------------------------

var jwtKey = []byte("evalset-throwaway-hs256-key-not-a-secret")

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (g gen) jwt() string {
	h := g.pick(`{"alg":"HS256","typ":"JWT"}`, `{"typ":"JWT","alg":"HS256"}`, `{"alg":"HS256","kid":"k1"}`)
	p := fmt.Sprintf(`{"sub":"%d","iat":%d,"exp":%d,"scope":"%s"}`, g.between(1000, 999999),
		1700000000+g.n(50000000), 1750000000+g.n(50000000), g.pick("read", "read write", "admin"))
	s := b64u([]byte(h)) + "." + b64u([]byte(p))
	m := hmac.New(sha256.New, jwtKey)
	m.Write([]byte(s))
	return s + "." + b64u(m.Sum(nil))
}

// nearJWT has the JWT shape but a header that is not JSON.
func (g gen) nearJWT() string {
	t := g.jwt()
	i := strings.IndexByte(t, '.')
	return "eyJ" + b64u([]byte(g.pick("hello world!", "not json at all", "alg:HS256 typ:JWT")))[3:] + t[i:]
}

// --- private keys ----------------------------------------------------------

// privateKey is a PEM block (PKCS#8 Ed25519 or SEC1 P-256) made from the
// seeded stream: deterministic, and a throwaway that guards nothing.
func (g gen) privateKey() string {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(g.n(256))
	}
	if g.chance(0.5) {
		der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			panic(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	c := elliptic.P256()
	d := new(big.Int).SetBytes(seed)
	d.Mod(d, new(big.Int).Sub(c.Params().N, big.NewInt(1)))
	d.Add(d, big.NewInt(1))
	raw := d.FillBytes(make([]byte, 32))
	k, err := ecdsa.ParseRawPrivateKey(c, raw)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// publicKey is the hard negative that looks like a private key block.
func (g gen) publicKey() string {
	b := make([]byte, 44)
	for i := range b {
		b[i] = byte(g.n(256))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: b}))
}

// --- provider API keys -------------------------------------------------------

func (g gen) apiKey() string {
	switch g.n(6) {
	case 0:
		return "sk_live_" + g.str(base62, 24)
	case 1:
		return "AIza" + g.str(base62+"-_", 35)
	case 2:
		return fmt.Sprintf("xoxb-%d-%d-%s", g.between(100000000, 999999999), g.between(100000000, 999999999), g.str(base62, 24))
	case 3:
		return "SG." + g.str(base62+"-_", 22) + "." + g.str(base62+"-_", 43)
	case 4:
		return "glpat-" + g.str(base62+"-_", 20)
	default:
		return "npm_" + g.str("abcdefghijklmnopqrstuvwxyz0123456789", 36)
	}
}

func (g gen) password() string {
	return g.pick("Tr0ub4dor", "hunter", "S3cure!", "P@ssw0rd", "correct-horse", "Zq") + g.str(base62+"!#$%", g.between(4, 10))
}

func (g gen) connString() string {
	user := g.pick("app", "svc_orders", "admin", "reporting")
	pw := g.str(base62, g.between(12, 24))
	host := g.pick("db-1.internal.acme.io", "10.20.3.4", "orders.cluster-c9x.eu-west-1.rds.amazonaws.com", "cache.prod.acme.net")
	switch g.n(4) {
	case 0:
		return fmt.Sprintf("postgres://%s:%s@%s:5432/orders?sslmode=require", user, pw, host)
	case 1:
		return fmt.Sprintf("mongodb+srv://%s:%s@%s/app?retryWrites=true", user, pw, host)
	case 2:
		return fmt.Sprintf("redis://:%s@%s:6379/0", pw, host)
	default:
		return fmt.Sprintf("mysql://%s:%s@%s:3306/shop", user, pw, host)
	}
}

func (g gen) sessionToken() string {
	if g.chance(0.5) {
		return g.str(hexchars, 64)
	}
	return g.str(base62+"-_", g.between(32, 48))
}

// --- personal data -----------------------------------------------------------

var firstNames = []string{"Jane", "John", "Maria", "Wei", "Aisha", "Lukas", "Sofia", "Mateo", "Yuki", "Olivia", "Noah", "Fatima", "Liam", "Chloé", "Björn"}
var lastNames = []string{"Smith", "Garcia", "Müller", "Chen", "Okafor", "Rossi", "Nguyen", "O'Brien", "Kowalski", "Dubois", "Haddad", "Johansson"}
var streets = []string{"Main St", "Market Street", "Rue de Rivoli", "Baker Street", "Elm Avenue", "Hauptstraße", "Calle Mayor", "Oak Lane"}
var domains = []string{"gmail.com", "outlook.com", "acme-corp.io", "yahoo.co.uk", "proton.me", "mail.example-shop.de"}

func (g gen) first() string { return g.pick(firstNames...) }
func (g gen) last() string  { return g.pick(lastNames...) }

func (g gen) email(first, last string) string {
	f := strings.ToLower(asciiOnly(first))
	l := strings.ToLower(asciiOnly(last))
	switch g.n(3) {
	case 0:
		return f + "." + l + "@" + g.pick(domains...)
	case 1:
		return f[:1] + l + fmt.Sprint(g.n(100)) + "@" + g.pick(domains...)
	default:
		return f + "+" + g.pick("news", "shop", "work") + "@" + g.pick(domains...)
	}
}

func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// phone is E.164 in plausible mobile/geographic ranges (never 555-01xx).
func (g gen) phone() string {
	switch g.n(4) {
	case 0:
		return fmt.Sprintf("+1%d%02d%d%06d", g.between(2, 9), g.n(100), g.between(2, 9), g.n(1000000))
	case 1:
		return fmt.Sprintf("+447%09d", g.between(400000000, 999999999))
	case 2:
		return fmt.Sprintf("+4915%d%08d", g.between(1, 9), g.n(100000000))
	default:
		return fmt.Sprintf("+336%08d", g.n(100000000))
	}
}

func (g gen) dob() string {
	return fmt.Sprintf("%d-%02d-%02d", g.between(1940, 2005), g.between(1, 12), g.between(1, 28))
}

func (g gen) street() string { return fmt.Sprintf("%d %s", g.between(1, 2500), g.pick(streets...)) }

// publicIP avoids private, loopback, link-local, CGNAT, documentation and multicast ranges.
func (g gen) publicIP() string {
	if g.chance(0.2) {
		return fmt.Sprintf("2a0%d:%x:%x::%x", g.n(10), g.between(0x1000, 0xffff), g.n(0xffff), g.between(1, 0xffff))
	}
	for {
		a := g.between(1, 223)
		b := g.n(256)
		switch {
		case a == 10 || a == 127 || a == 0 || a == 169 && b == 254 || a == 172 && b >= 16 && b < 32 ||
			a == 192 && b == 168 || a == 100 && b >= 64 && b < 128 || a == 192 && b == 0 || a == 198 && (b == 18 || b == 19 || b == 51) || a == 203 && b == 0:
			continue
		}
		return fmt.Sprintf("%d.%d.%d.%d", a, b, g.n(256), g.between(1, 254))
	}
}

func (g gen) passport() string {
	if g.chance(0.5) {
		return fmt.Sprint(g.between(500000000, 599999999))
	}
	return g.str(upper, 1) + g.str(digits, 8)
}

func (g gen) bankAccount() string { return g.str("123456789", 1) + g.str(digits, g.between(7, 11)) }

// --- hard negatives -----------------------------------------------------------

func (g gen) uuid() string {
	h := g.str(hexchars, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + g.pick("8", "9", "a", "b") + h[17:20] + "-" + h[20:]
}

func (g gen) epochS() string { return fmt.Sprint(g.between(1600000000, 1800000000)) }
func (g gen) epochMS() string {
	return fmt.Sprint(int64(g.between(1600000000, 1800000000))*1000 + int64(g.n(1000)))
}

func (g gen) orderNumber() string { return g.str("123456789", 1) + g.str(digits, g.between(15, 18)) }

func (g gen) tracking() string {
	if g.chance(0.5) {
		return "1Z" + g.str(digits+upper, 16)
	}
	return g.str("123456789", 1) + g.str(digits, 11)
}

// ean13 has a valid GTIN check digit (which is not Luhn).
func (g gen) ean13() string {
	b := g.pick("40", "50", "73", "87", "978") + g.str(digits, 12)
	b = b[:12]
	s := 0
	for i, c := range b {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		s += d
	}
	return b + string(rune('0'+(10-s%10)%10))
}

func (g gen) hash() string { return g.str(hexchars, g.pick3(32, 40, 64)) }
func (g gen) pick3(a, b, c int) int {
	return []int{a, b, c}[g.n(3)]
}
func (g gen) b64blob() string {
	return base64.StdEncoding.EncodeToString([]byte(g.str(base62, g.between(30, 90))))
}
func (g gen) version() string {
	if g.chance(0.5) {
		return fmt.Sprintf("%d.%d.%d", g.n(5), g.n(30), g.n(100))
	}
	return fmt.Sprintf("%d.%d.%d.%d", g.n(12), g.n(10), g.n(10), g.between(1000, 9999))
}
func (g gen) price() string { return fmt.Sprintf("%d.%02d", g.between(1, 2500), g.n(100)) }
func (g gen) isoTime() string {
	return fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", g.between(19, 26), g.between(1, 12), g.between(1, 28), g.n(24), g.n(60), g.n(60))
}
func (g gen) asset() string {
	return g.pick("icon", "logo", "avatar", "banner") + "@" + g.pick("2x", "3x") + "." + g.pick("png", "webp")
}
func (g gen) placeholder() string {
	return g.pick("********", "REDACTED", "${DB_PASSWORD}", "{{ secrets.API_KEY }}", "changeme", "<your-api-key>", "xxxxxxxxxxxxxxxx", "")
}
