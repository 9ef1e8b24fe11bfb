// Package flow holds the records that leave the sensor: the HTTP exchange and
// the loss record. It is the contract between the sensor and everything that
// consumes it (JSONL output today, Kafka and the analyzer later), so fields are
// only ever added, never renamed or repurposed. docs/exchange-format.md
// documents every field; keep the two in step.
package flow

import (
	"net/netip"
	"time"
)

// Exchange is one HTTP request and its response as seen on the wire.
//
// Ownership: a producer hands an *Exchange to a consumer and never touches it
// again. Strings and byte slices inside an Exchange are immutable and are not
// shared with any buffer the sensor reuses.
type Exchange struct {
	// Start is the capture timestamp of the request's first byte.
	Start time.Time
	// End is the capture timestamp of the response's last byte (or of the
	// moment the request was given up on, for no_response).
	End time.Time

	Client netip.AddrPort
	Server netip.AddrPort
	// Outer is the encapsulation identity the packets arrived in.
	Outer Outer

	// Proto is the request's version string, e.g. "HTTP/1.1".
	Proto  string
	Method string
	// Host is the lower-cased host from the Host header, or from the
	// absolute-form request target when there is one, without the port.
	Host string
	// HostPort is the port written in the Host header or authority; 0 when absent.
	HostPort uint16
	// Target is the raw request target as sent (origin-, absolute-,
	// authority- or asterisk-form).
	Target string
	// Path is the raw path (percent-encoding kept); PathDecoded is
	// percent-decoded (invalid escapes left as they were).
	Path        string
	PathDecoded string
	// Query is the raw query string without the leading '?'.
	Query string

	RequestHeaders  []Header
	ResponseHeaders []Header

	// Status is the final (non-1xx) response status; 0 when no response came.
	Status int
	Reason string
	// Informational lists the status codes of 1xx responses seen before the final one.
	Informational []int

	Request  Body
	Response Body

	// Credentials describes each redacted credential carried by the request
	// (and Set-Cookie names from the response).
	Credentials []Credential

	Flags Flags
}

// Header is one header field in wire order. Names keep their wire case.
type Header struct {
	Name  string
	Value string
}

// Body is a message body as captured.
type Body struct {
	// WireBytes is the length of the body on the wire (after de-chunking,
	// before content decoding). For a body the sensor could not see in full
	// (gap, truncation by capture end) it is what was seen plus gaps.
	WireBytes int64
	// DecodedBytes is the length after content decoding (gzip, br, ...);
	// equals WireBytes when the body has no content encoding.
	DecodedBytes int64
	// ContentType is the media type (lower-cased, parameters dropped).
	ContentType string
	// ContentEncoding is the content coding as sent ("gzip", "br", ...).
	ContentEncoding string
	// Data is the decoded body, capped at the configured body limit.
	Data []byte
}

// Credential is what is kept of a credential after redaction: never the secret.
type Credential struct {
	// Location is where it was found: "header" or "cookie" or "query".
	Location string
	// Name is the header, cookie or parameter name as on the wire.
	Name string
	// Scheme is the authorization scheme ("bearer", "basic", "digest", ...)
	// or "apikey", "cookie", "session".
	Scheme string
	// Fingerprint is a keyed HMAC-SHA256 of the secret, hex, truncated to 16
	// bytes: stable for a given key so the analyzer can tell callers apart.
	Fingerprint string
	// User is the Basic or Digest user name (not secret by itself; kept because
	// credential-stuffing detection needs it). Empty otherwise.
	User string
	// JWT holds the unverified claims of a bearer JWT; nil otherwise.
	JWT *JWTClaims
}

// JWTClaims are the identifying claims of an unverified JWT. The signature is dropped.
type JWTClaims struct {
	Sub string
	Iss string
	Aud []string
	Exp int64 // seconds since the epoch; 0 if absent
	Alg string
}

// Outer is the encapsulation identity of a packet: the same 5-tuple under two
// different Outer values is two different connections (two tenants, two
// mirrored VPCs). It is comparable and part of the flow key.
type Outer struct {
	// VLAN is the outermost 802.1Q/802.1ad VLAN id, InnerVLAN the next one;
	// 0 when untagged.
	VLAN      uint16
	InnerVLAN uint16
	// VNI is the VXLAN or GENEVE virtual network identifier, valid when
	// Tunnel is TunnelVXLAN or TunnelGENEVE.
	VNI uint32
	// Session is the ERSPAN session id, or the GRE key when one is present.
	Session uint32
	// Tunnel is the innermost tunnel the packet came out of.
	Tunnel Tunnel
}

// Tunnel names an encapsulation.
type Tunnel uint8

const (
	TunnelNone Tunnel = iota
	TunnelVXLAN
	TunnelGENEVE
	TunnelGRE
	TunnelERSPAN
	TunnelIPIP
	TunnelMPLS
)

var tunnelNames = [...]string{"", "vxlan", "geneve", "gre", "erspan", "ipip", "mpls"}

func (t Tunnel) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}
