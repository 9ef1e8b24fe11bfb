package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
)

// Mask returns a preview that is safe to store: enough to recognise a value
// (last four digits, an email's domain, a key's public prefix) and never a
// secret's middle. Short secrets are masked whole.
func Mask(t Type, value []byte) string {
	v, _ := trimSpace(value)
	switch t {
	case CreditCard:
		var dg [20]byte
		n := digits(v, dg[:])
		if n < 4 {
			return "****"
		}
		return "**** **** **** " + string(dg[n-4:n])
	case USSSN:
		var dg [20]byte
		n := digits(v, dg[:])
		if n < 4 {
			return "***-**-****"
		}
		return "***-**-" + string(dg[n-4:n])
	case Email:
		at := strings.LastIndexByte(string(v), '@')
		if at < 1 {
			return "***"
		}
		return string(v[:1]) + "***@" + strings.ToLower(string(v[at+1:]))
	case Phone, BankAccount, PassportNumber:
		var b strings.Builder
		var dg [20]byte
		n := digits(v, dg[:])
		if len(v) > 0 && v[0] == '+' {
			b.WriteByte('+')
		}
		for i := 0; i < n-2; i++ {
			b.WriteByte('*')
		}
		if n >= 6 {
			b.Write(dg[n-2 : n])
		} else if n >= 2 {
			b.WriteString("**")
		}
		if n == 0 {
			return "***"
		}
		return b.String()
	case IBAN:
		var c [34]byte
		n := 0
		for _, x := range v {
			if isAlnum(x) && n < len(c) {
				c[n] = x
				n++
			}
		}
		if n < 8 {
			return "****"
		}
		return string(c[:2]) + strings.Repeat("*", n-6) + string(c[n-4:n])
	case IPAddress:
		if i := strings.IndexByte(string(v), '.'); i > 0 {
			return string(v[:i]) + ".*.*.*"
		}
		if i := strings.IndexByte(string(v), ':'); i > 0 {
			return string(v[:i]) + ":****"
		}
		return "***"
	case DateOfBirth:
		b := []byte(string(v))
		for i, c := range b {
			if isAlnum(c) {
				b[i] = '*'
			}
		}
		return string(b)
	case PersonName, StreetAddress:
		if len(v) == 0 {
			return "***"
		}
		return string(v[:1]) + "***"
	case ConnectionString:
		return maskConn(v)
	case PrivateKey:
		if i := strings.Index(string(v), "-----"); i == 0 {
			if j := strings.Index(string(v[5:]), "-----"); j > 0 {
				return string(v[:j+10]) + "****"
			}
		}
		return "****"
	case Password:
		return "********"
	case UKNINO, UKNHSNumber, CASIN, INAadhaar, INPAN, ESDNI, ESNIE, BRCPF:
		return maskID(v)
	}
	return maskSecret(v)
}

// maskID keeps the separators and the last four letters or digits of a
// national ID (the masked Aadhaar convention): "*** *** 5919",
// "******78Z", "***.***.*47-25".
func maskID(v []byte) string {
	n := 0
	for _, c := range v {
		if isAlnum(c) {
			n++
		}
	}
	b := []byte(string(v))
	for i, c := range b {
		if isAlnum(c) {
			if n > 4 {
				b[i] = '*'
			}
			n--
		}
	}
	return string(b)
}

func digits(v []byte, dg []byte) int {
	n := 0
	for _, c := range v {
		if isDigit(c) && n < len(dg) {
			dg[n] = c
			n++
		}
	}
	return n
}

// maskSecret keeps a provider prefix (AKIA, ghp_, sk_live_, eyJ) and the
// last four, with the length preserved: AKIA************MPLE.
func maskSecret(v []byte) string {
	if len(v) < 16 {
		return strings.Repeat("*", len(v))
	}
	pre := 0
	switch {
	case hasPrefix(v, "AKIA"), hasPrefix(v, "ASIA"), hasPrefix(v, "AIza"), hasPrefix(v, "dapi"):
		pre = 4
	case hasPrefix(v, "eyJ"):
		pre = 3
	default:
		// up to the last '_' or '-' of a short prefix: ghp_, sk_live_, xoxb-, glpat-
		for i := 0; i < 12 && i < len(v)/2; i++ {
			if v[i] == '_' || v[i] == '-' {
				pre = i + 1
			}
		}
	}
	return string(v[:pre]) + strings.Repeat("*", len(v)-pre-4) + string(v[len(v)-4:])
}

// maskConn hides the password of scheme://user:pass@host; other forms are
// masked whole after the scheme.
func maskConn(v []byte) string {
	s := string(v)
	if i := strings.Index(s, "://"); i > 0 {
		rest := s[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at > 0 {
			if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
				return s[:i+3] + rest[:c] + ":****" + rest[at:]
			}
		}
		return s[:i+3] + "****"
	}
	return "****"
}

// Fingerprinter computes keyed fingerprints so that findings can be
// deduplicated and correlated without storing values: HMAC-SHA256 under a
// per-deployment key (a plain hash of an SSN or a PAN is brute-forced in
// seconds). Safe for concurrent use.
type Fingerprinter struct {
	pool sync.Pool
}

// NewFingerprinter copies key; use at least 32 random bytes kept outside the
// findings store.
func NewFingerprinter(key []byte) *Fingerprinter {
	k := append([]byte(nil), key...)
	f := &Fingerprinter{}
	f.pool.New = func() any { return hmac.New(sha256.New, k) }
	return f
}

// Sum returns hex(HMAC-SHA256(key, type ‖ 0 ‖ normalised value)[:16]).
// Normalisation: digits only for cards, SSNs, phones and bank accounts,
// lower case for emails, upper case without separators for IBANs and
// country IDs, trimmed otherwise; so formatting differences give one
// fingerprint.
func (f *Fingerprinter) Sum(t Type, value []byte) string {
	h := f.pool.Get().(hash.Hash)
	defer f.pool.Put(h)
	h.Reset()
	h.Write([]byte{byte(t), 0})
	v, _ := trimSpace(value)
	var buf [64]byte
	for len(v) > 0 {
		n := 0
		for n < len(buf) && len(v) > 0 {
			c := v[0]
			v = v[1:]
			switch t {
			case CreditCard, USSSN, Phone, BankAccount:
				if !isDigit(c) {
					continue
				}
			case Email:
				c = lower(c)
			case IBAN, UKNINO, UKNHSNumber, CASIN, INAadhaar, INPAN, ESDNI, ESNIE, BRCPF:
				if !isAlnum(c) {
					continue
				}
				if isLower(c) {
					c -= 'a' - 'A'
				}
			}
			buf[n] = c
			n++
		}
		h.Write(buf[:n])
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
