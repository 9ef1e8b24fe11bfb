package evalset

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
)

// The checks the generator's positives pass and its near-misses fail.
// They are exported so that an evaluation can tell a classifier's miss
// from a generator bug.

func luhnDigit(body string) int {
	s := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		s += d
	}
	return (10 - s%10) % 10
}

// Luhn reports whether the digits of s (separators ' ' and '-' ignored) pass the Luhn check.
func Luhn(s string) bool {
	d := strings.NewReplacer(" ", "", "-", "").Replace(s)
	if len(d) < 2 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return luhnDigit(d[:len(d)-1]) == int(d[len(d)-1]-'0')
}

// mod97 of a string of digits and upper-case letters (A=10 … Z=35).
func mod97(s string) int {
	m := 0
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			m = (m*100 + int(c-'A'+10)) % 97
		} else {
			m = (m*10 + int(c-'0')) % 97
		}
	}
	return m
}

// IBANValid is the ISO 13616 mod-97 check (spaces ignored).
func IBANValid(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 5 {
		return false
	}
	return mod97(s[4:]+s[:4]) == 1
}

// GitHubValid checks the CRC32 tail of a classic GitHub token.
func GitHubValid(t string) bool {
	return len(t) == 40 && t[3] == '_' && githubChecksum(t[4:34]) == t[34:]
}

// SSNValid is the structural SSN rule (no checksum exists).
func SSNValid(s string) bool {
	if len(s) != 11 || s[3] != '-' || s[6] != '-' {
		return false
	}
	area, group, serial := s[:3], s[4:6], s[7:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// AWSKeyIDValid: prefix, base32 alphabet, not the documentation example.
func AWSKeyIDValid(k string) bool {
	if len(k) != 20 || !(strings.HasPrefix(k, "AKIA") || strings.HasPrefix(k, "ASIA")) || strings.HasSuffix(k, "EXAMPLE") {
		return false
	}
	for _, c := range k[4:] {
		if !strings.ContainsRune(base32, c) {
			return false
		}
	}
	return true
}

// JWTValid: three base64url segments, the header decoding to a JSON object with "alg".
func JWTValid(t string) bool {
	p := strings.Split(t, ".")
	if len(p) != 3 {
		return false
	}
	h, err := base64.RawURLEncoding.DecodeString(p[0])
	if err != nil {
		return false
	}
	var m map[string]any
	if json.Unmarshal(h, &m) != nil {
		return false
	}
	_, ok := m["alg"]
	return ok
}

func entropy(s string) float64 {
	var c [256]int
	for i := 0; i < len(s); i++ {
		c[s[i]]++
	}
	e := 0.0
	for _, k := range c {
		if k > 0 {
			p := float64(k) / float64(len(s))
			e -= p * math.Log2(p)
		}
	}
	return e
}
