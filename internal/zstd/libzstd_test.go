//go:build cgo && !nolibzstd

package zstd

import (
	"sync"
	"testing"
)

// TestContextsFreed: contexts beyond the idle bound are freed when their
// call ends, the idle ones by Close, and one still in use when Close runs
// is freed when its call ends. C memory is invisible to Go's GC, so a leak
// here would grow without bound.
func TestContextsFreed(t *testing.T) {
	e, err := NewEncoder(Default, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	src := apiText(256<<10, 1)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 5 {
				if _, err := e.EncodeAll(src, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := e.live.Load(); n > maxIdle {
		t.Errorf("%d contexts alive after the calls ended, want at most %d idle", n, maxIdle)
	}
	c, err := e.get() // a call in progress across Close
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if n := e.live.Load(); n != 1 {
		t.Errorf("%d contexts alive after Close with one in use, want 1", n)
	}
	e.put(c)
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d contexts alive after the last call ended, want 0", n)
	}
}
