package syslog

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Header is the part of a frame that is the same for all of a Sender's
// messages.
type Header struct {
	Facility int // 0-23; outside that, DefaultFacility
	Hostname string
	AppName  string
	ProcID   string
}

// RFC 5424 header field lengths.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
)

// timeLayout is RFC 5424's TIMESTAMP (RFC 3339) in UTC with microseconds,
// always 27 bytes.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// AppendFrame appends m's RFC 5424 message (SYSLOG-MSG, without any
// transport framing) to dst:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// PRI is facility*8+severity. TIMESTAMP is m.Time in UTC with microseconds
// ("-", RFC 5424's NILVALUE, for the zero time or a year outside
// 0000-9999). HOSTNAME, APP-NAME, PROCID and MSGID are printable US-ASCII
// (33-126): any other character (each UTF-8 sequence, or each byte that is
// not valid UTF-8) is replaced with '_', then the field is cut to its
// maximum length (255, 48, 128, 32); an empty field is "-".
// STRUCTURED-DATA is "-": CEF and LEEF carry their fields in MSG.
//
// MSG is m.Payload as it is, without the UTF-8 BOM RFC 5424 puts before a
// UTF-8 MSG: CEF and LEEF parsers (ArcSight, QRadar, Sentinel, Splunk's CEF
// add-ons) expect "CEF:" or "LEEF:" as the first bytes of MSG, and a BOM
// there breaks their match or ends up in the first field; without a BOM,
// RFC 5424 leaves MSG's encoding to the receiver, and every SIEM reads it
// as UTF-8. An empty payload is sent without the space before MSG.
//
// When maxBytes > 0 and the message would be longer, the payload is cut so
// that the message is at most maxBytes long: at the start of the UTF-8
// sequence that would cross the limit (never inside a valid sequence), and
// one byte earlier if the cut payload then ends in an odd number of
// backslashes (half of a CEF/LEEF escape). truncated reports the cut. The
// header is never cut: when it alone is longer than maxBytes, the message
// is the header with an empty MSG (New rejects a configuration where that
// can happen).
func AppendFrame(dst []byte, h Header, m Message, maxBytes int) (out []byte, truncated bool) {
	start := len(dst)
	fac := h.Facility
	if fac < 0 || fac > 23 {
		fac = DefaultFacility
	}
	sev := m.Severity
	if sev < 0 || sev > 7 {
		sev = 4
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(fac*8+sev), 10)
	dst = append(dst, ">1 "...)
	dst = appendTime(dst, m.Time)
	dst = append(dst, ' ')
	dst = appendField(dst, h.Hostname, maxHostname)
	dst = append(dst, ' ')
	dst = appendField(dst, h.AppName, maxAppName)
	dst = append(dst, ' ')
	dst = appendField(dst, h.ProcID, maxProcID)
	dst = append(dst, ' ')
	dst = appendField(dst, m.MsgID, maxMsgID)
	dst = append(dst, " -"...)
	p := m.Payload
	if maxBytes > 0 {
		room := maxBytes - (len(dst) - start) - 1 // the SP before MSG
		if len(p) > room {
			p = cut(p, room)
			truncated = true
		}
	}
	if len(p) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, p...)
	}
	return dst, truncated
}

// AppendOctetCounted appends m as AppendFrame does, preceded by its
// length in bytes and a space: RFC 6587's octet-counting framing, also
// RFC 5425's (TLS).
func AppendOctetCounted(dst []byte, h Header, m Message, maxBytes int) (out []byte, truncated bool) {
	start := len(dst)
	dst, truncated = AppendFrame(dst, h, m, maxBytes)
	n := len(dst) - start
	var num [20]byte
	prefix := strconv.AppendInt(num[:0], int64(n), 10)
	prefix = append(prefix, ' ')
	// Shift the message right by the prefix's length (copy is a memmove)
	// and put the prefix in front: no second buffer.
	dst = append(dst, prefix...)
	copy(dst[start+len(prefix):], dst[start:start+n])
	copy(dst[start:], prefix)
	return dst, truncated
}

// appendTime appends t as TIMESTAMP, or "-".
func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, '-')
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return append(dst, '-')
	}
	return t.AppendFormat(dst, timeLayout)
}

// appendField appends s as a header field: printable US-ASCII, at most max
// bytes, "-" when empty.
func appendField(dst []byte, s string, max int) []byte {
	n := 0
	for i := 0; i < len(s) && n < max; {
		c := s[i]
		if c >= 33 && c <= 126 {
			dst = append(dst, c)
			i++
		} else {
			dst = append(dst, '_')
			if c < utf8.RuneSelf {
				i++
			} else {
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
			}
		}
		n++
	}
	if n == 0 {
		dst = append(dst, '-')
	}
	return dst
}

// sanitized is appendField's output as a string.
func sanitized(s string, max int) string { return string(appendField(nil, s, max)) }

// maxHeaderLen is the longest message a Header can produce with an empty
// payload plus the SP before MSG: PRI up to 191, a full TIMESTAMP, a
// 32-byte MSGID.
func maxHeaderLen(h Header) int {
	return len("<191>1 ") + len(timeLayout) + 1 + len(sanitized(h.Hostname, maxHostname)) + 1 +
		len(sanitized(h.AppName, maxAppName)) + 1 + len(sanitized(h.ProcID, maxProcID)) + 1 + maxMsgID + len(" -") + 1
}

// cut returns p's longest prefix of at most n bytes that does not end
// inside a valid UTF-8 sequence nor in half of a backslash escape.
func cut(p []byte, n int) []byte {
	if n <= 0 {
		return p[:0]
	}
	if n >= len(p) {
		return p
	}
	// The sequence that p[n] belongs to starts at most UTFMax-1 bytes
	// before it; if it is a valid sequence running past n, cut before it.
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if i < n {
				if r, size := utf8.DecodeRune(p[i:]); r != utf8.RuneError || size > 1 {
					if i+size > n {
						n = i
					}
				}
			}
			break
		}
	}
	p = p[:n]
	// An odd run of trailing backslashes ends in half of an escape
	// ("\\" or "\=" in CEF, "\|" in headers).
	k := 0
	for k < len(p) && p[len(p)-1-k] == '\\' {
		k++
	}
	if k%2 == 1 {
		p = p[:len(p)-1]
	}
	return p
}
