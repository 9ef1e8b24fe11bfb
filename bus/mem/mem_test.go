package mem

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

func exchanges(n int) flow.Batch {
	var b flow.Batch
	for i := range n {
		b.Exchanges = append(b.Exchanges, &flow.Exchange{Status: 200 + i, End: time.Unix(int64(i), 0)})
	}
	return b
}

// collector is a Handler that copies what it receives.
type collector struct {
	mu   sync.Mutex
	recs []codec.Record
	fail int // fail this many calls first
	gate chan struct{}
}

func (c *collector) handle(ctx context.Context, recs []codec.Record) error {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return errors.New("store down")
	}
	c.recs = append(c.recs, recs...)
	return nil
}

func TestBlockingDeliversEverythingInOrder(t *testing.T) {
	b, err := New(Config{QueueRecords: 16, BatchRecords: 5, BatchWait: time.Millisecond}, Settings{SensorID: "s", SensorVersion: "v", Block: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{fail: 2}
	done := make(chan error)
	go func() { done <- b.Run(context.Background(), c.handle) }()
	ctx := context.Background()
	for range 20 {
		if err := b.Consume(ctx, exchanges(10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Consume(ctx, flow.Batch{Losses: []flow.Loss{{Stage: flow.StageCapture, Count: 3}}}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 201 {
		t.Fatalf("delivered %d records, want 201", len(c.recs))
	}
	for i, r := range c.recs {
		if r.Meta.Sequence != uint64(i+1) || r.Meta.SensorID != "s" || r.Meta.SensorVersion != "v" || r.Meta.SchemaVersion != codec.SchemaVersion {
			t.Fatalf("record %d meta %+v", i, r.Meta)
		}
	}
	if c.recs[200].Loss == nil || c.recs[200].Loss.Count != 3 {
		t.Fatalf("last record %+v, want the loss", c.recs[200])
	}
	st := b.Stats()
	if st.Records != 201 || st.Handled != 201 || st.Dropped != 0 || st.Retries != 2 {
		t.Fatalf("stats %+v", st)
	}
	if err := b.Consume(ctx, exchanges(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Consume after Close: %v", err)
	}
}

// Without Block, a stalled analyzer makes the bus drop; the drops reach the
// analyzer as one loss record, and sequence numbers stay dense.
func TestDropModeReportsLoss(t *testing.T) {
	b, _ := New(Config{QueueRecords: 10, BatchRecords: 100, BatchWait: time.Millisecond}, Settings{SensorID: "s"})
	c := &collector{gate: make(chan struct{})}
	done := make(chan error)
	go func() { done <- b.Run(context.Background(), c.handle) }()
	ctx := context.Background()
	for range 5 {
		if err := b.Consume(ctx, exchanges(10)); err != nil { // never blocks
			t.Fatal(err)
		}
	}
	close(c.gate) // the analyzer catches up
	time.Sleep(20 * time.Millisecond)
	b.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.Dropped == 0 || st.Records+st.Dropped != 50 {
		t.Fatalf("stats %+v", st)
	}
	var lost, got uint64
	for i, r := range c.recs {
		if r.Meta.Sequence != uint64(i+1) {
			t.Fatalf("sequence not dense at %d: %d", i, r.Meta.Sequence)
		}
		if r.Loss != nil {
			if r.Loss.Stage != flow.StageQueue || r.Loss.Reason != "bus_full" {
				t.Fatalf("loss %+v", r.Loss)
			}
			lost += r.Loss.Count
		} else {
			got++
		}
	}
	if lost != st.Dropped || got+lost != 50 {
		t.Fatalf("delivered %d, reported lost %d, dropped %d", got, lost, st.Dropped)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	b, _ := New(DefaultConfig(), Settings{Block: true})
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: 1 << 30}
	done := make(chan error)
	go func() { done <- b.Run(ctx, c.handle) }()
	if err := b.Consume(context.Background(), exchanges(1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if b.Stats().Handled != 0 {
		t.Fatal("a failed batch counted as handled")
	}
}

func TestValidate(t *testing.T) {
	if _, err := New(Config{}, Settings{}); err == nil {
		t.Fatal("zero config accepted")
	}
}
