package decode

import (
	"bytes"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/apitap/apitap/internal/testutil"
)

// TestDiffGopacket decodes every packet of every capture in the corpus
// with both this decoder and gopacket's layers, and where both find a TCP
// segment with the same addresses, the ports, sequence number, flags and
// payload must agree. gopacket does not know every encapsulation we do
// (SLL2, ERSPAN III, VXLAN on 8472, NFLOG, link type 12) nor reassemble
// fragments, so only packets both decode are compared; the test counts
// them so it cannot pass by comparing nothing.
func TestDiffGopacket(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the whole corpus")
	}
	t.Parallel()
	root := filepath.Join(testutil.Corpus(t), "pcap")
	var files []string
	filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			files = append(files, path)
		}
		return nil
	})
	compared, onlyGopacket, onlyUs := 0, 0, 0
	for _, path := range files {
		frames, err := readCaptureErr(path)
		if err != nil && len(frames) == 0 {
			t.Logf("%s: unreadable, skipped: %v", path, err)
			continue
		}
		d := NewDecoder(DefaultConfig())
		var p Packet
		for i, f := range frames {
			before := d.stats.FragDatagrams
			r := d.Decode(f.data, f.link, f.ts, &p)
			reassembled := d.stats.FragDatagrams != before
			gp := gopacket.NewPacket(f.data, layers.LinkType(f.link), gopacket.DecodeOptions{NoCopy: true, Lazy: false})
			tcp, src, dst := gopacketTCP(gp)
			switch {
			case tcp == nil && r == ResultTCP:
				onlyUs++
				continue
			case tcp == nil:
				continue
			case r != ResultTCP:
				// Fine for a first fragment (we wait for the datagram) and
				// for link types we do not parse (802.11 radiotap).
				onlyGopacket++
				if r != ResultFragment && d.stats.UnsupportedLink == 0 {
					t.Errorf("%s frame %d: gopacket finds TCP, we say %v", filepath.Base(path), i+1, r)
				}
				continue
			case reassembled || addr(src) != p.Src || addr(dst) != p.Dst:
				continue
			}
			compared++
			where := func() string { return filepath.Base(path) + " frame " + itoa(i+1) }
			if uint16(tcp.SrcPort) != p.SrcPort || uint16(tcp.DstPort) != p.DstPort {
				t.Errorf("%s: ports %d>%d, gopacket %d>%d", where(), p.SrcPort, p.DstPort, tcp.SrcPort, tcp.DstPort)
			}
			if tcp.Seq != p.Seq || tcp.Ack != p.Ack || tcp.Window != p.Window {
				t.Errorf("%s: seq/ack/win %d/%d/%d, gopacket %d/%d/%d", where(), p.Seq, p.Ack, p.Window, tcp.Seq, tcp.Ack, tcp.Window)
			}
			if fl := gopacketFlags(tcp); fl != p.Flags {
				t.Errorf("%s: flags %#x, gopacket %#x", where(), p.Flags, fl)
			}
			if !bytes.Equal(tcp.Payload, p.Payload) {
				t.Errorf("%s: payload %d bytes, gopacket %d", where(), len(p.Payload), len(tcp.Payload))
			}
		}
		s := d.Stats()
		checkSums(t, &s)
	}
	t.Logf("%d files; %d segments compared; TCP only in gopacket %d, only here %d", len(files), compared, onlyGopacket, onlyUs)
	// 21,000+ segments at the time of writing; a big drop means the
	// comparison silently stopped working.
	if compared < 15000 {
		t.Errorf("only %d segments compared", compared)
	}
}

// gopacketTCP returns the innermost TCP layer and the addresses of the IP
// layer right before it.
func gopacketTCP(gp gopacket.Packet) (*layers.TCP, net.IP, net.IP) {
	ls := gp.Layers()
	for i := len(ls) - 1; i > 0; i-- {
		tcp, ok := ls[i].(*layers.TCP)
		if !ok {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			switch ip := ls[j].(type) {
			case *layers.IPv4:
				return tcp, ip.SrcIP, ip.DstIP
			case *layers.IPv6:
				return tcp, ip.SrcIP, ip.DstIP
			}
		}
		return nil, nil, nil
	}
	return nil, nil, nil
}

func gopacketFlags(t *layers.TCP) uint8 {
	var f uint8
	for i, b := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR} {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}
