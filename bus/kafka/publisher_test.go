package kafka

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/apitap/apitap/flow"
)

func closeOK(t *testing.T, p *Publisher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// brokerVersions are the broker API-version caps the tests run against:
// Kafka 3.0, 3.9 and 4.0 (which removed old protocol versions), and kfake's
// newest.
func brokerVersions() []struct {
	name string
	v    *kversion.Versions
} {
	return []struct {
		name string
		v    *kversion.Versions
	}{
		{"kafka-3.0", kversion.V3_0_0()},
		{"kafka-3.9", kversion.V3_9_0()},
		{"kafka-4.0", kversion.V4_0_0()},
		{"kfake-latest", nil},
	}
}

// (a) Every record arrives exactly once, keyed by host, each host in one
// partition and in order, against brokers advertising the API versions of
// Kafka 3.0, 3.9, 4.0 and kfake's newest.
func TestPublishRoundTrip(t *testing.T) {
	for _, tc := range brokerVersions() {
		t.Run(tc.name, func(t *testing.T) {
			var opts []kfake.Opt
			if tc.v != nil {
				opts = append(opts, kfake.MaxVersions(tc.v))
			}
			c := startCluster(t, opts...)
			p := newTestPublisher(t, testConfig(c.ListenAddrs()), jsonSettings())
			const n, batch = 3000, 250
			for i := 0; i < n; i += batch {
				consumeFast(t, p, testBatch(i, batch, 13, 300))
			}
			closeOK(t, p)
			st := p.Stats()
			if st.Enqueued != n || st.Written != n || st.DroppedQueueFull+st.WriteFailed+st.Undelivered != 0 || st.QueueRecords != 0 || st.QueueBytes != 0 {
				t.Fatalf("stats %+v", st)
			}
			recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= n })
			if len(recs) != n {
				t.Fatalf("%d records, want %d", len(recs), n)
			}
			checkExchanges(t, recs, seqs(0, n))
			parts := map[int32]bool{}
			for _, r := range recs {
				parts[r.partition] = true
				if r.codec != "apitap.json.v1" || r.sensor != "sensor-test" || r.compress != 4 {
					t.Fatalf("record headers/codec: %+v", r)
				}
			}
			if len(parts) < 4 {
				t.Fatalf("13 hosts landed in only %d of 8 partitions", len(parts))
			}
		})
	}
}

// (b) Every codec round-trips, and the batches carry it.
func TestCompression(t *testing.T) {
	c := startCluster(t)
	codes := map[string]uint8{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(name, func(t *testing.T) {
			if err := c.DeleteTopic(testTopic); err != nil {
				t.Fatal(err)
			}
			if err := c.CreateTopic(testTopic, 4, nil); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(c.ListenAddrs())
			cfg.Compression = name
			p := newTestPublisher(t, cfg, jsonSettings())
			const n = 400
			consumeFast(t, p, testBatch(0, n, 5, 700))
			closeOK(t, p)
			recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= n })
			checkExchanges(t, recs, seqs(0, n))
			for _, r := range recs {
				if r.compress != codes[name] {
					t.Fatalf("compression %d, want %d", r.compress, codes[name])
				}
			}
			if ws := p.WriterStats(); ws.Messages != n {
				t.Fatalf("writer stats: %d messages", ws.Messages)
			}
		})
	}
}

// (c1) Kafka unreachable at start: Consume never waits, the queue holds
// exactly QueueRecords, the rest is dropped and counted; once a broker
// comes up the held records are written and a loss record with the exact
// count and capture-time window arrives before Close.
func TestBrokerDownAtStart(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := testConfig([]string{addr})
	cfg.QueueRecords = 500
	p := newTestPublisher(t, cfg, jsonSettings())

	const n, batch = 2000, 100
	for i := 0; i < n; i += batch {
		consumeFast(t, p, testBatch(i, batch, 7, 300))
	}
	st := p.Stats()
	if st.Enqueued != 500 || st.DroppedQueueFull != 1500 || st.QueueRecords != 500 || st.Written != 0 {
		t.Fatalf("while down: %+v", st)
	}
	eventually(t, 5*time.Second, "a failed hand-over", func() bool { return p.Stats().WriteErrors > 0 })

	c := startCluster(t, kfake.NumBrokers(1), kfake.Ports(port))
	eventually(t, 15*time.Second, "held records written", func() bool { return p.Stats().Written == 500 })

	r := newReader(t, c.ListenAddrs())
	recs := r.until(10*time.Second, func(rs []record) bool { return countKind(rs, "loss") > 0 && countKind(rs, "exchange") == 500 })
	var loss *lossJSON
	for _, rec := range recs {
		if rec.loss != nil {
			loss = rec.loss
			if rec.key != "sensor-test" {
				t.Fatalf("loss record keyed %q", rec.key)
			}
		}
	}
	// Records 500..1999 were dropped: the window is their capture span.
	want := lossJSON{Type: "loss", Stage: "queue", Reason: "queue_full", Unit: "exchanges", Count: 1500,
		First: testBase.Add(500 * time.Millisecond), Last: testBase.Add(2000 * time.Millisecond)}
	if *loss != want {
		t.Fatalf("loss record\n got %+v\nwant %+v", *loss, want)
	}
	closeOK(t, p)
	checkExchanges(t, recs, seqs(0, 500))
	if st := p.Stats(); st.LossWritten != 1 {
		t.Fatalf("stats after close: %+v", st)
	}
}

// (c2) Kafka stopped mid-stream and restarted on the same ports: Consume
// keeps returning at once, the records in between are dropped or fail and
// are counted, and the loss records published after the restart account
// for every one of them.
func TestBrokerRestart(t *testing.T) {
	ports := []int{freePort(t), freePort(t), freePort(t)}
	c1, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.Ports(ports...), kfake.SeedTopics(8, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	addrs := c1.ListenAddrs()
	cfg := testConfig(addrs)
	cfg.QueueRecords = 2000
	cfg.MaxAttempts = 2
	p := newTestPublisher(t, cfg, jsonSettings())

	// Phase 1: healthy.
	const batch = 100
	for i := 0; i < 1000; i += batch {
		consumeFast(t, p, testBatch(i, batch, 11, 300))
	}
	eventually(t, 10*time.Second, "phase 1 written", func() bool { return p.Stats().Written == 1000 })
	recs1 := newReader(t, addrs).until(10*time.Second, func(r []record) bool { return len(r) >= 1000 })
	checkExchanges(t, recs1, seqs(0, 1000))

	// Phase 2: the cluster is gone.
	c1.Close()
	for i := 1000; i < 6000; i += batch {
		consumeFast(t, p, testBatch(i, batch, 11, 300))
	}
	eventually(t, 15*time.Second, "phase 2 settled", func() bool { return p.Stats().QueueRecords == 0 })
	st := p.Stats()
	if st.Written != 1000 || st.DroppedQueueFull+st.WriteFailed != 5000 {
		t.Fatalf("after outage: %+v", st)
	}

	// Phase 3: a new cluster on the same ports.
	c2 := startCluster(t, kfake.Ports(ports...))
	r := newReader(t, addrs)
	next := 6000
	deadline := time.Now().Add(15 * time.Second)
	for countKind(r.recs, "loss") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no loss record after restart; stats %+v", p.Stats())
		}
		consumeFast(t, p, testBatch(next, batch, 11, 300))
		next += batch
		r.poll() // also paces the producer: up to 200 ms per round
	}
	closeOK(t, p)
	_ = c2
	st = p.Stats()
	total := uint64(next)
	if st.Written+st.DroppedQueueFull+st.WriteFailed != total || st.Undelivered != 0 || st.QueueRecords != 0 {
		t.Fatalf("accounting: %+v, total %d", st, total)
	}
	recs := r.until(10*time.Second, func(rs []record) bool {
		return uint64(countKind(rs, "exchange")) == st.Written-1000 && lossSum(rs) == st.DroppedQueueFull+st.WriteFailed
	})
	lt := lossTotals(recs)
	if lt["queue_full"] != st.DroppedQueueFull || lt["write_failed"] != st.WriteFailed {
		t.Fatalf("loss records %v, stats %+v", lt, st)
	}
	for _, rec := range recs {
		if l := rec.loss; l != nil {
			if l.First.Before(testBase.Add(1000*time.Millisecond)) || l.Last.After(testBase.Add(time.Duration(next+1)*time.Millisecond)) || l.First.After(l.Last) {
				t.Fatalf("loss window %v..%v outside the lost records", l.First, l.Last)
			}
		}
	}
	// No duplicates and per-host order among what the new cluster holds.
	got := map[int]bool{}
	for _, rec := range recs {
		if rec.kind == "exchange" {
			got[rec.seq] = true
		}
	}
	checkExchanges(t, recs, got)
	t.Logf("outage: %d queue_full, %d write_failed; %d written after restart", st.DroppedQueueFull, st.WriteFailed, st.Written-1000)
}

func lossSum(recs []record) uint64 {
	var n uint64
	for _, v := range lossTotals(recs) {
		n += v
	}
	return n
}

// (d) The queue is bounded by records and by bytes, counting partial
// batches exactly; oversized records are dropped and counted.
func TestQueueBounds(t *testing.T) {
	down := []string{fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	t.Run("records", func(t *testing.T) {
		cfg := testConfig(down)
		cfg.QueueRecords = 50
		p := newTestPublisher(t, cfg, jsonSettings())
		consumeFast(t, p, testBatch(0, 30, 3, 100))
		consumeFast(t, p, testBatch(30, 30, 3, 100))
		consumeFast(t, p, testBatch(60, 30, 3, 100))
		if st := p.Stats(); st.Enqueued != 50 || st.DroppedQueueFull != 40 || st.QueueRecords != 50 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		cfg := testConfig(down)
		cfg.BatchBytes = 16 << 10
		cfg.QueueBytes = 20 << 10
		p := newTestPublisher(t, cfg, jsonSettings())
		exs := testBatch(0, 40, 3, 700)
		var sum int64
		want := 0
		for _, e := range exs {
			sz := int64(len(e.Host) + len(flow.AppendJSON(nil, e)))
			if sum+sz > cfg.QueueBytes {
				break
			}
			sum += sz
			want++
		}
		consumeFast(t, p, exs)
		st := p.Stats()
		if st.Enqueued != uint64(want) || st.QueueBytes != sum || st.DroppedQueueFull != uint64(40-want) {
			t.Fatalf("%+v, want %d records / %d bytes", st, want, sum)
		}
		big := testBatch(100, 1, 1, 17<<10)
		consumeFast(t, p, big)
		if st := p.Stats(); st.DroppedTooLarge != 1 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("block-bounded-by-ctx", func(t *testing.T) {
		cfg := testConfig(down)
		cfg.QueueRecords = 10
		set := jsonSettings()
		set.Block = true
		p := newTestPublisher(t, cfg, set)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := p.Consume(ctx, flow.Batch{Exchanges: testBatch(0, 25, 3, 100)})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Consume: %v", err)
		}
		if st := p.Stats(); st.Enqueued != 10 || st.DroppedQueueFull != 15 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("block-delivers-all", func(t *testing.T) {
		c := startCluster(t)
		cfg := testConfig(c.ListenAddrs())
		cfg.QueueRecords = 64
		cfg.BatchTimeout = 5 * time.Millisecond
		set := jsonSettings()
		set.Block = true
		p := newTestPublisher(t, cfg, set)
		for i := 0; i < 2000; i += 250 {
			if err := p.Consume(context.Background(), flow.Batch{Exchanges: testBatch(i, 250, 9, 100)}); err != nil {
				t.Fatal(err)
			}
		}
		closeOK(t, p)
		if st := p.Stats(); st.Written != 2000 || st.DroppedQueueFull != 0 {
			t.Fatalf("%+v", st)
		}
		recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= 2000 })
		checkExchanges(t, recs, seqs(0, 2000))
	})
}

// (e) Close sends what is still batched (the batch timeout is far away),
// and reports what it cannot deliver by its deadline.
func TestCloseFlushes(t *testing.T) {
	t.Run("flush", func(t *testing.T) {
		c := startCluster(t)
		cfg := testConfig(c.ListenAddrs())
		cfg.BatchTimeout = time.Minute
		cfg.BatchSize = 1_000_000
		cfg.BatchBytes = 64 << 20
		p := newTestPublisher(t, cfg, jsonSettings())
		const n = 3000
		for i := 0; i < n; i += 300 {
			consumeFast(t, p, testBatch(i, 300, 17, 300))
		}
		time.Sleep(50 * time.Millisecond) // let the sender hand everything over; nothing may be sent yet
		if st := p.Stats(); st.Written != 0 {
			t.Fatalf("written before Close: %+v", st)
		}
		start := time.Now()
		closeOK(t, p)
		if d := time.Since(start); d > 20*time.Second { // far below the batch timeout, even under -race
			t.Fatalf("Close took %v", d)
		}
		if st := p.Stats(); st.Written != n {
			t.Fatalf("%+v", st)
		}
		recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= n })
		checkExchanges(t, recs, seqs(0, n))
		if err := p.Consume(context.Background(), flow.Batch{Exchanges: testBatch(0, 1, 1, 10)}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Consume after Close: %v", err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		cfg := testConfig([]string{fmt.Sprintf("127.0.0.1:%d", freePort(t))})
		p := newTestPublisher(t, cfg, jsonSettings())
		consumeFast(t, p, testBatch(0, 100, 3, 100))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := p.Close(ctx)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Close took %v", d)
		}
		if st := p.Stats(); st.Undelivered != 100 {
			t.Fatalf("%+v", st)
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Fatal("sender still running 5s after an aborted Close")
		}
	})
}

// Upstream loss records (from the sensor) are published, keyed by sensor.
func TestForwardsSensorLoss(t *testing.T) {
	c := startCluster(t)
	p := newTestPublisher(t, testConfig(c.ListenAddrs()), jsonSettings())
	l := flow.Loss{Stage: flow.StageCapture, Reason: "ring_drop", Unit: "packets", Count: 42,
		First: testBase, Last: testBase.Add(10 * time.Second)}
	if err := p.Consume(context.Background(), flow.Batch{Losses: []flow.Loss{l}}); err != nil {
		t.Fatal(err)
	}
	recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= 1 })
	want := lossJSON{"loss", "capture", "ring_drop", "packets", 42, l.First, l.Last}
	if recs[0].loss == nil || *recs[0].loss != want || recs[0].key != "sensor-test" {
		t.Fatalf("got %+v", recs[0])
	}
	closeOK(t, p)
}

// Encoder failures are dropped, counted and reported.
func TestEncodeError(t *testing.T) {
	c := startCluster(t)
	set := jsonSettings()
	set.Encode = func(dst []byte, e *flow.Exchange) ([]byte, error) {
		if e.Path == "/items/3" {
			return append(dst, "partial"...), errors.New("boom")
		}
		return flow.AppendJSON(dst, e), nil
	}
	p := newTestPublisher(t, testConfig(c.ListenAddrs()), set)
	consumeFast(t, p, testBatch(0, 10, 2, 50))
	closeOK(t, p)
	recs := newReader(t, c.ListenAddrs()).until(10*time.Second, func(r []record) bool { return len(r) >= 10 })
	want := seqs(0, 10)
	delete(want, 3)
	checkExchanges(t, recs, want)
	if lt := lossTotals(recs); lt["encode_error"] != 1 {
		t.Fatalf("loss %v", lt)
	}
}

func TestNewPublisherRejects(t *testing.T) {
	if _, err := NewPublisher(DefaultConfig(), jsonSettings()); err == nil {
		t.Fatal("no brokers accepted")
	}
	cfg := DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:9092"}
	if _, err := NewPublisher(cfg, Settings{}); err == nil {
		t.Fatal("missing encoders accepted")
	}
}

// Close leaves no goroutine behind (sender, client, connection pools).
func TestCloseStopsGoroutines(t *testing.T) {
	c := startCluster(t)
	p, err := NewPublisher(testConfig(c.ListenAddrs()), jsonSettings())
	if err != nil {
		t.Fatal(err)
	}
	consumeFast(t, p, testBatch(0, 500, 9, 100))
	closeOK(t, p)
	ours := func() string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "segmentio/kafka-go") || strings.Contains(g, "bus/kafka.(*Publisher)") {
				left = append(left, g)
			}
		}
		return strings.Join(left, "\n\n")
	}
	deadline := time.Now().Add(5 * time.Second)
	for g := ours(); g != ""; g = ours() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", g)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKey(t *testing.T) {
	e := testExchange(1, 1, 0)
	if k := string(appendKey(nil, e)); k != "svc-0.example" {
		t.Fatalf("key %q", k)
	}
	e.Host = ""
	if k := string(appendKey(nil, e)); k != "10.0.1.2:8080" {
		t.Fatalf("key without host %q", k)
	}
}
