package tcp

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds one Assembler. Every limit is per Assembler: the sensor runs
// one Assembler per worker, so the process-wide bound is workers × limit.
//
// A zero field means "use the default" (NewAssembler fills it in); a
// negative one is an error. All durations are measured on the capture clock.
type Config struct {
	// MaxConns caps the connection table: live connections plus closed ones
	// lingering to absorb retransmissions. When a new connection needs a
	// slot in a full table, one is evicted: first a closed one, then the
	// least recently active half-open one, then a half-closed one, and only
	// then the least recently active established one (End(EndEvicted)).
	// Default 131072: a half-open connection costs about 250 bytes (see
	// docs/tcp.md), so a SYN flood that fills the table holds ~32 MiB per
	// Assembler, and one with a Stream costs that plus the Stream.
	MaxConns int `yaml:"max_conns"`

	// MaxBufferedPerConn caps the out-of-order bytes held for one
	// connection (both directions together). Bytes are counted as the
	// memory they hold: payload rounded up to its pool chunk (64 B to
	// 2 KiB) plus a 48-byte segment header. When a segment would exceed the
	// cap, the oldest hole of the connection is declared lost (Gap) and the
	// data behind it delivered, until the segment fits. Default 1 MiB.
	MaxBufferedPerConn int `yaml:"max_buffered_per_conn"`

	// MaxBufferedTotal caps the out-of-order bytes held by the whole
	// Assembler, counted as for MaxBufferedPerConn. When it would be
	// exceeded, the oldest hole of any connection is declared lost and the
	// data behind it delivered, until the segment fits. Default 64 MiB.
	MaxBufferedTotal int `yaml:"max_buffered_total"`

	// IdleTimeout ends an established connection that saw no packet for
	// this long (End(EndIdle)). Default 120 s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// HalfOpenTimeout ends a connection that has no payload yet and whose
	// handshake did not complete (a lone SYN, a SYN+SYN-ACK) after this
	// long without a packet. Such a connection has no Stream, so this only
	// frees its slot. Default 10 s.
	HalfOpenTimeout time.Duration `yaml:"half_open_timeout"`

	// HalfClosedTimeout ends a connection of which one side sent FIN and
	// which then saw no packet for this long (End(EndFIN)): usually the
	// other side's FIN was not captured. Default 30 s.
	HalfClosedTimeout time.Duration `yaml:"half_closed_timeout"`

	// ClosedLinger keeps the state of a connection ended by FIN or RST for
	// this long, so that stray retransmissions, late ACKs and repeated RSTs
	// are absorbed instead of opening a new midstream connection. A SYN
	// with a new ISN still opens a new connection at once. Default 5 s.
	ClosedLinger time.Duration `yaml:"closed_linger"`

	// GapTimeout is how long a hole (missing bytes with later bytes
	// buffered behind it) may wait to be filled before it is declared lost,
	// counted from the moment it became the connection's first hole.
	// Holes proven lost by the peer's ACK are declared at once; this is for
	// one-sided captures where no ACK is seen. Longer than a typical
	// retransmission timeout (1 s initial RTO, RFC 6298) so that a
	// retransmission can still fill the hole. Default 3 s.
	GapTimeout time.Duration `yaml:"gap_timeout"`
}

// Defaults; see the Config fields.
const (
	DefaultMaxConns           = 131072
	DefaultMaxBufferedPerConn = 1 << 20
	DefaultMaxBufferedTotal   = 64 << 20
	DefaultIdleTimeout        = 120 * time.Second
	DefaultHalfOpenTimeout    = 10 * time.Second
	DefaultHalfClosedTimeout  = 30 * time.Second
	DefaultClosedLinger       = 5 * time.Second
	DefaultGapTimeout         = 3 * time.Second
)

// maxBufferedLimit keeps all buffered sequence numbers within a quarter of
// the sequence space of the next expected byte, so serial-number comparisons
// stay unambiguous.
const maxBufferedLimit = 1 << 30

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		MaxConns:           DefaultMaxConns,
		MaxBufferedPerConn: DefaultMaxBufferedPerConn,
		MaxBufferedTotal:   DefaultMaxBufferedTotal,
		IdleTimeout:        DefaultIdleTimeout,
		HalfOpenTimeout:    DefaultHalfOpenTimeout,
		HalfClosedTimeout:  DefaultHalfClosedTimeout,
		ClosedLinger:       DefaultClosedLinger,
		GapTimeout:         DefaultGapTimeout,
	}
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxConns == 0 {
		c.MaxConns = d.MaxConns
	}
	if c.MaxBufferedPerConn == 0 {
		c.MaxBufferedPerConn = d.MaxBufferedPerConn
	}
	if c.MaxBufferedTotal == 0 {
		c.MaxBufferedTotal = d.MaxBufferedTotal
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.HalfOpenTimeout == 0 {
		c.HalfOpenTimeout = d.HalfOpenTimeout
	}
	if c.HalfClosedTimeout == 0 {
		c.HalfClosedTimeout = d.HalfClosedTimeout
	}
	if c.ClosedLinger == 0 {
		c.ClosedLinger = d.ClosedLinger
	}
	if c.GapTimeout == 0 {
		c.GapTimeout = d.GapTimeout
	}
	return c
}

// Validate reports every field that is negative or out of range. Zero
// fields are valid (they mean the default).
func (c Config) Validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("tcp: %s must not be negative (got %d)", name, v))
		}
	}
	neg("MaxConns", int64(c.MaxConns))
	neg("MaxBufferedPerConn", int64(c.MaxBufferedPerConn))
	neg("MaxBufferedTotal", int64(c.MaxBufferedTotal))
	neg("IdleTimeout", int64(c.IdleTimeout))
	neg("HalfOpenTimeout", int64(c.HalfOpenTimeout))
	neg("HalfClosedTimeout", int64(c.HalfClosedTimeout))
	neg("ClosedLinger", int64(c.ClosedLinger))
	neg("GapTimeout", int64(c.GapTimeout))
	if c.MaxBufferedPerConn > maxBufferedLimit {
		errs = append(errs, fmt.Errorf("tcp: MaxBufferedPerConn must be at most %d (got %d)", maxBufferedLimit, c.MaxBufferedPerConn))
	}
	if c.MaxConns > 1<<30 {
		errs = append(errs, fmt.Errorf("tcp: MaxConns must be at most %d (got %d)", 1<<30, c.MaxConns))
	}
	return errors.Join(errs...)
}
