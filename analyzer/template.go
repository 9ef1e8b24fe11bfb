package analyzer

import "strings"

// Template maps a decoded request path to its route template by replacing
// identifier-shaped segments with {id}: integers, UUIDs, long hex strings
// (hashes, Mongo ObjectIds), and long tokens that mix letters and digits.
// It is stateless, so the same path always gives the same template on any
// analyzer instance. (The learned, per-host templating with parameter names
// and OpenAPI matching is the inventory's job, docs/inventory.md.)
func Template(path string) string {
	if path == "" {
		return "/"
	}
	if !strings.ContainsAny(path, "0123456789") {
		return path // no segment can be an id: the common fast path
	}
	var b strings.Builder
	b.Grow(len(path))
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if isID(seg) {
			b.WriteString("{id}")
		} else {
			b.WriteString(seg)
		}
	}
	return b.String()
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	var digits, hex, alpha, other int
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			alpha++
		case c == '-' || c == '_' || c == '.' || c == '~' || c == ':':
			other++
		default:
			return false // not an identifier token
		}
	}
	switch {
	case digits == len(s):
		return true // 42, 20240101
	case len(s) == 36 && other == 4 && alpha == 0 && s[8] == '-' && s[13] == '-':
		return true // UUID
	case alpha == 0 && other == 0 && len(s) >= 16 && digits > 0:
		return true // hex: ObjectId (24), hashes (32, 40, 64)
	case digits > 0 && len(s) >= 16 && digits*4 >= len(s):
		return true // long token with many digits: base64url ids, ORD-2024-000123...
	case digits >= 3 && other > 0 && digits*2 >= len(s)-other:
		return true // SKU-84721, 2024-05-01
	}
	return false
}
