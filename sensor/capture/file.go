package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/apitap/apitap/sensor/decode"
)

// maxRecord bounds one file record. Real captures never exceed 256 KiB
// (the largest snaplen tools use); a larger length means a corrupt file.
const maxRecord = 1 << 20

// fileSource reads classic pcap itself (so a snaplen smaller than a record,
// which some writers produce, is tolerated and the buffer is reused without
// per-packet allocation) and pcapng through gopacket's pcapgo.
type fileSource struct {
	f      *os.File
	r      *bufio.Reader
	ng     *pcapgo.NgReader
	order  binary.ByteOrder
	nanos  bool
	link   decode.LinkType
	buf    []byte
	hdr    [16]byte
	filter *bpf.VM
	fbuf   []byte

	received  atomic.Uint64
	filtered  atomic.Uint64
	bad       atomic.Uint64
	truncated atomic.Bool
	read      atomic.Uint64 // file bytes handed to the bufio.Reader
	size      uint64
}

// countingReader counts the bytes read from the file: one atomic add per
// 1 MiB refill of the bufio.Reader, not per record.
type countingReader struct {
	f *os.File
	n *atomic.Uint64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

// OpenFile opens a pcap or pcapng file ("-" is standard input). A non-empty
// filter is compiled for the file's link type and applied in user space.
func OpenFile(path, filter string, snaplen int) (Source, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
	}
	s := &fileSource{f: f}
	s.r = bufio.NewReaderSize(countingReader{f, &s.read}, 1<<20)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		s.size = uint64(fi.Size())
	}
	magic, err := s.r.Peek(4)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %s: not a capture file (too short)", path)
	}
	switch {
	case binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a:
		ng, err := pcapgo.NewNgReader(s.r, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("capture: %s: pcapng: %w", path, err)
		}
		s.ng = ng
		s.link = decode.LinkType(ng.LinkType())
	default:
		if err := s.readPcapHeader(); err != nil {
			f.Close()
			return nil, fmt.Errorf("capture: %s: %w", path, err)
		}
	}
	if filter != "" {
		vm, err := newVM(s.link, snaplen, filter)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("capture: bpf filter %q: %w", filter, err)
		}
		s.filter = vm
	}
	return s, nil
}

func (s *fileSource) readPcapHeader() error {
	var h [24]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return errors.New("not a capture file (header too short)")
	}
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		s.order = binary.LittleEndian
	case 0xa1b23c4d:
		s.order, s.nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		s.order = binary.BigEndian
	case 0x4d3cb2a1:
		s.order, s.nanos = binary.BigEndian, true
	default:
		return fmt.Errorf("not a pcap or pcapng file (magic %x)", h[:4])
	}
	// The link type is the low 16 bits; the upper bits may carry FCS info.
	s.link = decode.LinkType(s.order.Uint32(h[20:24]) & 0xffff)
	s.buf = make([]byte, 0, 64<<10)
	return nil
}

func (s *fileSource) Next(f *Frame) error {
	for {
		var err error
		if s.ng != nil {
			err = s.nextNg(f)
		} else {
			err = s.nextPcap(f)
		}
		if err != nil {
			return err
		}
		if s.filter != nil {
			// x/net/bpf needs the whole frame; its VM does not allocate.
			if n, ferr := s.filter.Run(f.Data); ferr != nil || n == 0 {
				s.filtered.Add(1)
				continue
			}
		}
		s.received.Add(1)
		return nil
	}
}

func (s *fileSource) nextPcap(f *Frame) error {
	if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			s.truncated.Store(true)
			return io.EOF
		}
		return err // io.EOF at a record boundary is the normal end
	}
	sec := int64(s.order.Uint32(s.hdr[0:4]))
	frac := int64(s.order.Uint32(s.hdr[4:8]))
	capLen := int(s.order.Uint32(s.hdr[8:12]))
	wireLen := int(s.order.Uint32(s.hdr[12:16]))
	if capLen > maxRecord {
		s.bad.Add(1)
		return fmt.Errorf("capture: corrupt pcap record (length %d)", capLen)
	}
	if cap(s.buf) < capLen {
		s.buf = make([]byte, capLen)
	}
	s.buf = s.buf[:capLen]
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		s.truncated.Store(true)
		return io.EOF
	}
	if !s.nanos {
		frac *= 1000
	}
	if wireLen < capLen {
		wireLen = capLen
	}
	*f = Frame{Data: s.buf, TS: sec*1e9 + frac, WireLen: wireLen, Link: s.link}
	return nil
}

func (s *fileSource) nextNg(f *Frame) error {
	data, ci, err := s.ng.ZeroCopyReadPacketData()
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			s.truncated.Store(true)
			return io.EOF
		}
		if err == io.EOF {
			return io.EOF
		}
		s.bad.Add(1)
		return fmt.Errorf("capture: pcapng: %w", err)
	}
	link := s.link
	if iface, err := s.ng.Interface(ci.InterfaceIndex); err == nil {
		link = decode.LinkType(iface.LinkType)
	}
	*f = frameOf(data, ci, link)
	return nil
}

func (s *fileSource) Stats() Stats {
	return Stats{Received: s.received.Load(), Filtered: s.filtered.Load(),
		BadRecords: s.bad.Load(), TruncatedFile: s.truncated.Load(),
		FileBytes: s.read.Load(), FileSize: s.size}
}

func (s *fileSource) Close() error {
	if s.f == os.Stdin {
		return nil
	}
	return s.f.Close()
}
