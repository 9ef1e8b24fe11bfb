package scenario

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// cache holds the scenarios this process has run, by options: a test that
// asks again for the same options gets a copy without a new run. Nothing
// is kept on disk between processes.
var cache struct {
	mu sync.Mutex
	m  map[string]*cached
}

type cached struct {
	once  sync.Once
	pcap  []byte
	truth Truth
	err   error
}

// Generate returns the path of a scenario's capture (in t.TempDir(), with
// TruthFile and LogFile beside it) and its ground truth. The first call
// for given options runs the scenario (about Duration/Speedup plus a
// second); later calls in the same process copy that run's capture.
//
// It skips the test when the machine cannot run scenarios (not root, ip,
// tcpdump or ethtool missing, no network namespaces). It needs no TestMain and no helper
// binary: the server and clients run in the test process, their sockets
// created inside the namespace.
func Generate(t testing.TB, opts Options) (string, Truth) {
	t.Helper()
	o, err := opts.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if err := Supported(); err != nil {
		skip(t, err)
	}
	cache.mu.Lock()
	if cache.m == nil {
		cache.m = map[string]*cached{}
	}
	e := cache.m[o.key()]
	if e == nil {
		e = &cached{}
		cache.m[o.key()] = e
	}
	cache.mu.Unlock()

	dir := t.TempDir()
	ran := false
	e.once.Do(func() {
		ran = true
		e.truth, e.err = Run(context.Background(), dir, o)
		if e.err == nil {
			e.pcap, e.err = os.ReadFile(filepath.Join(dir, PcapFile))
		}
	})
	if e.err != nil {
		if errors.Is(e.err, ErrUnsupported) {
			skip(t, e.err)
		}
		t.Fatal(e.err)
	}
	path := filepath.Join(dir, PcapFile)
	if !ran {
		if err := os.WriteFile(path, e.pcap, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := e.truth.write(dir); err != nil {
			t.Fatal(err)
		}
	}
	// The caller may edit its copy (the maps inside are shared: read them
	// only).
	tr := e.truth
	tr.Log = append([]Request(nil), e.truth.Log...)
	tr.Attacks = append([]Attack(nil), e.truth.Attacks...)
	tr.Clients = append([]Client(nil), e.truth.Clients...)
	return path, tr
}

func skip(t testing.TB, err error) {
	t.Helper()
	t.Skip(err)
}
