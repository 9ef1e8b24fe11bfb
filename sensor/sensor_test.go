package sensor_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sensor/capture"
)

// collect is a flow.Consumer that keeps everything.
type collect struct {
	mu     sync.Mutex
	ex     []*flow.Exchange
	losses []flow.Loss
}

func (c *collect) Consume(_ context.Context, b flow.Batch) error {
	c.mu.Lock()
	c.ex = append(c.ex, b.Exchanges...)
	c.losses = append(c.losses, b.Losses...)
	c.mu.Unlock()
	return nil
}

func runFile(t testing.TB, path string, mutate func(*sensor.Config)) (*collect, sensor.Stats) {
	t.Helper()
	cfg := sensor.DefaultConfig()
	cfg.Capture.File = path
	cfg.Workers = 1
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	src, err := capture.OpenFile(path, cfg.Capture.BPF, cfg.Capture.Snaplen)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	c := &collect{}
	s, err := sensor.New(cfg, sensor.Settings{Consumer: c, Sources: []capture.Source{src}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	return c, s.Stats()
}

func genFile(t testing.TB, o pcapgen.Options) (string, pcapgen.Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pcapgen.Write(f, o)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path, res
}

// keys returns the sorted multiset of method/target/status.
func keys(ex []*flow.Exchange) []string {
	out := make([]string, len(ex))
	for i, e := range ex {
		out[i] = fmt.Sprintf("%s %s %d %d", e.Method, e.Target, e.Status, e.Response.WireBytes)
	}
	sort.Strings(out)
	return out
}

func TestGeneratedCaptureAllExchanges(t *testing.T) {
	const n = 3000
	path, _ := genFile(t, pcapgen.Options{Exchanges: n, Conns: 40, GzipShare: 0.3})
	one, st := runFile(t, path, nil)
	if len(one.ex) != n {
		t.Fatalf("workers=1: %d exchanges, want %d (stats %+v)", len(one.ex), n, st)
	}
	for _, e := range one.ex {
		if e.Status == 0 || e.Flags.Has(flow.FlagGap) || e.Flags.Has(flow.FlagNoResponse) {
			t.Fatalf("damaged exchange on a clean capture: %+v flags=%v", e, e.Flags)
		}
		if e.Host != "api.example.com" || e.Server.Port() != 80 {
			t.Fatalf("host/server wrong: %q %v", e.Host, e.Server)
		}
	}
	four, _ := runFile(t, path, func(c *sensor.Config) { c.Workers = 4; c.BatchPackets = 7 })
	if a, b := keys(one.ex), keys(four.ex); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("workers=4 gives a different multiset (%d vs %d)", len(b), len(a))
	}
	again, _ := runFile(t, path, nil)
	if len(again.ex) != n {
		t.Fatalf("second run: %d exchanges", len(again.ex))
	}
}

// Timeouts run on the capture clock: the same traffic days later, or with
// long pauses, must give the same records.
func TestCaptureClockOnly(t *testing.T) {
	base := pcapgen.Options{Exchanges: 800, Conns: 8}
	p1, _ := genFile(t, base)
	shifted := base
	shifted.Start = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	p2, _ := genFile(t, shifted)
	a, _ := runFile(t, p1, nil)
	b, _ := runFile(t, p2, nil)
	if strings.Join(keys(a.ex), "\n") != strings.Join(keys(b.ex), "\n") || len(a.ex) != 800 {
		t.Fatalf("shifted capture differs: %d vs %d", len(a.ex), len(b.ex))
	}
	if got := b.ex[0].Start.Year(); got != 2031 {
		t.Fatalf("record time comes from the capture: got year %d", got)
	}
}

func TestTruncatedFileKeepsEverythingBefore(t *testing.T) {
	path, _ := genFile(t, pcapgen.Options{Exchanges: 500, Conns: 5})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)*2/3+7], 0o644); err != nil {
		t.Fatal(err)
	}
	c, st := runFile(t, cut, nil)
	if !st.Capture.TruncatedFile {
		t.Fatalf("truncation not reported: %+v", st.Capture)
	}
	complete := 0
	for _, e := range c.ex {
		if e.Status != 0 {
			complete++
		}
	}
	if complete < 300 || complete > 340 {
		t.Fatalf("complete exchanges before the cut = %d, want about 330", complete)
	}
	// The blindness travels in the same stream as the exchanges.
	var found bool
	for _, l := range c.losses {
		if l.Stage == flow.StageCapture && l.Reason == "truncated_file" && l.Count == 1 && !l.First.IsZero() && !l.Last.Before(l.First) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no truncated_file loss record: %+v", c.losses)
	}
}

// A capture cut by a small snaplen reports the missing bytes as loss.
func TestSnaplenLossRecords(t *testing.T) {
	path, _ := genFile(t, pcapgen.Options{Exchanges: 200, Conns: 4, MSS: 4000})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the capture with every frame cut to 200 bytes.
	cut := filepath.Join(t.TempDir(), "snap.pcap")
	out := append([]byte(nil), data[:24]...)
	for off := 24; off+16 <= len(data); {
		capLen := int(binary.LittleEndian.Uint32(data[off+8:]))
		n := min(capLen, 200)
		hdr := append([]byte(nil), data[off:off+16]...)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(n))
		out = append(append(out, hdr...), data[off+16:off+16+n]...)
		off += 16 + capLen
	}
	os.WriteFile(cut, out, 0o644)
	c, st := runFile(t, cut, nil)
	if st.Decode.Snapped == 0 {
		t.Fatalf("snaplen cut not counted: %+v", st.Decode)
	}
	var bytesLost uint64
	for _, l := range c.losses {
		if l.Stage == flow.StageReassembly && l.Reason == "snaplen" {
			bytesLost += l.Count
		}
	}
	if bytesLost == 0 {
		t.Fatalf("no reassembly/snaplen loss record: %+v", c.losses)
	}
	flagged := 0
	for _, e := range c.ex {
		if e.Flags.Has(flow.FlagGap) || e.Flags.Has(flow.FlagIncomplete) || e.Flags.Has(flow.FlagNoResponse) {
			flagged++
		}
	}
	if len(c.ex) == 0 || flagged == 0 {
		t.Fatalf("cut capture: %d records, %d flagged", len(c.ex), flagged)
	}
}

func TestFileBPFFilter(t *testing.T) {
	path, res := genFile(t, pcapgen.Options{Exchanges: 100, Conns: 2})
	c, st := runFile(t, path, func(c *sensor.Config) { c.Capture.BPF = "tcp port 9999" })
	if len(c.ex) != 0 || st.Capture.Filtered != uint64(res.Packets) {
		t.Fatalf("filter: %d exchanges, %d filtered of %d", len(c.ex), st.Capture.Filtered, res.Packets)
	}
	c, _ = runFile(t, path, func(c *sensor.Config) { c.Capture.BPF = "tcp port 80" })
	if len(c.ex) != 100 {
		t.Fatalf("filter port 80: %d exchanges", len(c.ex))
	}
}

func TestBadBPFFailsAtStart(t *testing.T) {
	cfg := sensor.DefaultConfig()
	cfg.Capture.File = "x.pcap"
	cfg.Capture.BPF = "tcp port eighty"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "bpf") {
		t.Fatalf("want a bpf error, got %v", err)
	}
}

func TestNotACaptureFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	os.WriteFile(path, bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 4), 0o644)
	if _, err := capture.OpenFile(path, "", 65535); err == nil || !strings.Contains(err.Error(), "not a pcap") {
		t.Fatalf("want a clear error, got %v", err)
	}
}

// runFileCounting runs the sensor and only counts exchanges.
func runFileCounting(t testing.TB, path string, mutate func(*sensor.Config)) (int, sensor.Stats) {
	t.Helper()
	cfg := sensor.DefaultConfig()
	cfg.Capture.File = path
	cfg.Workers = 1
	if mutate != nil {
		mutate(&cfg)
	}
	src, err := capture.OpenFile(path, cfg.Capture.BPF, cfg.Capture.Snaplen)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var n int
	count := flow.ConsumerFunc(func(_ context.Context, b flow.Batch) error { n += len(b.Exchanges); return nil })
	s, err := sensor.New(cfg, sensor.Settings{Consumer: count, Sources: []capture.Source{src}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	return n, s.Stats()
}
