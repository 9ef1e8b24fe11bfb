// Package capture reads frames from a pcap/pcapng file or a live interface
// (AF_PACKET TPACKET_V3 with fanout, or libpcap).
//
// A Source is used by one goroutine. Frames are borrowed: Frame.Data is
// valid only until the next call to Next on the same Source.
package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/apitap/apitap/sensor/decode"
)

// Frame is one captured frame.
type Frame struct {
	// Data aliases the source's buffer (or the kernel ring): valid until the
	// next Next call.
	Data []byte
	// TS is the capture timestamp in Unix nanoseconds.
	TS int64
	// WireLen is the frame's length on the wire; len(Data) can be shorter
	// when the snaplen cut it.
	WireLen int
	// Link is the frame's link type (pcapng files may mix them).
	Link decode.LinkType
}

// Stats counts what a source saw and what it lost before we could read it.
type Stats struct {
	// Received frames handed to the sensor.
	Received uint64
	// Dropped by the kernel or ring (socket/ring full), as reported by the OS.
	Dropped uint64
	// IfDropped by the interface/driver (libpcap only).
	IfDropped uint64
	// QueueFreezes of the TPACKET_V3 ring.
	QueueFreezes uint64
	// Filtered frames rejected by the BPF filter in file mode (live filters
	// run in the kernel and are not counted).
	Filtered uint64
	// TruncatedFile is true when a capture file ended in the middle of a record.
	TruncatedFile bool
	// BadRecords counts file records that could not be read (e.g. a record
	// length beyond the format's limit); reading stops at the first one.
	BadRecords uint64
	// FileBytes is how much of a capture file has been read (in the
	// reader's 1 MiB chunks), and FileSize the file's size (0 for a pipe
	// or a live source): together, the progress of a file replay.
	FileBytes, FileSize uint64
}

// Source yields frames.
type Source interface {
	// Next fills f with the next frame. It returns io.EOF at the end of a
	// file, ErrTimeout when a live source had nothing within its poll
	// interval (so the caller can advance its clock), and other errors
	// for failures.
	Next(f *Frame) error
	// Stats returns cumulative counters; safe to call from another goroutine.
	Stats() Stats
	Close() error
}

// ErrTimeout is returned by a live Source's Next when no frame arrived
// within the poll interval. It is not a failure.
var ErrTimeout = errors.New("capture: poll timeout")

// Engine selects the live capture implementation.
type Engine string

const (
	EngineAuto     Engine = "auto"     // AF_PACKET if it can be opened, else libpcap
	EngineAFPacket Engine = "afpacket" // TPACKET_V3 ring with PACKET_FANOUT_HASH
	EnginePcap     Engine = "pcap"     // libpcap
)

// Config selects and tunes the source. Exactly one of File and Interface is set.
type Config struct {
	// File is a pcap or pcapng file to read ("-" for standard input). Default "".
	File string `yaml:"pcap"`
	// Interface is a live interface to capture on. Default "".
	Interface string `yaml:"iface"`
	// Engine for live capture: auto, afpacket or pcap. Default auto.
	Engine Engine `yaml:"engine"`
	// BPF is a tcpdump-style filter expression; compiled at start, so an
	// invalid one fails before any packet is read. Default "" (all traffic).
	BPF string `yaml:"bpf"`
	// Snaplen is the most bytes captured per frame. Default 262144.
	Snaplen int `yaml:"snaplen"`
	// Promisc puts the interface in promiscuous mode. Default true.
	Promisc bool `yaml:"promisc"`
	// Fanout is the number of AF_PACKET sockets (and reader goroutines)
	// joined in one PACKET_FANOUT_HASH group. Default 1.
	Fanout int `yaml:"fanout"`
	// FanoutID is the fanout group id; change it to run two sensors on one
	// interface. Default 0x4150 ("AP").
	FanoutID uint16 `yaml:"fanout_id"`
	// RingMiB is the TPACKET_V3 ring size per socket in MiB (libpcap: the
	// kernel buffer size). Default 64.
	RingMiB int `yaml:"ring_mib"`
	// BlockKiB is the TPACKET_V3 block size in KiB. Default 1024.
	BlockKiB int `yaml:"block_kib"`
	// PollTimeout bounds how long Next waits on a quiet interface before
	// returning ErrTimeout. Default 200ms.
	PollTimeout time.Duration `yaml:"poll_timeout"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{Engine: EngineAuto, Snaplen: 262144, Promisc: true, Fanout: 1,
		FanoutID: 0x4150, RingMiB: 64, BlockKiB: 1024, PollTimeout: 200 * time.Millisecond}
}

// Validate checks the configuration, including compiling the BPF filter.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case c.File == "" && c.Interface == "":
		errs = append(errs, errors.New("capture: set a pcap file (--pcap) or an interface (--iface)"))
	case c.File != "" && c.Interface != "":
		errs = append(errs, errors.New("capture: --pcap and --iface are exclusive"))
	}
	switch c.Engine {
	case EngineAuto, EngineAFPacket, EnginePcap:
	default:
		errs = append(errs, fmt.Errorf("capture: engine %q: want auto, afpacket or pcap", c.Engine))
	}
	if c.Snaplen < 64 || c.Snaplen > 262144 {
		errs = append(errs, fmt.Errorf("capture: snaplen %d out of range [64, 262144]", c.Snaplen))
	}
	if c.Fanout < 1 || c.Fanout > 64 {
		errs = append(errs, fmt.Errorf("capture: fanout %d out of range [1, 64]", c.Fanout))
	}
	if c.RingMiB < 1 || c.RingMiB > 16384 {
		errs = append(errs, fmt.Errorf("capture: ring_mib %d out of range [1, 16384]", c.RingMiB))
	}
	if c.BlockKiB < 4 || c.BlockKiB&(c.BlockKiB-1) != 0 || c.BlockKiB > 1<<16 {
		errs = append(errs, fmt.Errorf("capture: block_kib %d must be a power of two >= 4", c.BlockKiB))
	}
	if c.PollTimeout <= 0 {
		errs = append(errs, errors.New("capture: poll_timeout must be positive"))
	}
	if c.BPF != "" {
		// Compile against Ethernet here; the real link type is used at open.
		if _, err := compileBPF(decode.LinkEthernet, c.Snaplen, c.BPF); err != nil {
			errs = append(errs, fmt.Errorf("capture: bpf filter %q: %w", c.BPF, err))
		}
	}
	return errors.Join(errs...)
}

// Open opens the configured source(s): one for a file, Fanout for a live
// AF_PACKET interface, one for libpcap.
func Open(c Config) ([]Source, error) {
	if c.File != "" {
		s, err := OpenFile(c.File, c.BPF, c.Snaplen)
		if err != nil {
			return nil, err
		}
		return []Source{s}, nil
	}
	return openLive(c)
}
