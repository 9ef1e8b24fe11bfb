package sensor_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/testutil"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// apitapBinary builds cmd/apitap once per test run: memory is measured as
// the peak resident set of the real process, as an operator would see it.
func apitapBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("APITAP_BIN"); p != "" {
		return p // a prebuilt binary (debugging)
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "apitap-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "apitap")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/apitap")
		cmd.Dir = testutil.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return binPath
}

// peakRSS runs the sensor binary on a capture and returns its peak resident
// set in bytes and the number of exchanges written. GNU time measures it:
// the child's own getrusage after a vfork from this (large) test process
// would report the test's resident set, not the sensor's.
func peakRSS(t *testing.T, pcap string, args ...string) (uint64, int) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("/usr/bin/time not installed (make deps)")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	tf := filepath.Join(dir, "time")
	a := append([]string{"-f", "%M", "-o", tf, apitapBinary(t), "sensor", "--pcap", pcap, "--workers", "1", "--output", "jsonl:" + out, "--log-level", "warn"}, args...)
	cmd := exec.Command("/usr/bin/time", a...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sensor: %v\n%s", err, b)
	}
	tb, err := os.ReadFile(tf)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := strconv.ParseUint(strings.TrimSpace(string(tb)), 10, 64)
	if err != nil {
		t.Fatalf("time output %q: %v", tb, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(data), `"status":`)
	return kb * 1024, n
}

// Memory must not grow with the number of exchanges on the same
// connections: bodies are parsed incrementally and released per message.
func TestMemoryFlatInExchanges(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 140 MB capture")
	}
	small, _ := genFile(t, pcapgen.Options{Exchanges: 20000, Conns: 100})
	large, _ := genFile(t, pcapgen.Options{Exchanges: 200000, Conns: 100})
	// A peak is the most extreme sample of a run, and a longer run takes
	// more samples of the garbage collector's cycle: compare medians of
	// three runs, as docs/performance.md does for CPU time.
	median := func(path string) (uint64, int) {
		var v []uint64
		var n int
		for range 3 {
			p, c := peakRSS(t, path)
			v = append(v, p)
			n = c
		}
		slices.Sort(v)
		return v[1], n
	}
	ps, ns := median(small)
	pl, nl := median(large)
	if ns != 20000 || nl != 200000 {
		t.Fatalf("exchanges: %d and %d", ns, nl)
	}
	ratio := float64(pl) / float64(ps)
	t.Logf("peak RSS: 20k exchanges %.1f MiB, 200k exchanges %.1f MiB, ratio %.2f", float64(ps)/(1<<20), float64(pl)/(1<<20), ratio)
	if ratio > 1.2 {
		t.Fatalf("memory grows with exchanges: ratio %.2f > 1.2", ratio)
	}
}

// A SYN flood of 100k half-open connections beside healthy traffic: the
// resident set stays under the 512 MiB default cap and every healthy
// exchange comes out.
func TestSYNFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture")
	}
	path, _ := genFile(t, pcapgen.Options{Exchanges: 5000, Conns: 20, SYNFlood: 100000})
	peak, n := peakRSS(t, path)
	t.Logf("SYN flood of 100k half-open connections: peak RSS %.1f MiB, %d exchanges", float64(peak)/(1<<20), n)
	if n != 5000 {
		t.Fatalf("healthy exchanges: %d, want 5000", n)
	}
	if peak > 512<<20 {
		t.Fatalf("peak RSS %d MiB over the 512 MiB cap", peak>>20)
	}
}
