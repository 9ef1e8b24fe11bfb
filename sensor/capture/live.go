package capture

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/gopacket"
	"github.com/google/gopacket/afpacket"
	"github.com/google/gopacket/pcap"
	"golang.org/x/net/bpf"

	"github.com/apitap/apitap/sensor/decode"
)

func openLive(c Config) ([]Source, error) {
	switch c.Engine {
	case EnginePcap:
		s, err := openPcap(c)
		if err != nil {
			return nil, err
		}
		return []Source{s}, nil
	case EngineAFPacket:
		return openAFPacket(c)
	default:
		srcs, err := openAFPacket(c)
		if err == nil {
			return srcs, nil
		}
		s, perr := openPcap(c)
		if perr != nil {
			return nil, fmt.Errorf("capture: afpacket: %v; pcap: %w", err, perr)
		}
		return []Source{s}, nil
	}
}

// afSource is one member of a PACKET_FANOUT_HASH group on a TPACKET_V3 ring.
type afSource struct {
	h         *afpacket.TPacket
	promiscFD int        // helper socket holding the promiscuous membership, or -1
	mu        sync.Mutex // guards stats reads against Close
	recv      atomic.Uint64
	last      Stats
}

func openAFPacket(c Config) ([]Source, error) {
	block := c.BlockKiB << 10
	if fs := frameSize(c.Snaplen); block < fs {
		block = fs // a block must hold at least one whole frame
	}
	nblocks := (c.RingMiB << 20) / block
	if nblocks < 1 {
		nblocks = 1
	}
	var prog []bpf.RawInstruction
	if c.BPF != "" {
		ins, err := compileBPF(decode.LinkEthernet, c.Snaplen, c.BPF)
		if err != nil {
			return nil, fmt.Errorf("capture: bpf filter %q: %w", c.BPF, err)
		}
		prog = ins
	}
	var out []Source
	for i := 0; i < c.Fanout; i++ {
		h, err := afpacket.NewTPacket(
			afpacket.OptInterface(c.Interface),
			afpacket.OptFrameSize(frameSize(c.Snaplen)),
			afpacket.OptBlockSize(block),
			afpacket.OptNumBlocks(nblocks),
			afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
			afpacket.OptPollTimeout(c.PollTimeout),
			afpacket.SocketRaw,
		)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("capture: afpacket on %s: %w", c.Interface, err)
		}
		if prog != nil {
			if err := h.SetBPF(prog); err != nil {
				h.Close()
				closeAll(out)
				return nil, fmt.Errorf("capture: afpacket bpf: %w", err)
			}
		}
		if c.Fanout > 1 {
			// FanoutHashWithDefrag: the kernel reassembles IP fragments
			// before hashing, so fragments of one datagram meet.
			if err := h.SetFanout(afpacket.FanoutHashWithDefrag, c.FanoutID); err != nil {
				h.Close()
				closeAll(out)
				return nil, fmt.Errorf("capture: afpacket fanout: %w", err)
			}
		}
		src := &afSource{h: h, promiscFD: -1}
		if c.Promisc && i == 0 {
			fd, err := setPromisc(c.Interface)
			if err != nil {
				h.Close()
				closeAll(out)
				return nil, fmt.Errorf("capture: promiscuous mode on %s: %w", c.Interface, err)
			}
			src.promiscFD = fd
		}
		out = append(out, src)
	}
	return out, nil
}

// frameSize is the TPACKET frame size for a snaplen. TPACKET_V3 packs
// variable-length frames into blocks, so this only has to bound one frame
// (snaplen plus headers) and divide the block size: the next power of two.
func frameSize(snaplen int) int {
	n := 2048
	for n < snaplen+128 {
		n <<= 1
	}
	return n
}

func closeAll(ss []Source) {
	for _, s := range ss {
		s.Close()
	}
}

func (s *afSource) Next(f *Frame) error {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
			return ErrTimeout
		}
		return err
	}
	s.recv.Add(1)
	*f = frameOf(data, ci, decode.LinkEthernet)
	return nil
}

func (s *afSource) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.last
	st.Received = s.recv.Load()
	if s.h != nil {
		if _, v3, err := s.h.SocketStats(); err == nil {
			st.Dropped = uint64(v3.Drops())
			st.QueueFreezes = uint64(v3.QueueFreezes())
		}
	}
	s.last = st
	return st
}

func (s *afSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		s.h.Close()
		s.h = nil
	}
	closeFD(s.promiscFD)
	s.promiscFD = -1
	return nil
}

// frameOf fills a Frame from a gopacket read; the wire length is never
// less than what was captured (some drivers report 0).
func frameOf(data []byte, ci gopacket.CaptureInfo, link decode.LinkType) Frame {
	wire := ci.Length
	if wire < len(data) {
		wire = len(data)
	}
	return Frame{Data: data, TS: ci.Timestamp.UnixNano(), WireLen: wire, Link: link}
}

// pcapSource is the libpcap fallback (any interface libpcap supports).
type pcapSource struct {
	h    *pcap.Handle
	link decode.LinkType
	mu   sync.Mutex // guards stats reads against Close
	recv atomic.Uint64
}

func openPcap(c Config) (Source, error) {
	in, err := pcap.NewInactiveHandle(c.Interface)
	if err != nil {
		return nil, fmt.Errorf("capture: pcap on %s: %w", c.Interface, err)
	}
	defer in.CleanUp()
	in.SetSnapLen(c.Snaplen)
	in.SetPromisc(c.Promisc)
	in.SetTimeout(c.PollTimeout)
	in.SetBufferSize(c.RingMiB << 20)
	h, err := in.Activate()
	if err != nil {
		return nil, fmt.Errorf("capture: pcap on %s: %w", c.Interface, err)
	}
	if c.BPF != "" {
		if err := h.SetBPFFilter(c.BPF); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture: bpf filter %q: %w", c.BPF, err)
		}
	}
	return &pcapSource{h: h, link: decode.LinkType(h.LinkType())}, nil
}

func (s *pcapSource) Next(f *Frame) error {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return ErrTimeout
		}
		return err
	}
	s.recv.Add(1)
	*f = frameOf(data, ci, s.link)
	return nil
}

func (s *pcapSource) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Received: s.recv.Load()}
	if s.h != nil {
		if ps, err := s.h.Stats(); err == nil {
			st.Dropped = uint64(ps.PacketsDropped)
			st.IfDropped = uint64(ps.PacketsIfDropped)
		}
	}
	return st
}

func (s *pcapSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		s.h.Close()
		s.h = nil
	}
	return nil
}
