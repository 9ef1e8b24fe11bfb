// Package encap rewrites a capture for tests: it wraps every frame in a
// tunnel or tag stack built from real headers (802.1Q, QinQ, MPLS, VXLAN,
// GENEVE, GRE, transparent-Ethernet GRE, ERSPAN II and III, IP-in-IP) and
// optionally damages the traffic the way a lossy mirror does (dropped,
// reordered and duplicated TCP segments), deterministically for a seed.
//
// The sensor must give the same records for a capture and for any of its
// encapsulations (with the Outer identity set), and must degrade gracefully
// on the damaged variants; sensor/netns_test.go checks both on real traffic.
//
// Rewrite reads the whole input into memory (damage needs to choose exactly
// round(fraction × eligible) packets), so it is meant for test captures of
// up to a few hundred megabytes.
package encap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Mode names an encapsulation.
type Mode string

// The encapsulations. ID is the identity each one carries (see Options.ID).
const (
	ModeNone    Mode = "none"    // frames copied as they are (damage only)
	ModeVLAN    Mode = "vlan"    // one 802.1Q tag, VLAN id ID
	ModeQinQ    Mode = "qinq"    // 802.1ad S-tag ID, then 802.1Q C-tag InnerID
	ModeMPLS    Mode = "mpls"    // Ethernet, labels ID and InnerID, the IP packet (inner Ethernet stripped)
	ModeVXLAN   Mode = "vxlan"   // Ethernet/IPv4/UDP 4789/VXLAN VNI ID/inner Ethernet
	ModeGENEVE  Mode = "geneve"  // Ethernet/IPv4/UDP 6081/GENEVE VNI ID, one TLV option, protocol 0x6558/inner Ethernet
	ModeGRE     Mode = "gre"     // Ethernet/IPv4/GRE (protocol = the inner IP's EtherType, no key)/inner IP packet
	ModeL2GRE   Mode = "l2gre"   // Ethernet/IPv4/GRE key ID, protocol 0x6558/inner Ethernet
	ModeERSPAN2 Mode = "erspan2" // Ethernet/IPv4/GRE seq, 0x88BE/ERSPAN II session ID/inner Ethernet
	ModeERSPAN3 Mode = "erspan3" // Ethernet/IPv4/GRE seq, 0x22EB/ERSPAN III (12 bytes) session ID/inner Ethernet
	ModeIPIP    Mode = "ipip"    // Ethernet/IPv4 protocol 4 (41 for IPv6)/inner IP packet
)

// Modes lists every encapsulation (not ModeNone).
var Modes = []Mode{ModeVLAN, ModeQinQ, ModeMPLS, ModeVXLAN, ModeGENEVE, ModeGRE, ModeL2GRE, ModeERSPAN2, ModeERSPAN3, ModeIPIP}

// layer3 tells whether a mode carries the IP packet rather than the frame.
func (m Mode) layer3() bool { return m == ModeMPLS || m == ModeGRE || m == ModeIPIP }

// DefaultID is the identity used when Options.ID is 0.
const DefaultID = 100

// UDP destination ports of the UDP tunnels (the IANA ones).
const (
	PortVXLAN  = 4789
	PortGENEVE = 6081
)

// Options select the encapsulation and the damage.
type Options struct {
	// Mode is the encapsulation; "" means ModeNone.
	Mode Mode
	// ID is the identity the encapsulation carries: the VLAN id (vlan; the
	// outer S-tag for qinq, 1..4094), the VNI (vxlan, geneve, < 2^24), the
	// GRE key (l2gre), the ERSPAN session id (erspan2, erspan3, 0..1023),
	// the top MPLS label (mpls, 16..2^20-1). gre and ipip carry none.
	// 0 selects DefaultID.
	ID uint32
	// InnerID is the qinq C-tag and the bottom MPLS label; 0 selects ID+1.
	InnerID uint32

	// Drop is the fraction of data-carrying TCP segments (payload, no
	// SYN/FIN/RST) removed.
	Drop float64
	// Reorder is the fraction of candidate pairs swapped. A candidate pair
	// is two consecutive data segments of the same TCP connection and
	// direction with nothing of that connection in between but pure ACKs,
	// none of which acknowledges the first segment (a receiver cannot
	// acknowledge what has not reached it yet, so a capture never shows
	// that): the reordering a reassembler must undo. Pairs do not overlap.
	// A swap exchanges the frames and keeps the timestamps in place, so the
	// capture's clock stays monotonic.
	Reorder float64
	// Dup is the fraction of TCP segments sent twice (a retransmission):
	// the copy follows the original immediately, with the same timestamp.
	Dup float64
	// Seed makes the damage deterministic: the same input, options and
	// seed give the same output, byte for byte.
	Seed int64
}

// Segment identifies a TCP segment of the input.
type Segment struct {
	Index int // position of the frame in the input, from 0
	Src   netip.AddrPort
	Dst   netip.AddrPort
	Seq   uint32
	Len   int // TCP payload bytes (as declared by the IP header)
	Flags uint8
}

// Stats tells what Rewrite did. Each damage step chooses exactly
// round(fraction × eligible) packets (or pairs) among the eligible ones,
// in this order: drop, reorder, dup.
type Stats struct {
	Read    int // frames read
	Written int // frames written
	// Skipped counts frames an IP-only mode (mpls, gre, ipip) cannot carry
	// (ARP, ...); they are left out.
	Skipped int

	DropEligible    int // data-carrying TCP segments without SYN/FIN/RST
	Dropped         int
	ReorderEligible int // candidate pairs (see Options.Reorder)
	Reordered       int // pairs swapped
	DupEligible     int // TCP segments after drop and reorder
	Duplicated      int

	// DroppedSegments are the removed segments, in input order.
	DroppedSegments []Segment
	// SwappedSegments are the reordered pairs, in input order of the first.
	SwappedSegments [][2]Segment
	// DuplicatedSegments are the segments sent twice, in output order.
	DuplicatedSegments []Segment
}

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// packet is one input frame, converted to Ethernet.
type packet struct {
	ci    gopacket.CaptureInfo
	data  []byte
	index int
	info  info
}

// info is what the rewriter needs to know about a frame.
type info struct {
	l2    int    // offset of the network header (Ethernet + VLAN tags)
	etype uint16 // EtherType of the network header
	ip    bool   // an IPv4 or IPv6 packet follows
	ipLen int    // IP packet length declared by its header (0 if unknown)
	tcp   bool   // an unfragmented TCP segment
	src   netip.AddrPort
	dst   netip.AddrPort
	seq   uint32
	ack   uint32 // valid when flags has ACK
	flags uint8
	plen  int // TCP payload length (declared)
}

func (i *info) data() bool    { return i.tcp && i.plen > 0 && i.flags&(tcpSYN|tcpFIN|tcpRST) == 0 }
func (i *info) pureACK() bool { return i.tcp && i.plen == 0 && i.flags&(tcpSYN|tcpFIN|tcpRST) == 0 }

// conn is a TCP connection key, the same for both directions.
type conn struct{ a, b netip.AddrPort }

func (i *info) conn() conn {
	if i.src.Compare(i.dst) < 0 {
		return conn{i.src, i.dst}
	}
	return conn{i.dst, i.src}
}

// forward tells the direction of a frame relative to its connection's key.
func (i *info) forward() bool { return !i.ip || i.src.Compare(i.dst) <= 0 }

func (p *packet) segment() Segment {
	return Segment{Index: p.index, Src: p.info.src, Dst: p.info.dst, Seq: p.info.seq, Len: p.info.plen, Flags: p.info.flags}
}

// Validate checks the options.
func (o *Options) Validate() error {
	o.defaults()
	var errs []error
	id, inner := o.ID, o.InnerID
	switch o.Mode {
	case ModeNone, ModeGRE, ModeIPIP:
	case ModeVLAN:
		if id > 4094 {
			errs = append(errs, fmt.Errorf("encap: vlan id %d out of range [1, 4094]", id))
		}
	case ModeQinQ:
		if id > 4094 || inner > 4094 {
			errs = append(errs, fmt.Errorf("encap: qinq ids %d/%d out of range [1, 4094]", id, inner))
		}
	case ModeMPLS:
		if id < 16 || id >= 1<<20 || inner < 16 || inner >= 1<<20 {
			errs = append(errs, fmt.Errorf("encap: mpls labels %d/%d out of range [16, 1048575]", id, inner))
		}
	case ModeVXLAN, ModeGENEVE:
		if id >= 1<<24 {
			errs = append(errs, fmt.Errorf("encap: vni %d out of range [0, 16777215]", id))
		}
	case ModeL2GRE:
	case ModeERSPAN2, ModeERSPAN3:
		if id > 1023 {
			errs = append(errs, fmt.Errorf("encap: erspan session %d out of range [0, 1023]", id))
		}
	default:
		errs = append(errs, fmt.Errorf("encap: unknown mode %q", o.Mode))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"drop", o.Drop}, {"reorder", o.Reorder}, {"dup", o.Dup}} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("encap: %s fraction %v out of range [0, 1]", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	if o.Mode == "" {
		o.Mode = ModeNone
	}
	if o.ID == 0 {
		o.ID = DefaultID
	}
	if o.InnerID == 0 {
		o.InnerID = o.ID + 1
	}
}

// Rewrite reads a classic pcap or pcapng capture from in (Ethernet, raw IP
// or Linux cooked link types) and writes a classic pcap of Ethernet frames
// (microsecond timestamps) to out, damaged then encapsulated as opts say.
func Rewrite(in io.Reader, out io.Writer, opts Options) (Stats, error) {
	var st Stats
	if err := opts.Validate(); err != nil {
		return st, err
	}
	pkts, err := readAll(in)
	if err != nil {
		return st, err
	}
	st.Read = len(pkts)
	rnd := rand.New(rand.NewPCG(uint64(opts.Seed), 0x61706974617021))

	pkts = drop(pkts, opts.Drop, rnd, &st)
	reorder(pkts, opts.Reorder, rnd, &st)
	pkts = dup(pkts, opts.Dup, rnd, &st)

	bw := bufio.NewWriterSize(out, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return st, err
	}
	e := &encoder{opts: opts}
	for _, p := range pkts {
		data, orig, ok := e.encap(p)
		if !ok {
			st.Skipped++
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: p.ci.Timestamp, CaptureLength: len(data), Length: orig}
		if err := w.WritePacket(ci, data); err != nil {
			return st, err
		}
		st.Written++
	}
	return st, bw.Flush()
}

// ---- input ----

type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

func readAll(in io.Reader) ([]*packet, error) {
	br := bufio.NewReaderSize(in, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("encap: reading the capture header: %w", err)
	}
	var r packetReader
	if binary.BigEndian.Uint32(magic) == 0x0A0D0D0A {
		r, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(br)
	}
	if err != nil {
		return nil, fmt.Errorf("encap: not a pcap or pcapng file: %w", err)
	}
	link := r.LinkType()
	switch link {
	case layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkType(12), layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL:
	default:
		return nil, fmt.Errorf("encap: link type %v not supported (Ethernet, raw IP and Linux cooked are)", link)
	}
	var pkts []*packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("encap: packet %d: %w", len(pkts)+1, err)
		}
		data, ci, ok := toEthernet(link, data, ci)
		if !ok {
			return nil, fmt.Errorf("encap: packet %d: truncated link header", len(pkts)+1)
		}
		p := &packet{ci: ci, data: data, index: len(pkts)}
		p.info = parse(data)
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// Ethernet addresses of frames synthesised from raw IP input.
var (
	macA = [6]byte{0x02, 0, 0x5e, 0x10, 0, 0x01}
	macB = [6]byte{0x02, 0, 0x5e, 0x10, 0, 0x02}
)

// toEthernet converts a frame of another link type to Ethernet.
func toEthernet(link layers.LinkType, data []byte, ci gopacket.CaptureInfo) ([]byte, gopacket.CaptureInfo, bool) {
	var et uint16
	switch link {
	case layers.LinkTypeEthernet:
		return data, ci, true
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return nil, ci, false
		}
		et = binary.BigEndian.Uint16(data[14:])
		data, ci.Length = data[16:], ci.Length-16
	default: // raw IP
		if len(data) < 1 {
			return nil, ci, false
		}
		et = 0x0800
		if data[0]>>4 == 6 {
			et = 0x86DD
		}
	}
	out := make([]byte, 0, 14+len(data))
	out = append(out, macB[:]...)
	out = append(out, macA[:]...)
	out = binary.BigEndian.AppendUint16(out, et)
	out = append(out, data...)
	ci.CaptureLength, ci.Length = len(out), ci.Length+14
	return out, ci, true
}

// parse reads the headers of an Ethernet frame.
func parse(b []byte) info {
	var in info
	if len(b) < 14 {
		return in
	}
	in.l2 = 14
	in.etype = binary.BigEndian.Uint16(b[12:])
	for k := 0; k < 8 && (in.etype == 0x8100 || in.etype == 0x88A8 || in.etype == 0x9100); k++ {
		if len(b) < in.l2+4 {
			return in
		}
		in.etype = binary.BigEndian.Uint16(b[in.l2+2:])
		in.l2 += 4
	}
	ip := b[in.l2:]
	var proto byte
	var hl int
	switch in.etype {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return in
		}
		in.ip = true
		hl = int(ip[0]&0x0f) * 4
		in.ipLen = int(binary.BigEndian.Uint16(ip[2:]))
		if hl < 20 || in.ipLen < hl || len(ip) < hl {
			in.ipLen = 0
			return in
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // fragment
			return in
		}
		proto = ip[9]
		sa, _ := netip.AddrFromSlice(ip[12:16])
		da, _ := netip.AddrFromSlice(ip[16:20])
		in.src, in.dst = netip.AddrPortFrom(sa, 0), netip.AddrPortFrom(da, 0)
	case 0x86DD:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return in
		}
		in.ip = true
		hl = 40
		in.ipLen = 40 + int(binary.BigEndian.Uint16(ip[4:]))
		proto = ip[6] // extension headers are not followed: not TCP then
		sa := netip.AddrFrom16([16]byte(ip[8:24]))
		da := netip.AddrFrom16([16]byte(ip[24:40]))
		in.src, in.dst = netip.AddrPortFrom(sa, 0), netip.AddrPortFrom(da, 0)
	default:
		return in
	}
	if proto != 6 || len(ip) < hl+20 {
		return in
	}
	t := ip[hl:]
	thl := int(t[12]>>4) * 4
	if thl < 20 || in.ipLen < hl+thl {
		return in
	}
	in.tcp = true
	in.src = netip.AddrPortFrom(in.src.Addr(), binary.BigEndian.Uint16(t[0:]))
	in.dst = netip.AddrPortFrom(in.dst.Addr(), binary.BigEndian.Uint16(t[2:]))
	in.seq = binary.BigEndian.Uint32(t[4:])
	in.ack = binary.BigEndian.Uint32(t[8:])
	in.flags = t[13]
	in.plen = in.ipLen - hl - thl
	return in
}

// ---- damage ----

// pick returns exactly round(frac × n) distinct indexes of [0, n), sorted.
func pick(n int, frac float64, rnd *rand.Rand) []int {
	k := int(math.Round(frac * float64(n)))
	if k <= 0 || n == 0 {
		return nil
	}
	if k > n {
		k = n
	}
	idx := rnd.Perm(n)[:k]
	sort.Ints(idx)
	return idx
}

func drop(pkts []*packet, frac float64, rnd *rand.Rand, st *Stats) []*packet {
	var elig []int
	for i, p := range pkts {
		if p.info.data() {
			elig = append(elig, i)
		}
	}
	st.DropEligible = len(elig)
	chosen := pick(len(elig), frac, rnd)
	if len(chosen) == 0 {
		return pkts
	}
	gone := make(map[int]bool, len(chosen))
	for _, c := range chosen {
		gone[elig[c]] = true
		st.DroppedSegments = append(st.DroppedSegments, pkts[elig[c]].segment())
	}
	st.Dropped = len(chosen)
	out := pkts[:0:0]
	for i, p := range pkts {
		if !gone[i] {
			out = append(out, p)
		}
	}
	return out
}

func reorder(pkts []*packet, frac float64, rnd *rand.Rand, st *Stats) {
	// last is, per connection, the unpaired data segment that may start a
	// pair (-1 when none).
	last := map[conn]int{}
	var pairs [][2]int
	for i, p := range pkts {
		if !p.info.tcp {
			continue
		}
		c := p.info.conn()
		j, ok := last[c]
		switch {
		case p.info.pureACK():
			// An ACK of the other direction that covers any byte of the
			// waiting segment: the segment cannot move past it.
			if ok && j >= 0 && pkts[j].info.src == p.info.dst && p.info.flags&tcpACK != 0 && int32(p.info.ack-pkts[j].info.seq) > 0 {
				last[c] = -1
			}
			continue
		case p.info.data():
			if ok && j >= 0 && pkts[j].info.src == p.info.src {
				pairs = append(pairs, [2]int{j, i})
				last[c] = -1
			} else {
				last[c] = i
			}
		default: // SYN, FIN, RST: nothing crosses them
			last[c] = -1
		}
	}
	st.ReorderEligible = len(pairs)
	for _, c := range pick(len(pairs), frac, rnd) {
		i, j := pairs[c][0], pairs[c][1]
		st.SwappedSegments = append(st.SwappedSegments, [2]Segment{pkts[i].segment(), pkts[j].segment()})
		ti, tj := pkts[i].ci.Timestamp, pkts[j].ci.Timestamp
		pkts[i], pkts[j] = pkts[j], pkts[i]
		pkts[i].ci.Timestamp, pkts[j].ci.Timestamp = ti, tj
		st.Reordered++
	}
}

func dup(pkts []*packet, frac float64, rnd *rand.Rand, st *Stats) []*packet {
	var elig []int
	for i, p := range pkts {
		if p.info.tcp {
			elig = append(elig, i)
		}
	}
	st.DupEligible = len(elig)
	chosen := pick(len(elig), frac, rnd)
	if len(chosen) == 0 {
		return pkts
	}
	twice := make(map[int]bool, len(chosen))
	for _, c := range chosen {
		twice[elig[c]] = true
	}
	out := make([]*packet, 0, len(pkts)+len(chosen))
	for i, p := range pkts {
		out = append(out, p)
		if twice[i] {
			cp := *p
			out = append(out, &cp)
			st.DuplicatedSegments = append(st.DuplicatedSegments, p.segment())
		}
	}
	st.Duplicated = len(chosen)
	return out
}

// ---- encapsulation ----

// Outer addresses: tunnel endpoints A and B (swapped for the reverse
// direction of the inner connection), and the mirror source and collector
// for ERSPAN (one direction only, as a SPAN session sends). All in
// TEST-NET-1 (RFC 5737).
var (
	tepA      = [4]byte{192, 0, 2, 1}
	tepB      = [4]byte{192, 0, 2, 2}
	mirrorSrc = [4]byte{192, 0, 2, 10}
	collector = [4]byte{192, 0, 2, 20}
)

type encoder struct {
	opts  Options
	ipID  uint16
	greSq uint32
	buf   []byte
}

// encap returns the output frame for p and its original (on-the-wire)
// length; ok is false when the mode cannot carry the frame.
func (e *encoder) encap(p *packet) (out []byte, orig int, ok bool) {
	d, in := p.data, &p.info
	m := e.opts.Mode
	switch m {
	case ModeNone:
		return d, p.ci.Length, true
	case ModeVLAN, ModeQinQ:
		if len(d) < 14 {
			return nil, 0, false
		}
		b := make([]byte, 0, len(d)+8)
		b = append(b, d[:12]...)
		if m == ModeQinQ {
			b = binary.BigEndian.AppendUint16(b, 0x88A8)
			b = binary.BigEndian.AppendUint16(b, uint16(e.opts.ID))
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, uint16(e.opts.InnerID))
		} else {
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, uint16(e.opts.ID))
		}
		b = append(b, d[12:]...)
		return b, p.ci.Length + len(b) - len(d), true
	}

	// The payload: the whole frame, or for IP-only modes the IP packet
	// without the Ethernet header and padding.
	payload, plOrig := d, p.ci.Length
	if m.layer3() {
		if !in.ip || in.ipLen == 0 {
			return nil, 0, false
		}
		end := min(in.l2+in.ipLen, len(d))
		payload, plOrig = d[in.l2:end], in.ipLen
	}

	src, dst := tepA, tepB
	smac, dmac := macA, macB
	if !in.forward() {
		src, dst, smac, dmac = dst, src, dmac, smac
	}
	if m == ModeERSPAN2 || m == ModeERSPAN3 {
		src, dst, smac, dmac = mirrorSrc, collector, macA, macB
	}

	var h []byte // headers after the outer IPv4 header (or after Ethernet for MPLS)
	var proto byte
	switch m {
	case ModeMPLS:
		b := make([]byte, 0, 22+len(payload))
		b = append(b, dmac[:]...)
		b = append(b, smac[:]...)
		b = binary.BigEndian.AppendUint16(b, 0x8847)
		b = binary.BigEndian.AppendUint32(b, e.opts.ID<<12|64)           // TC 0, S 0, TTL 64
		b = binary.BigEndian.AppendUint32(b, e.opts.InnerID<<12|1<<8|64) // bottom of stack
		b = append(b, payload...)
		return b, 22 + plOrig, true
	case ModeVXLAN:
		h = udpHeader(flowPort(in), PortVXLAN, 8+plOrig)
		h = append(h, 0x08, 0, 0, 0) // I flag: the VNI is valid
		h = binary.BigEndian.AppendUint32(h, e.opts.ID<<8)
		proto = 17
	case ModeGENEVE:
		h = udpHeader(flowPort(in), PortGENEVE, 16+plOrig)
		h = append(h, 2) // version 0, options length 2 × 4 bytes
		h = append(h, 0) // O and C clear
		h = binary.BigEndian.AppendUint16(h, 0x6558)
		h = binary.BigEndian.AppendUint32(h, e.opts.ID<<8)
		// One TLV option: experimental class 0xFF01, type 1, 4 bytes of data
		// (the frame's position in the input).
		h = binary.BigEndian.AppendUint16(h, 0xFF01)
		h = append(h, 0x01, 0x01)
		h = binary.BigEndian.AppendUint32(h, uint32(p.index))
		proto = 17
	case ModeGRE:
		h = binary.BigEndian.AppendUint16(nil, 0)
		h = binary.BigEndian.AppendUint16(h, in.etype)
		proto = 47
	case ModeL2GRE:
		h = binary.BigEndian.AppendUint16(nil, 0x2000) // K
		h = binary.BigEndian.AppendUint16(h, 0x6558)
		h = binary.BigEndian.AppendUint32(h, e.opts.ID)
		proto = 47
	case ModeERSPAN2, ModeERSPAN3:
		h = binary.BigEndian.AppendUint16(nil, 0x1000) // S
		if m == ModeERSPAN2 {
			h = binary.BigEndian.AppendUint16(h, 0x88BE)
		} else {
			h = binary.BigEndian.AppendUint16(h, 0x22EB)
		}
		h = binary.BigEndian.AppendUint32(h, e.greSq)
		e.greSq++
		if m == ModeERSPAN2 {
			// Ver 1, VLAN 0 | COS 0, En 0 (untagged), T 0, session | reserved 0, index 0.
			h = binary.BigEndian.AppendUint16(h, 1<<12)
			h = binary.BigEndian.AppendUint16(h, uint16(e.opts.ID&0x3ff))
			h = binary.BigEndian.AppendUint32(h, 0)
		} else {
			// Ver 2, VLAN 0 | COS 0, BSO 0, T 0, session | timestamp
			// (100 µs units, granularity 0) | SGT 0 | P 0, FT 0 (Ethernet),
			// HW ID 0, D 0, Gra 0, O 0 (no platform subheader).
			h = binary.BigEndian.AppendUint16(h, 2<<12)
			h = binary.BigEndian.AppendUint16(h, uint16(e.opts.ID&0x3ff))
			h = binary.BigEndian.AppendUint32(h, uint32(p.ci.Timestamp.UnixNano()/int64(100*time.Microsecond)))
			h = binary.BigEndian.AppendUint16(h, 0)
			h = append(h, 0, 0)
		}
		proto = 47
	case ModeIPIP:
		proto = 4
		if in.etype == 0x86DD {
			proto = 41
		}
	}

	b := make([]byte, 0, 34+len(h)+len(payload))
	b = append(b, dmac[:]...)
	b = append(b, smac[:]...)
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	b = e.ipv4(b, src, dst, proto, 20+len(h)+plOrig)
	b = append(b, h...)
	b = append(b, payload...)
	return b, 34 + len(h) + plOrig, true
}

// ipv4 appends an IPv4 header (DF, TTL 64, checksummed).
func (e *encoder) ipv4(b []byte, src, dst [4]byte, proto byte, total int) []byte {
	e.ipID++
	at := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = binary.BigEndian.AppendUint16(b, e.ipID)
	b = append(b, 0x40, 0, 64, proto, 0, 0)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	binary.BigEndian.PutUint16(b[at+10:], Checksum(b[at:at+20]))
	return b
}

// Checksum is the Internet checksum (RFC 1071) of b.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// udpHeader returns a UDP header for a payload of n bytes, checksum 0
// (allowed over IPv4, and what most VTEPs send).
func udpHeader(sport, dport uint16, n int) []byte {
	h := binary.BigEndian.AppendUint16(nil, sport)
	h = binary.BigEndian.AppendUint16(h, dport)
	h = binary.BigEndian.AppendUint16(h, uint16(8+n))
	return binary.BigEndian.AppendUint16(h, 0)
}

// flowPort is the UDP source port of a UDP tunnel: flow entropy from the
// inner connection, the same in both directions, in [49152, 65535].
func flowPort(in *info) uint16 {
	if !in.ip {
		return 49152
	}
	c := in.conn()
	h := fnv.New32a()
	a, _ := c.a.MarshalBinary()
	bb, _ := c.b.MarshalBinary()
	h.Write(a)
	h.Write(bb)
	return 49152 + uint16(h.Sum32()%16384)
}
