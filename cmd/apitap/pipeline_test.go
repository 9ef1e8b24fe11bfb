package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/testutil"
)

// The distributed pipeline end to end, over real TCP: `apitap sensor`
// publishes a capture (16 hosts, so 8 partitions all carry traffic) to a
// 3-broker Kafka-protocol cluster (kfake); two analyzers in one consumer
// group share the partitions and store into the real ClickHouse. One
// analyzer is killed in the middle of its work, the whole Kafka cluster is
// restarted mid-stream, and a third analyzer joins. At the end every
// exchange of the capture is in ClickHouse exactly once as the dashboard
// queries count (FINAL), nothing else is, and no offset was committed for
// a record that was not stored.
func TestPipelineEndToEnd(t *testing.T) {
	dsn := testutil.ClickHouse(t)
	const topic, group = "apitap.exchanges", "e2e-analyzers"

	pcap := filepath.Join(t.TempDir(), "e2e.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := pcapgen.Write(f, pcapgen.Options{Exchanges: 20000, Conns: 40, Hosts: 16, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	ports := []int{freePort(t), freePort(t), freePort(t)}
	opts := []kfake.Opt{kfake.NumBrokers(3), kfake.Ports(ports...), kfake.DataDir(t.TempDir())}
	c1, err := kfake.NewCluster(append(opts, kfake.SeedTopics(8, topic), kfake.SeedTopics(1, topic+".dlq"))...)
	if err != nil {
		t.Fatal(err)
	}
	brokers := c1.ListenAddrs()

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"sensor", "--pcap", pcap, "--kafka", strings.Join(brokers, ","),
		"--topic", topic, "--sensor-id", "e2e-sensor", "--log-level", "error"}, &out, &errb); err != nil {
		t.Fatalf("sensor: %v\n%s", err, errb.String())
	}

	cfg := defaultAnalyzerConfig()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topic = topic
	cfg.Kafka.Group = group
	cfg.Kafka.BatchRecords = 400 // many batches, so the kill lands inside one
	cfg.Kafka.BatchWait = 50 * time.Millisecond
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.HeartbeatInterval = 500 * time.Millisecond
	cfg.ClickHouse.DSN = dsn
	cfg.StatsInterval = time.Hour
	// kafka-go's group events at debug level, printed if the test fails.
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	defer func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("%s %s %s %v", e.Time.Format("15:04:05.000"), e.LoggerName, e.Message, e.ContextMap())
			}
		}
	}()

	// The schema first, with merges stopped, so that duplicate rows stay
	// visible without FINAL and the test can tell a replay happened.
	if err := run(context.Background(), []string{"migrate", "--clickhouse", dsn, "--log-level", "error"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	conn := openCH(t, dsn)
	if err := conn.Exec(context.Background(), "SYSTEM STOP MERGES exchanges"); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	start := func(wrap func(analyzer.Sink) analyzer.Sink) context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := analyze(ctx, cfg, log, wrap); err != nil {
				t.Errorf("analyzer: %v", err)
			}
		}()
		return cancel
	}
	// Analyzer A dies at the worst moment: right after ClickHouse took its
	// 10th batch, before the offsets are committed. Its partitions' records
	// since the last commit are redelivered to B and stored a second time.
	// B joins once A has stored its first batch: a member joining while
	// the group forms was seen (1 run in ~10, kafka-go against kfake) to
	// leave the first member out of the group for the rebalance timeout,
	// so that B took every partition and A never reached its 10th batch.
	var killA context.CancelFunc
	var batches atomic.Int32
	killed, first := make(chan struct{}), make(chan struct{})
	stopA := start(func(s analyzer.Sink) analyzer.Sink {
		return analyzer.SinkFunc(func(ctx context.Context, r *analyzer.Result) error {
			if err := s.Write(ctx, r); err != nil {
				return err
			}
			switch batches.Add(1) {
			case 1:
				close(first)
			case 10:
				killA()
				close(killed)
				return context.Canceled
			}
			return nil
		})
	})
	killA = stopA
	select {
	case <-first:
	case <-time.After(60 * time.Second):
		stopA()
		wg.Wait()
		t.Fatal("analyzer A stored nothing")
	}
	stopB := start(nil)
	defer func() { stopA(); stopB(); wg.Wait() }() // A too: a failure before its kill must not hang here

	raw := func() uint64 { return count(t, conn, "SELECT count() FROM exchanges") }
	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("analyzer A never stored 10 batches")
	}

	waitFor(t, 60*time.Second, "more rows", func() bool { return raw() > 8000 })
	c1.Close() // the whole Kafka cluster goes away mid-stream...
	time.Sleep(1500 * time.Millisecond)
	c2, err := kfake.NewCluster(opts...) // ...and comes back on the same ports with its data
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	stopC := start(nil) // a restarted analyzer joins the group
	defer stopC()

	final := func() uint64 { return count(t, conn, "SELECT count() FROM exchanges FINAL") }
	waitFor(t, 120*time.Second, "every exchange stored", func() bool { return final() >= uint64(gen.Exchanges) })
	time.Sleep(500 * time.Millisecond) // anything still in flight lands now

	if n := final(); n != uint64(gen.Exchanges) {
		t.Fatalf("exchanges FINAL = %d, want %d", n, gen.Exchanges)
	}
	if n := count(t, conn, "SELECT uniqExact(sensor_id, sequence) FROM exchanges"); n != uint64(gen.Exchanges) {
		t.Fatalf("distinct records = %d, want %d", n, gen.Exchanges)
	}
	if n := count(t, conn, "SELECT count() FROM (SELECT DISTINCT host FROM exchanges FINAL)"); n != 16 {
		t.Fatalf("hosts = %d, want 16", n)
	}
	// The dashboards' request counts (docs/dashboards.md) see each exchange once.
	if n := count(t, conn, "SELECT toUInt64(sum(c)) FROM (SELECT host, count() AS c FROM exchanges FINAL GROUP BY host)"); n != uint64(gen.Exchanges) {
		t.Fatalf("per-host sum = %d, want %d", n, gen.Exchanges)
	}
	replayed := raw() - final()
	if replayed == 0 {
		t.Fatal("no record was stored twice: the kill did not exercise a replay")
	}
	// The inventory went through the kill and the takeover: every host's
	// endpoints are there, and their running counts cover every exchange
	// (the redelivered batch may count twice in them, never less: the
	// analyzers that took over read the stored state back).
	// (404-only paths are probes, not endpoints.)
	sum := count(t, conn, "SELECT toUInt64(sum(requests)) FROM endpoints FINAL WHERE state != 'merged'")
	want := count(t, conn, "SELECT count() FROM exchanges FINAL WHERE status != 404")
	// The upper bound is loose on purpose: the running counts are
	// documented as approximate upward (EndpointRow), and under load an
	// extra rebalance was seen to count up to ~8 % of the replayed rows
	// once more (2 of 5 runs on a loaded 2-core machine), a cause not yet
	// found. Nothing may be missing: the lower bound is exact.
	if sum < want || sum > want+2*replayed {
		t.Fatalf("endpoints count %d requests, want %d..%d", sum, want, want+2*replayed)
	}
	if n := count(t, conn, "SELECT uniqExact(host) FROM endpoints FINAL WHERE state = 'shadow'"); n != 16 {
		t.Fatalf("inventory hosts = %d, want 16", n)
	}
	t.Logf("stored %d exchanges; %d rows replayed after the kill and collapsed by FINAL; endpoints count %d requests", final(), replayed, sum)
}

func openCH(t testing.TB, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func count(t testing.TB, conn driver.Conn, q string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n uint64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		if strings.Contains(err.Error(), "doesn't exist") {
			return 0 // the analyzers have not created the schema yet
		}
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// While ClickHouse is unreachable the analyzer stops: it stores nothing,
// commits nothing past what is stored, and does not crash; when ClickHouse
// is back it resumes and every exchange ends up stored exactly once.
func TestAnalyzerClickHouseOutage(t *testing.T) {
	dsn := testutil.ClickHouse(t)
	const topic = "apitap.exchanges"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic), kfake.SeedTopics(1, topic+".dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pcap := filepath.Join(t.TempDir(), "outage.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := pcapgen.Write(f, pcapgen.Options{Exchanges: 8000, Conns: 20, Hosts: 8, Seed: 11})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"sensor", "--pcap", pcap, "--kafka", strings.Join(c.ListenAddrs(), ","),
		"--topic", topic, "--sensor-id", "outage", "--log-level", "error"}, &out, &errb); err != nil {
		t.Fatalf("sensor: %v\n%s", err, errb.String())
	}

	// The analyzer reaches ClickHouse through a proxy the test can cut.
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := testutil.NewProxy(t, opts.Addr[0])
	cfg := defaultAnalyzerConfig()
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Kafka.Topic = topic
	cfg.Kafka.Group = "outage"
	cfg.Kafka.BatchRecords = 200
	cfg.Kafka.BatchWait = 20 * time.Millisecond
	cfg.ClickHouse.DSN = "clickhouse://" + px.Addr() + "/" + opts.Auth.Database
	cfg.ClickHouse.RetryMin = 50 * time.Millisecond
	cfg.ClickHouse.RetryMax = 200 * time.Millisecond
	cfg.ClickHouse.WriteTimeout = 2 * time.Second
	cfg.StatsInterval = time.Hour
	conn := openCH(t, dsn)
	raw := func() uint64 { return count(t, conn, "SELECT count() FROM exchanges") }

	// Slow the analyzer to a crawl so the cut lands mid-stream: every batch
	// waits a little before it is written.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- analyze(ctx, cfg, zap.NewNop(), func(s analyzer.Sink) analyzer.Sink {
			return analyzer.SinkFunc(func(ctx context.Context, r *analyzer.Result) error {
				time.Sleep(20 * time.Millisecond)
				return s.Write(ctx, r)
			})
		})
	}()
	waitFor(t, 60*time.Second, "first rows", func() bool { return raw() > 1000 })
	px.Cut()
	time.Sleep(300 * time.Millisecond) // the write in flight fails over
	during := raw()
	committed := committedOffsets(t, c.ListenAddrs(), "outage", topic)
	time.Sleep(2 * time.Second)
	if after := raw(); after != during {
		t.Fatalf("rows stored while ClickHouse was cut: %d -> %d", during, after)
	}
	if now := committedOffsets(t, c.ListenAddrs(), "outage", topic); now != committed {
		t.Fatalf("offsets committed during the outage: %d -> %d", committed, now)
	}
	if uint64(committed) > during {
		t.Fatalf("committed %d records but only %d rows are stored", committed, during)
	}
	select {
	case err := <-done:
		t.Fatalf("the analyzer stopped during the outage: %v", err)
	default:
	}
	px.Restore()
	final := func() uint64 { return count(t, conn, "SELECT count() FROM exchanges FINAL") }
	waitFor(t, 60*time.Second, "every exchange stored", func() bool { return final() >= uint64(gen.Exchanges) })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("analyzer: %v", err)
	}
	if n := final(); n != uint64(gen.Exchanges) {
		t.Fatalf("exchanges FINAL = %d, want %d", n, gen.Exchanges)
	}
	t.Logf("stored %d before the cut, %d committed; all %d after the restore", during, committed, gen.Exchanges)
}

// committedOffsets sums the group's committed offsets over the topic.
func committedOffsets(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	resp, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	var sum int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum
}
