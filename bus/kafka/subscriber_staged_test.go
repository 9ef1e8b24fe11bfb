package kafka

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/schema/codec"
)

// stagedBatch is what the tests' prepare makes of a batch: its number (in
// prepare order) and its records' keys (copied: the slice is reused).
type stagedBatch struct {
	id   int
	keys []recKey
}

// stager is a prepare/store pair for RunStaged that records every call.
type stager struct {
	mu       sync.Mutex
	prepared int            // prepare calls that succeeded
	calls    [][]int        // batch ids of each store call, failed ones too
	stored   map[recKey]int // records of store calls that succeeded
	batches  int            // batches stored
	// failPrepare and failStore decide per call (1-based) whether it fails;
	// blockStore makes store call n block until ctx ends; delay slows
	// every store down (so that batches queue up behind it).
	failPrepare, failStore func(call int) bool
	blockStore             int
	blocked                chan struct{}
	delay                  time.Duration
	prepareCalls           int
	// onStore runs at the start of every store call.
	onStore func(call int, bs []*stagedBatch)
}

func newStager() *stager {
	return &stager{stored: map[recKey]int{}, blocked: make(chan struct{})}
}

func (s *stager) prepare(_ context.Context, recs []codec.Record) (*stagedBatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prepareCalls++
	if s.failPrepare != nil && s.failPrepare(s.prepareCalls) {
		return nil, errors.New("state unavailable")
	}
	b := &stagedBatch{id: s.prepared}
	s.prepared++
	for i := range recs {
		b.keys = append(b.keys, recKey{recs[i].Meta.SensorID, recs[i].Meta.Sequence})
	}
	return b, nil
}

func (s *stager) store(ctx context.Context, bs []*stagedBatch) error {
	s.mu.Lock()
	ids := make([]int, len(bs))
	for i, b := range bs {
		ids[i] = b.id
	}
	s.calls = append(s.calls, ids)
	call := len(s.calls)
	onStore := s.onStore
	s.mu.Unlock()
	if onStore != nil {
		onStore(call, bs)
	}
	if call == s.blockStore {
		close(s.blocked)
		<-ctx.Done()
		return ctx.Err()
	}
	if s.failStore != nil && s.failStore(call) {
		return errors.New("storage unavailable")
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		for _, k := range b.keys {
			s.stored[k]++
		}
	}
	s.batches += len(bs)
	return nil
}

func (s *stager) snapshot() (map[recKey]int, [][]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := make([][]int, len(s.calls))
	for i, c := range s.calls {
		calls[i] = slices.Clone(c)
	}
	stored := make(map[recKey]int, len(s.stored))
	for k, v := range s.stored {
		stored[k] = v
	}
	return stored, calls
}

func startStaged(t testing.TB, cfg SubscriberConfig, st *stager) *running {
	t.Helper()
	s, err := NewSubscriber(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- RunStaged(s, ctx, st.prepare, st.store) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// checkStoreCalls checks that store got every prepared batch in prepare
// order, a failed call's batches again in the next call, and at most
// MaxStagedBatches at once; it returns the largest call.
func checkStoreCalls(t *testing.T, calls [][]int, failed func(call int) bool) int {
	t.Helper()
	next, largest := 0, 0
	for i, ids := range calls {
		if len(ids) == 0 || len(ids) > MaxStagedBatches {
			t.Fatalf("store call %d got %d batches", i+1, len(ids))
		}
		largest = max(largest, len(ids))
		for j, id := range ids {
			if id != next+j {
				t.Fatalf("store call %d got batches %v, want them from %d on, in order", i+1, ids, next)
			}
		}
		if failed == nil || !failed(i+1) {
			next += len(ids)
		} else if i+1 < len(calls) && !slices.Equal(calls[i+1], ids) {
			t.Fatalf("store call %d failed with batches %v; the retry got %v", i+1, ids, calls[i+1])
		}
	}
	return largest
}

// RunStaged: every record prepared once and stored once, batches stored in
// prepare order, several at once while store is the slow stage, every
// offset committed.
func TestSubscriberStaged(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 100
	const n = 3000
	publish(t, c.ListenAddrs(), "sensor-s", 0, n)

	st := newStager()
	st.delay = 40 * time.Millisecond
	r := startStaged(t, cfg, st)
	eventually(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(c, testTopic) == n })
	stored, calls := st.snapshot()
	checkUnion(t, keys("sensor-s", 0, n), stored)
	for k, v := range stored {
		if v != 1 {
			t.Fatalf("record %+v stored %d times", k, v)
		}
	}
	largest := checkStoreCalls(t, calls, nil)
	if largest < 2 {
		t.Fatalf("no store call got more than one batch: %v", calls)
	}
	st.mu.Lock()
	prepared := st.prepared
	st.mu.Unlock()
	s := r.s.Stats()
	if s.Delivered != n || s.Committed != n || s.Batches != uint64(prepared) || s.HandlerRetries != 0 || s.Commits != uint64(len(calls)) {
		t.Fatalf("stats %+v; %d batches prepared, %d store calls", s, prepared, len(calls))
	}
	t.Logf("%d batches in %d store calls (largest %d)", prepared, len(calls), largest)
}

// A store that fails gets the same batches again (not re-prepared, not
// regrouped) until it succeeds; meanwhile nothing of them or after them is
// committed. A failed prepare is retried with the same records.
func TestSubscriberStagedRetries(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 100
	const n = 2000
	publish(t, c.ListenAddrs(), "sensor-r", 0, n)

	st := newStager()
	st.failPrepare = func(call int) bool { return call == 2 || call == 3 }
	failStore := func(call int) bool { return call >= 2 && call <= 4 }
	st.failStore = failStore
	var storedRecs int64 // records of successful store calls so far
	st.onStore = func(call int, bs []*stagedBatch) {
		// Commits follow a successful store on the same goroutine: before
		// any store call, exactly what was stored is committed.
		if got := committedTotal(c, testTopic); got != storedRecs {
			t.Errorf("store call %d: %d offsets committed, %d records stored", call, got, storedRecs)
		}
		if !failStore(call) {
			for _, b := range bs {
				storedRecs += int64(len(b.keys))
			}
		}
	}
	r := startStaged(t, cfg, st)
	eventually(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(c, testTopic) == n })
	stored, calls := st.snapshot()
	checkUnion(t, keys("sensor-r", 0, n), stored)
	for k, v := range stored {
		if v != 1 {
			t.Fatalf("record %+v stored %d times", k, v)
		}
	}
	checkStoreCalls(t, calls, failStore)
	st.mu.Lock()
	pc, prepared := st.prepareCalls, st.prepared
	st.mu.Unlock()
	if pc != prepared+2 {
		t.Fatalf("%d prepare calls for %d batches, want 2 retries", pc, prepared)
	}
	if s := r.s.Stats(); s.HandlerRetries != 5 || s.Delivered != n || s.Committed != n {
		t.Fatalf("stats %+v", s)
	}
}

// A subscriber stopped while store runs commits nothing more; the next
// member of the group gets the batches being stored, waiting and being
// prepared again, and none of those committed before.
func TestSubscriberStagedKilled(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 100
	const n = 2000
	publish(t, c.ListenAddrs(), "sensor-k", 0, n)

	st := newStager()
	st.blockStore = 3
	r := startStaged(t, cfg, st)
	select {
	case <-st.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the third store call never came")
	}
	time.Sleep(200 * time.Millisecond) // batches behind it are prepared and wait
	committed := committedTotal(c, testTopic)
	r.stop(t)
	stored1, _ := st.snapshot()
	if committed != int64(len(stored1)) || committedTotal(c, testTopic) != committed {
		t.Fatalf("committed %d then %d, stored %d", committed, committedTotal(c, testTopic), len(stored1))
	}

	col := newCollector()
	startSubscriber(t, cfg, col.handle)
	eventually(t, 30*time.Second, "the rest delivered", func() bool { return len(stored1)+col.count() >= n })
	got := col.snapshot()
	checkUnion(t, keys("sensor-k", 0, n), stored1, got)
	for k := range stored1 {
		if got[k] != 0 {
			t.Fatalf("committed record %+v redelivered", k)
		}
	}
}

// batch_bytes ends a batch before batch_records: the message bytes of a
// batch stay within it (plus the message that crossed it).
func TestSubscriberBatchBytes(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 100_000
	cfg.BatchBytes = 64 << 10
	const n = 2000
	publish(t, c.ListenAddrs(), "sensor-b", 0, n)

	var mu sync.Mutex
	var sizes []int
	largest := 0
	h := func(_ context.Context, recs []codec.Record) error {
		size := 0
		for i := range recs {
			v, err := codec.AppendExchange(nil, recs[i].Meta, recs[i].Exchange)
			if err != nil {
				return err
			}
			size += len(v)
		}
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(recs))
		largest = max(largest, size)
		return nil
	}
	r := startSubscriber(t, cfg, h)
	eventually(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(c, testTopic) == n })
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) < 2 || largest > cfg.BatchBytes+4<<10 {
		t.Fatalf("batches of %v records, the largest %d bytes (batch_bytes %d)", sizes, largest, cfg.BatchBytes)
	}
	if st := r.s.Stats(); st.Delivered != n {
		t.Fatalf("stats %+v", st)
	}
}
