package flow

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// AppendJSON appends the JSON form of e (one object, no trailing newline) to
// dst and returns the extended slice. It is the JSONL record format
// documented field by field in docs/exchange-format.md.
//
// It is hand-written rather than built on encoding/json because it runs once
// per exchange on the output path: with a dst of sufficient capacity it
// allocates nothing. Every string is escaped for JSON; invalid UTF-8 is
// replaced by U+FFFD byte by byte (as encoding/json does), so the output is
// always valid JSON and valid UTF-8 whatever the record holds.
//
// Field order is fixed; fields marked "omitted when zero" in the format
// document are left out when empty, the others are always present.
func AppendJSON(dst []byte, e *Exchange) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = e.Start.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if !e.End.IsZero() {
		dst = append(dst, `,"end_ts":"`...)
		dst = e.End.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, `","duration_us":`...)
		d := e.End.Sub(e.Start)
		if d < 0 {
			d = 0
		}
		dst = strconv.AppendInt(dst, int64(d/time.Microsecond), 10)
	}

	dst = append(dst, `,"client_ip":"`...)
	dst = appendAddr(dst, e.Client)
	dst = append(dst, `","client_port":`...)
	dst = strconv.AppendUint(dst, uint64(e.Client.Port()), 10)
	dst = append(dst, `,"server_ip":"`...)
	dst = appendAddr(dst, e.Server)
	dst = append(dst, `","server_port":`...)
	dst = strconv.AppendUint(dst, uint64(e.Server.Port()), 10)

	dst = appendUintField(dst, `,"vlan":`, uint64(e.Outer.VLAN))
	dst = appendUintField(dst, `,"inner_vlan":`, uint64(e.Outer.InnerVLAN))
	dst = appendUintField(dst, `,"vni":`, uint64(e.Outer.VNI))
	if e.Outer.Tunnel != TunnelNone {
		dst = append(dst, `,"tunnel":`...)
		dst = appendString(dst, e.Outer.Tunnel.String())
	}
	dst = appendUintField(dst, `,"session":`, uint64(e.Outer.Session))

	dst = appendStringField(dst, `,"proto":`, e.Proto)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, e.Method)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, e.Host)
	dst = appendUintField(dst, `,"host_port":`, uint64(e.HostPort))
	dst = appendStringField(dst, `,"target":`, e.Target)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, e.Path)
	dst = appendStringField(dst, `,"path_decoded":`, e.PathDecoded)
	dst = append(dst, `,"query":`...)
	dst = appendString(dst, e.Query)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = appendStringField(dst, `,"reason":`, e.Reason)
	if len(e.Informational) > 0 {
		dst = append(dst, `,"informational":[`...)
		for i, s := range e.Informational {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(s), 10)
		}
		dst = append(dst, ']')
	}
	dst = appendHeaders(dst, `,"request_headers":`, e.RequestHeaders)
	dst = appendHeaders(dst, `,"response_headers":`, e.ResponseHeaders)

	dst = appendBody(dst, &e.Request, `,"request_body_bytes":`, `,"request_decoded_bytes":`,
		`,"request_content_type":`, `,"request_content_encoding":`, `,"request_body":`, `,"request_body_base64":true`)
	dst = appendBody(dst, &e.Response, `,"response_body_bytes":`, `,"response_decoded_bytes":`,
		`,"response_content_type":`, `,"response_content_encoding":`, `,"response_body":`, `,"response_body_base64":true`)

	if len(e.Credentials) > 0 {
		dst = append(dst, `,"credentials":[`...)
		for i := range e.Credentials {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCredential(dst, &e.Credentials[i])
		}
		dst = append(dst, ']')
	}

	dst = append(dst, `,"flags":[`...)
	first := true
	for i := 0; Flags(1)<<i < flagEnd; i++ {
		if e.Flags&(1<<i) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, flagNames[i]...) // names are plain ASCII: no escaping needed
		dst = append(dst, '"')
	}
	dst = append(dst, "]}"...)
	return dst
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (e *Exchange) MarshalJSON() ([]byte, error) {
	return AppendJSON(make([]byte, 0, 1024), e), nil
}

func appendAddr(dst []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	if !a.IsValid() {
		return dst
	}
	// Zones cannot be set on addresses built from packets, but a
	// hand-made record might carry one: AppendTo writes it after '%',
	// which needs no escaping except for the zone itself.
	if a.Zone() != "" {
		return appendStringBody(dst, a.String())
	}
	return a.AppendTo(dst)
}

func appendUintField(dst []byte, key string, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendUint(dst, v, 10)
}

func appendStringField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, v)
}

func appendHeaders(dst []byte, key string, hs []Header) []byte {
	if len(hs) == 0 {
		return dst
	}
	dst = append(dst, key...)
	dst = append(dst, '[')
	for i := range hs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = appendString(dst, hs[i].Name)
		dst = append(dst, ',')
		dst = appendString(dst, hs[i].Value)
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

func appendBody(dst []byte, b *Body, kWire, kDecoded, kType, kEnc, kBody, kB64 string) []byte {
	dst = append(dst, kWire...)
	dst = strconv.AppendInt(dst, b.WireBytes, 10)
	if b.DecodedBytes != 0 {
		dst = append(dst, kDecoded...)
		dst = strconv.AppendInt(dst, b.DecodedBytes, 10)
	}
	dst = appendStringField(dst, kType, b.ContentType)
	dst = appendStringField(dst, kEnc, b.ContentEncoding)
	if len(b.Data) == 0 {
		return dst
	}
	dst = append(dst, kBody...)
	if utf8.Valid(b.Data) {
		// A read-only view: appendString never writes through it.
		return appendString(dst, unsafe.String(unsafe.SliceData(b.Data), len(b.Data)))
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b.Data)
	dst = append(dst, '"')
	return append(dst, kB64...)
}

func appendCredential(dst []byte, c *Credential) []byte {
	dst = append(dst, `{"location":`...)
	dst = appendString(dst, c.Location)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, c.Name)
	dst = append(dst, `,"scheme":`...)
	dst = appendString(dst, c.Scheme)
	dst = append(dst, `,"fingerprint":`...)
	dst = appendString(dst, c.Fingerprint)
	dst = appendStringField(dst, `,"user":`, c.User)
	if j := c.JWT; j != nil {
		dst = append(dst, `,"jwt":{"sub":`...)
		dst = appendString(dst, j.Sub)
		dst = append(dst, `,"iss":`...)
		dst = appendString(dst, j.Iss)
		dst = append(dst, `,"aud":[`...)
		for i, a := range j.Aud {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, a)
		}
		dst = append(dst, `],"exp":`...)
		dst = strconv.AppendInt(dst, j.Exp, 10)
		dst = append(dst, `,"alg":`...)
		dst = appendString(dst, j.Alg)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is true for ASCII bytes that appear verbatim inside a JSON
// string. '<', '>' and '&' are left as they are: the output is JSONL for
// machines, not HTML.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendJSONChars appends s escaped for the inside of a JSON string (no
// quotes): invalid UTF-8 as U+FFFD, U+2028/U+2029 escaped, '<', '>' and
// '&' as they are. Other JSON writers of apitap (the alert formats) share it.
func AppendJSONChars(dst []byte, s string) []byte { return appendStringBody(dst, s) }

// appendStringBody appends the escaped content of s without quotes.
func appendStringBody(dst []byte, s string) []byte {
	start := 0 // s[start:i] is pending verbatim output
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers
		// that treat them as line ends; escaping them costs nothing.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
