package sensor_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/sensor"
)

// peakMemory samples the Go runtime's total mapped-and-not-released memory
// (the in-process equivalent of RSS) while f runs, and returns the peak.
func peakMemory(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var peak atomic.Uint64
	read := func() {
		metrics.Read(sample)
		v := sample[0].Value.Uint64() - sample[1].Value.Uint64()
		for {
			p := peak.Load()
			if v <= p || peak.CompareAndSwap(p, v) {
				return
			}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	f()
	read()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// Memory must not grow with the number of exchanges on the same
// connections: bodies are parsed incrementally and released per message.
func TestMemoryFlatInExchanges(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 100 MB capture")
	}
	small, _ := genFile(t, pcapgen.Options{Exchanges: 20000, Conns: 100})
	large, _ := genFile(t, pcapgen.Options{Exchanges: 200000, Conns: 100})
	run := func(path string) (uint64, int) {
		var n int
		peak := peakMemory(func() {
			c, _ := runFileCounting(t, path, nil)
			n = c
		})
		return peak, n
	}
	ps, ns := run(small)
	pl, nl := run(large)
	if ns != 20000 || nl != 200000 {
		t.Fatalf("exchanges: %d and %d", ns, nl)
	}
	ratio := float64(pl) / float64(ps)
	t.Logf("peak memory: 20k exchanges %.1f MiB, 200k exchanges %.1f MiB, ratio %.2f", float64(ps)/(1<<20), float64(pl)/(1<<20), ratio)
	if ratio > 1.2 {
		t.Fatalf("memory grows with exchanges: ratio %.2f > 1.2", ratio)
	}
}

// A SYN flood of 100k half-open connections beside healthy traffic: memory
// stays far under the 512 MiB default cap and every healthy exchange comes out.
func TestSYNFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture")
	}
	path, _ := genFile(t, pcapgen.Options{Exchanges: 5000, Conns: 20, SYNFlood: 100000})
	var n int
	var st sensor.Stats
	peak := peakMemory(func() { n, st = runFileCounting(t, path, nil) })
	t.Logf("SYN flood: peak %.1f MiB, %d exchanges, tcp stats %+v", float64(peak)/(1<<20), n, st.TCP)
	if n != 5000 {
		t.Fatalf("healthy exchanges: %d, want 5000", n)
	}
	if peak > 512<<20 {
		t.Fatalf("peak memory %d MiB over the 512 MiB cap", peak>>20)
	}
}
