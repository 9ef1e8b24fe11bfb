package decode

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// corpusDir holds the shared pcap corpus (read-only).
const corpusDir = "/work/shared/corpus/pcap"

// frame is one captured frame of a test capture.
type frame struct {
	data []byte
	ts   int64
	link LinkType
}

// readCapture reads every frame of a pcap or pcapng file.
func readCapture(t testing.TB, path string) []frame {
	t.Helper()
	fs, err := readCaptureErr(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fs
}

func readCaptureErr(path string) ([]frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []frame
	if r, err := pcapgo.NewReader(f); err == nil {
		link := LinkType(r.LinkType())
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, frame{data, ci.Timestamp.UnixNano(), link})
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		link := LinkType(r.LinkType())
		if ci.InterfaceIndex >= 0 && ci.InterfaceIndex < r.NInterfaces() {
			if iface, err := r.Interface(ci.InterfaceIndex); err == nil {
				link = LinkType(iface.LinkType)
			}
		}
		out = append(out, frame{data, ci.Timestamp.UnixNano(), link})
	}
}
