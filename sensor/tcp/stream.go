// Package tcp reassembles TCP byte streams from decoded segments.
//
// One Assembler belongs to one worker goroutine and is never shared: the
// sensor shards packets by a symmetric flow hash, so both directions of a
// connection always reach the same Assembler. There is no goroutine per
// connection; the Assembler calls its Stream synchronously.
//
// All timeouts run on the capture clock (packet timestamps passed in, and
// Advance for the quiet periods); the wall clock is never read here.
package tcp

import (
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/decode"
)

// Dir is a direction within a connection.
type Dir uint8

const (
	// ClientToServer: from the side that sent the SYN (or, when the SYN was
	// not seen, the side guessed to be the client: the one with the higher
	// port, unless the other side's port is the higher well-known one).
	ClientToServer Dir = 0
	// ServerToClient is the reverse.
	ServerToClient Dir = 1
)

// EndReason says why a connection's stream ended.
type EndReason uint8

const (
	EndFIN     EndReason = iota // both sides sent FIN (or one FIN and the other went quiet)
	EndRST                      // a reset was seen
	EndIdle                     // idle timeout on the capture clock
	EndFlush                    // end of capture or shutdown
	EndEvicted                  // dropped to honour the connection or memory caps
	// EndReused: a SYN with a new initial sequence number arrived on the
	// key of a connection whose close was never seen; the old connection
	// ends so the new one can start.
	EndReused
)

var endReasonNames = [...]string{"fin", "rst", "idle", "flush", "evicted", "reused"}

// String returns the reason's lower-case name ("fin", "rst", ...), for logs
// and metrics labels.
func (r EndReason) String() string {
	if int(r) < len(endReasonNames) {
		return endReasonNames[r]
	}
	return "unknown"
}

// Key identifies a connection regardless of direction: the endpoints are
// stored in canonical order (lower address/port first) so both directions
// produce the same comparable value.
type Key struct {
	LoAddr, HiAddr decode.Addr
	LoPort, HiPort uint16
	Outer          flow.Outer
}

// ConnInfo is what a Stream learns about its connection when it is created.
type ConnInfo struct {
	Key Key
	// Client and Server endpoints as decided by the handshake or the guess.
	ClientAddr, ServerAddr decode.Addr
	ClientPort, ServerPort uint16
	IPv6                   bool
	// Midstream is true when the SYN was not seen: the stream starts at an
	// arbitrary byte and the parser must resynchronise.
	Midstream bool
	// Start is the timestamp of the first packet.
	Start int64
}

// Stream receives one connection's reassembled bytes, in order, per direction.
//
// Buffer ownership: data passed to Data is valid only for the duration of
// the call; a Stream that needs bytes later must copy them. Implementations
// must not retain the *ConnInfo beyond the connection's End.
//
// The Assembler calls a Stream synchronously from Packet, Advance and
// FlushAll; a Stream must not call back into its Assembler. A Stream is
// created lazily, when its connection first has bytes (or a gap) to deliver:
// connections that never carry payload (scans, SYN floods, handshakes that
// go nowhere) are counted in Stats but never reach the Factory.
type Stream interface {
	// Data delivers the next in-order bytes of one direction, with the
	// capture timestamp of the segment that completed them.
	Data(dir Dir, data []byte, ts int64)
	// Gap reports n bytes lost in dir before the next Data (n > 0), e.g. a
	// segment never captured, a buffer cap hit, or a snaplen cut.
	Gap(dir Dir, n int, ts int64)
	// End is called once when the connection is finished; the Stream is
	// not used afterwards.
	End(reason EndReason, ts int64)
}

// Factory makes a Stream for each new connection. It may hand out pooled
// Streams and reclaim them in End. New may return nil to ignore the
// connection: its bytes are then reassembled and counted but not delivered.
type Factory interface {
	New(info *ConnInfo) Stream
}
