package alert

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apitap/apitap/flow"
)

// docs/alerting-formats.md is the field mapping of every format, its
// escaping rules and its severity scale; keep it in step with the encoders.

// Append appends a's representation in format f to dst. For CEF and LEEF
// it is the syslog MSG payload (one line, no framing); for JSON, OCSF and ECS
// one JSON object without a trailing newline.
func Append(dst []byte, f Format, a *Alert) ([]byte, error) {
	switch f {
	case JSON:
		return appendAlertJSON(dst, a), nil
	case OCSF:
		return appendOCSF(dst, a), nil
	case ECS:
		return appendECS(dst, a), nil
	case CEF:
		return appendCEF(dst, a), nil
	case LEEF:
		return appendLEEF(dst, a), nil
	}
	return dst, fmt.Errorf("alert: unknown format %q", string(f))
}

var formats = [...]Format{JSON, OCSF, ECS, CEF, LEEF}

// ParseFormat validates a configured format name.
func ParseFormat(s string) (Format, error) {
	// Case and surrounding blanks are forgiven: "CEF" is how people write it.
	n := strings.ToLower(strings.TrimSpace(s))
	for _, f := range formats {
		if string(f) == n {
			return f, nil
		}
	}
	return "", fmt.Errorf("alert: unknown format %q (want json, ocsf, ecs, cef or leef)", s)
}

// appendAlertJSON is the "json" format: the Alert's own JSON form, which
// is also the spool's record.
func appendAlertJSON(dst []byte, a *Alert) []byte {
	if len(a.Evidence) > 0 && !json.Valid(a.Evidence) {
		// json.Marshal refuses invalid raw JSON; keep it as a string
		// rather than lose the alert (Policy only lets valid JSON through).
		c := *a
		c.Evidence = appendJSONString(nil, string(a.Evidence))
		a = &c
	}
	b, err := json.Marshal(a)
	if err != nil {
		// Only a time outside years 0-9999 fails: a broken clock, not a
		// reason to drop the alert.
		c := *a
		for _, t := range [...]*time.Time{&c.Time, &c.FirstSeen, &c.LastSeen} {
			if y := t.Year(); y < 0 || y > 9999 {
				*t = time.Time{}
			}
		}
		b, _ = json.Marshal(&c)
	}
	return append(dst, b...)
}

// productVersion is the version in the CEF and LEEF headers, where a
// field cannot be empty.
func productVersion(a *Alert) string {
	if a.Version == "" {
		return "dev"
	}
	return a.Version
}

// addrFamily is 4 or 6 when s is an IPv4 or IPv6 address a SIEM's address
// field takes, 0 otherwise (not an address, or one with a zone).
func addrFamily(s string) int {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		// A host name or a zone ends here, without ParseAddr's error to
		// allocate.
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':') {
			return 0
		}
	}
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return 0
	case ip.Is4():
		return 4
	}
	return 6
}

// The 1-10 scale of CEF and LEEF, by SeverityLevel.
var tenScale = [...]int64{1, 3, 5, 8, 10}

// textMode is how appendText writes a string into a syslog line.
type textMode uint8

const (
	cefHeader  textMode = iota // \ and | escaped, line breaks and controls → space
	cefValue                   // \ and = escaped, CR/LF → \r \n, other controls → space
	leefHeader                 // | → /, controls → space
	leefValue                  // controls (the tab delimiter, CR, LF) → space
)

// plainASCII reports whether c is written as itself in mode m.
func plainASCII(c byte, m textMode) bool {
	if c < 0x20 || c == 0x7f {
		return false
	}
	switch m {
	case cefHeader:
		return c != '\\' && c != '|'
	case cefValue:
		return c != '\\' && c != '='
	case leefHeader:
		return c != '|'
	}
	return true
}

// lineBreaking reports the non-ASCII runes a syslog line must not carry:
// C1 controls (U+0085 is a line break) and the Unicode line and paragraph
// separators, which some receivers and Java's regular expressions treat as
// line ends.
func lineBreaking(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r == 0x2028 || r == 0x2029
}

// appendText appends s in mode m; invalid UTF-8 becomes U+FFFD byte by
// byte, as encoding/json does, since CEF and LEEF are UTF-8.
// pairs writes key=value pairs after a header, sep between pairs, values
// in text mode m: the CEF extension and the LEEF attributes.
type pairs struct {
	b     []byte
	start int // where the pairs start in b
	sep   byte
	m     textMode
}

func (w *pairs) key(k string) {
	if len(w.b) > w.start {
		w.b = append(w.b, w.sep)
	}
	w.b = append(w.b, k...)
	w.b = append(w.b, '=')
}

// str writes k=v unless v is empty.
func (w *pairs) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendText(w.b, v, w.m)
}

func appendText(dst []byte, s string, m textMode) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII(c, m) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case m == cefHeader && (c == '\\' || c == '|'),
				m == cefValue && (c == '\\' || c == '='):
				dst = append(dst, '\\', c)
			case m == cefValue && c == '\n':
				dst = append(dst, '\\', 'n')
			case m == cefValue && c == '\r':
				dst = append(dst, '\\', 'r')
			case m == leefHeader && c == '|':
				dst = append(dst, '/')
			default:
				dst = append(dst, ' ')
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
		case lineBreaking(r):
			dst = append(dst, s[start:i]...)
			dst = append(dst, ' ')
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	return append(dst, s[start:]...)
}

// appendEvidenceText appends the evidence as text in mode m: valid JSON
// without its insignificant white space (one line, and nothing trailing
// that a CEF parser would trim), anything else as it is.
func appendEvidenceText(dst []byte, raw json.RawMessage, m textMode) []byte {
	s := bytesView(raw)
	if !json.Valid(raw) {
		return appendText(dst, s, m)
	}
	in, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				in = false
			}
		case c == '"':
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = appendText(dst, s[start:i], m)
			start = i + 1
		}
	}
	return appendText(dst, s[start:], m)
}

// JSON writing for OCSF and ECS: members are appended to an open object,
// a comma first unless the object (or array) was just opened. Every value
// ends with a byte other than '{' and '[', so the test is sound.

func jsonSep(b []byte) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	return b
}

func jsonKey(b []byte, k string) []byte {
	b = append(jsonSep(b), '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// jsonStr writes member k unless v is empty.
func jsonStr(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(jsonKey(b, k), v)
}

func jsonInt(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(jsonKey(b, k), v, 10)
}

func jsonUint(b []byte, k string, v uint64) []byte {
	return strconv.AppendUint(jsonKey(b, k), v, 10)
}

// jsonMillis writes t as milliseconds since the epoch, unless it is zero.
func jsonMillis(b []byte, k string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return jsonInt(b, k, t.UnixMilli())
}

// jsonTime writes t as an RFC 3339 UTC string, unless it is zero.
func jsonTime(b []byte, k string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(jsonKey(b, k), '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// jsonEvidence writes the evidence: valid JSON compacted (a pretty-printed
// object must not break the one-object-per-line framing), anything else as
// a string.
func jsonEvidence(b []byte, k string, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return b
	}
	b = jsonKey(b, k)
	if !json.Valid(raw) {
		return appendJSONString(b, bytesView(raw))
	}
	in, esc := false, false
	for _, c := range raw {
		switch {
		case in:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				in = false
			}
		case c == '"':
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		b = append(b, c)
	}
	return b
}

// bytesView is b as a string without a copy, for reading during a call
// while the caller holds b unchanged (the alert's evidence).
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: invalid UTF-8 becomes
// U+FFFD and U+2028/U+2029 are escaped, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = appendJSONChars(append(b, '"'), s)
	return append(b, '"')
}

// appendJSONChars appends s escaped for a JSON string, without the quotes
// (the same escaping as the exchange records').
func appendJSONChars(b []byte, s string) []byte { return flow.AppendJSONChars(b, s) }
