// Package http1 is an incremental HTTP/1.x parser over reassembled bytes.
//
// A Parser handles one direction of one connection: requests (client to
// server) or responses (server to client). It is an explicit state machine
// fed with whatever bytes the TCP layer delivers (a header may be split at
// any byte), keeps only the current message head (bounded) and a capped
// prefix of its body, and tolerates gaps: inside a body of known length it
// skips the missing bytes and marks the message; elsewhere it
// resynchronises at the next plausible start line.
//
// It never calls net/http on the hot path; net/http is only the differential
// oracle in the fuzz tests. Pairing requests with responses is not done
// here (see package exchange), except for the one thing framing needs: a
// response parser asks its Handler which request method it answers.
package http1

import "github.com/apitap/apitap/flow"

// Field is one header or trailer field. Name and Value alias the parser's
// buffer (see Message).
type Field struct {
	Name  []byte
	Value []byte
}

// Message is one parsed request or response.
//
// Buffer ownership: a *Message and every slice in it are valid only during
// the Handler.Message call that delivers it. The parser reuses all of it
// for the next message. Copy what you keep.
type Message struct {
	Request bool

	// Request line.
	Method []byte
	Target []byte
	// Proto is "HTTP/1.1", "HTTP/1.0" (or what the start line said).
	Proto []byte

	// Status line.
	Status int
	Reason []byte

	// Headers in wire order. Obs-folded continuation lines are joined to the
	// previous value with a single space.
	Headers  []Field
	Trailers []Field

	// Framing as parsed. ContentLength is -1 when absent or invalid.
	ContentLength int64
	Chunked       bool
	// KeepAlive is false when the connection closes after this message
	// (Connection: close, HTTP/1.0 without keep-alive).
	KeepAlive bool
	// Upgrade is true for a request with Upgrade + Connection: upgrade, or a
	// 101 response.
	Upgrade bool
	// Expect100 is true for a request carrying Expect: 100-continue.
	Expect100 bool

	// Body holds the first bytes of the body after de-chunking, before
	// content decoding, at most Limits.MaxBodyBytes.
	Body []byte
	// BodyWireBytes is the whole body length (de-chunked), including bytes
	// not kept in Body and bytes lost in gaps.
	BodyWireBytes int64

	// Start is the capture time of the first byte, End of the last byte.
	Start, End int64

	// Flags: FlagTruncated (body longer than kept), FlagGap, FlagMalformed,
	// FlagHeadersTruncated, FlagCloseDelimited, FlagIncomplete, FlagMidstream.
	Flags flow.Flags
}

// Header returns the first value of the named header (ASCII
// case-insensitive), or nil.
func (m *Message) Header(name string) []byte {
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value
		}
	}
	return nil
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// Handler receives what a Parser finds.
type Handler interface {
	// Message delivers a complete message (see Message for ownership).
	// 1xx responses are delivered as messages of their own.
	Message(m *Message)
	// RequestMethod is asked by a response parser when a response head is
	// complete: the method of the oldest request not yet answered, or nil
	// if unknown. HEAD means no body; CONNECT with 2xx means the rest of the
	// connection is a tunnel.
	RequestMethod() []byte
	// Skipped reports n bytes that were not HTTP and were skipped while
	// resynchronising (garbage, unparseable data, an opaque tunnel).
	Skipped(n int)
}

// Limits bound what a Parser keeps. Zero values mean the defaults.
type Limits struct {
	// MaxStartLine is the longest request or status line accepted. Default 8 KiB.
	MaxStartLine int `yaml:"max_start_line"`
	// MaxHeaderBytes is the most header bytes kept per message (start line
	// excluded); further headers are dropped and FlagHeadersTruncated set.
	// Default 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxHeaders is the most header fields kept per message. Default 256.
	MaxHeaders int `yaml:"max_headers"`
	// MaxBodyBytes is the most body bytes kept per message; the rest is
	// counted in BodyWireBytes and FlagTruncated set. Default 64 KiB.
	MaxBodyBytes int `yaml:"max_body_bytes"`
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{MaxStartLine: 8 << 10, MaxHeaderBytes: 64 << 10, MaxHeaders: 256, MaxBodyBytes: 64 << 10}
}
