package analyzer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/schema/codec"
)

// multiSink is a memSink that stores several Results in one call.
type multiSink struct {
	memSink
	calls [][]int // rows per Result of each WriteAll
}

func (m *multiSink) WriteAll(ctx context.Context, rs []*Result) error {
	if m.fail != nil {
		return m.fail
	}
	var n []int
	for _, r := range rs {
		n = append(n, r.Len())
		if err := m.memSink.Write(ctx, r); err != nil {
			return err
		}
	}
	m.calls = append(m.calls, n)
	return nil
}

// wire encodes a test record and decodes it without a copy, as the Kafka
// subscriber does, into a buffer the test can overwrite afterwards.
func wire(t *testing.T, r codec.Record) (codec.Record, []byte) {
	t.Helper()
	b, err := codec.AppendExchange(nil, r.Meta, r.Exchange)
	if err != nil {
		t.Fatal(err)
	}
	var out codec.Record
	if err := codec.DecodeOwned(&out, b); err != nil {
		t.Fatal(err)
	}
	return out, b
}

// Prepare then Store, batch by batch, writes what Consume writes; a
// MultiSink gets several batches in one call, a plain Sink one by one, in
// order; Prepare may run while a Store blocks.
func TestPrepareStore(t *testing.T) {
	batches := make([][]codec.Record, 3)
	for i := range 9 {
		r := ex(uint64(i), "GET", fmt.Sprintf("/users/%d", i), "page=1", []int{200, 404, 503}[i%3], time.Duration(i)*time.Second)
		batches[i/3] = append(batches[i/3], r)
	}
	now := func() time.Time { return t0 }
	ref := &memSink{}
	a, err := New(DefaultConfig(), Settings{Sinks: []Sink{ref}, Now: now})
	must(t, err)
	for _, b := range batches {
		must(t, a.Consume(context.Background(), b))
	}

	ms, plain := &multiSink{}, &memSink{}
	release := make(chan struct{})
	var gate sync.Once
	blocking := SinkFunc(func(ctx context.Context, r *Result) error {
		gate.Do(func() { <-release }) // the first Store waits until batch 2 is prepared
		return nil
	})
	p, err := New(DefaultConfig(), Settings{Sinks: []Sink{ms, plain, blocking}, Now: now})
	must(t, err)
	ctx := context.Background()
	b0, err := p.Prepare(ctx, batches[0])
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Store(ctx, []*Batch{b0}) }()
	b1, err := p.Prepare(ctx, batches[1])
	must(t, err)
	b2, err := p.Prepare(ctx, batches[2])
	must(t, err)
	close(release)
	must(t, <-done)
	must(t, p.Store(ctx, []*Batch{b1, b2}))

	if len(ms.calls) != 2 || len(ms.calls[1]) != 2 {
		t.Fatalf("MultiSink calls %v, want [[n] [n n]]", ms.calls)
	}
	for name, got := range map[string][]Result{"MultiSink": ms.results, "Sink": plain.results} {
		if !reflect.DeepEqual(got, ref.results) {
			t.Fatalf("%s got other rows than Consume:\n got %+v\nwant %+v", name, got, ref.results)
		}
	}
	if st := p.Stats(); st.Batches != 3 || st.Exchanges != 9 || st.Replays != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A Store that fails is retried with the same batches, which hold the same
// rows: the inventory counted them once.
func TestStoreRetry(t *testing.T) {
	ms := &multiSink{}
	ms.fail = errors.New("clickhouse down")
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{ms}})
	ctx := context.Background()
	b1, err := a.Prepare(ctx, []codec.Record{ex(1, "GET", "/users/1", "", 200, 0)})
	must(t, err)
	b2, err := a.Prepare(ctx, []codec.Record{ex(2, "GET", "/users/2", "", 200, time.Second)})
	must(t, err)
	for range 2 {
		if err := a.Store(ctx, []*Batch{b1, b2}); err == nil {
			t.Fatal("Store succeeded with a failing sink")
		}
	}
	ms.fail = nil
	must(t, a.Store(ctx, []*Batch{b1, b2}))
	if n := len(ms.results); n != 2 {
		t.Fatalf("%d results stored", n)
	}
	if r := ms.results[1].Endpoints[0].Requests; r != 2 {
		t.Fatalf("requests = %d, want 2", r)
	}
	if st := a.Stats(); st.Exchanges != 2 || st.SinkErrors != 2 || st.Replays != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// The rows of a prepared batch do not point into its records: the
// message a record was decoded from (without a copy) can be overwritten,
// or dropped, and the rows still read the same.
func TestRowsDoNotPinRecords(t *testing.T) {
	ms := &multiSink{}
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{ms}})
	ctx := context.Background()
	var recs []codec.Record
	var bufs [][]byte
	for i := range 3 {
		r, b := wire(t, ex(uint64(i), "PATCH", fmt.Sprintf("/users/%d", i), "page=2&sort=asc&x%20y=1", 200, 0))
		recs, bufs = append(recs, r), append(bufs, b)
	}
	b, err := a.Prepare(ctx, recs)
	must(t, err)
	want := fmt.Sprintf("%+v", b.res.Exchanges)
	for _, buf := range bufs {
		for i := range buf {
			buf[i] = 'X'
		}
	}
	must(t, a.Store(ctx, []*Batch{b}))
	if got := fmt.Sprintf("%+v", ms.results[0].Exchanges); got != want {
		t.Fatalf("rows changed with their messages:\n got %s\nwant %s", got, want)
	}
}
