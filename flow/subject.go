package flow

import (
	"encoding/hex"
	"hash"
)

// SubjectDomain prefixes a JWT subject under the HMAC, so a subject's
// fingerprint never equals a credential's or a PII value's.
const SubjectDomain = "jwt-sub"

// AppendSubjectFingerprint appends a JWT subject's keyed fingerprint,
// "fp:" and the 32 hex digits of HMAC(key, SubjectDomain ‖ 0 ‖ sub)[:16],
// to dst. mac is an HMAC-SHA256 under the key; it is reset first. The
// sensor (sensor.http.jwt_subjects) and the analyzer (for raw subjects)
// both name subjects this way (docs/privacy.md).
func AppendSubjectFingerprint(dst []byte, mac hash.Hash, sub string) []byte {
	mac.Reset()
	mac.Write([]byte(SubjectDomain))
	mac.Write([]byte{0})
	mac.Write([]byte(sub))
	dst = append(dst, "fp:"...)
	start := len(dst)
	dst = mac.Sum(dst)
	var sum [16]byte
	copy(sum[:], dst[start:])
	return hex.AppendEncode(dst[:start], sum[:])
}

// IsSubjectFingerprint reports whether a JWT subject is such a
// fingerprint: "fp:" and 32 lower-case hex digits.
func IsSubjectFingerprint(sub string) bool {
	if len(sub) != 3+32 || sub[:3] != "fp:" {
		return false
	}
	for i := 3; i < len(sub); i++ {
		if c := sub[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
