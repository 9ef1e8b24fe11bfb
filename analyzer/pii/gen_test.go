package pii

import (
	"encoding/base64"
	"math/rand/v2"
)

// Generators for checksum-valid positives; seeded, so failures reproduce.

func luhnDigit(body string) byte {
	for c := byte('0'); c <= '9'; c++ {
		if luhn([]byte(body + string(c))) {
			return c
		}
	}
	panic("unreachable")
}

func genCard(r *rand.Rand, prefix string, n int) string {
	b := []byte(prefix)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(b) + string(luhnDigit(string(b)))
}

func ibanCheck(cc, bban string) string {
	s := bban + cc + "00"
	rem := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	ck := 98 - rem
	return cc + string([]byte{byte('0' + ck/10), byte('0' + ck%10)}) + bban
}

func genDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func genGitHub(r *rand.Rand, prefix string) string {
	body := make([]byte, 30)
	for i := range body {
		body[i] = base62[r.IntN(62)]
	}
	ck := githubChecksum(body)
	return prefix + string(body) + string(ck[:])
}

func genJWT(header, payload string) string {
	e := base64.RawURLEncoding
	return e.EncodeToString([]byte(header)) + "." + e.EncodeToString([]byte(payload)) + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
}

func genAlnum(r *rand.Rand, n int, alpha string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	return string(b)
}
