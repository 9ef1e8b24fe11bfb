package flow

import "strings"

// Flags mark what was unusual about an exchange. The JSON form is a list of
// the names below; names are a contract (users filter on them).
type Flags uint32

const (
	// FlagTruncated: a body was longer than the capture cap; Data holds a prefix.
	FlagTruncated Flags = 1 << iota
	// FlagGap: bytes were missing from the TCP stream inside this exchange.
	FlagGap
	// FlagMidstream: the connection was joined after it started (no SYN seen);
	// the first message was found by resynchronising.
	FlagMidstream
	// FlagNoResponse: the request got no response before the timeout, the
	// connection end or the end of the capture.
	FlagNoResponse
	// FlagDecodeError: a content coding (gzip, br, ...) failed to decode.
	FlagDecodeError
	// FlagDecompressionBomb: decoding was cut at the decompressed-size cap.
	FlagDecompressionBomb
	// FlagNoRequest: a response whose request was never seen (one-sided or
	// midstream capture).
	FlagNoRequest
	// FlagUpgrade: the exchange switched protocols (101, e.g. WebSocket);
	// the rest of the connection is not parsed as HTTP, except after an
	// h2c upgrade, where it is parsed as HTTP/2 and this record carries
	// the answer from stream 1 (101 in Informational).
	FlagUpgrade
	// FlagConnect: a CONNECT tunnel; the rest of the connection is opaque.
	FlagConnect
	// FlagMalformed: the message violated HTTP syntax in a way the parser
	// tolerated (bad header line, obs-fold, conflicting lengths, ...).
	FlagMalformed
	// FlagHeadersTruncated: the header block exceeded a limit; extra headers dropped.
	FlagHeadersTruncated
	// FlagCloseDelimited: the response body ran until the connection closed.
	FlagCloseDelimited
	// FlagRedacted: at least one credential was replaced by its fingerprint.
	FlagRedacted
	// FlagIncomplete: the message ended (connection close, capture end)
	// before its declared length was reached.
	FlagIncomplete
	// FlagPipelined: the request started before the previous response started
	// (it was sent without waiting for the answer).
	FlagPipelined
	// FlagMasked: sensitive values in a body or the query were masked
	// (the sensor's mask option); lengths are kept.
	FlagMasked
	flagEnd
)

var flagNames = [...]string{
	"truncated", "gap", "midstream", "no_response", "decode_error",
	"decompression_bomb", "no_request", "upgrade", "connect", "malformed",
	"headers_truncated", "close_delimited", "redacted", "incomplete", "pipelined",
	"masked",
}

// Has reports whether all of f2 are set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// Names returns the flag names in bit order.
func (f Flags) Names() []string {
	var out []string
	for i := 0; Flags(1)<<i < flagEnd; i++ {
		if f&(1<<i) != 0 {
			out = append(out, flagNames[i])
		}
	}
	return out
}

func (f Flags) String() string { return strings.Join(f.Names(), ",") }

// ParseFlag returns the flag with the given name.
func ParseFlag(name string) (Flags, bool) {
	for i, n := range flagNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}
