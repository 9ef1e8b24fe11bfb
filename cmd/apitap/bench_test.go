package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/testutil"
)

// BenchmarkPipeline is `make bench-e2e`: a generated capture (the reference
// traffic mix, 64 hosts) goes through `apitap sensor` into a Kafka-protocol
// broker (kfake over TCP), then one `apitap analyzer` drains the topic into
// the real ClickHouse. It reports each stage's throughput and the whole:
// sensor_rec/s (capture → Kafka), analyzer_rec/s (Kafka → ClickHouse, from
// the analyzer's start until count() reaches the capture's exchanges: group
// join, connections and warm-up included), first_rows_s (how long the
// first rows took to appear), sustained_rec/s (runs of 500,000 exchanges
// or more: the rows stored after the first ones appeared, over the time
// since — the rate once running, somewhat optimistic since the batches
// after the first insert were already being analysed; the steady rate lies
// between it and analyzer_rec/s) and e2e_rec/s (both stages, back to
// back), peak_heap_MiB (the Go heap's live and not yet collected objects,
// sampled every 50 ms while the analyzer drains), and where the analyzer
// stage's CPU went, in µs per record:
// analyzer_cpu-µs/rec (this process: fetch, decode, analysis, insert),
// clickhouse_cpu-µs/rec (the server) and broker_cpu-µs/rec, and the
// INSERTs it took (all tables; fewer is cheaper for the server).
//
// The broker runs in a child process (this test binary again, see
// TestBenchBroker), so this process's CPU is the sensor's, then the
// analyzer's; APITAP_BENCH_BROKER=inprocess keeps it in this process, as
// the benchmark did before. Everything shares this machine's cores.
// APITAP_BENCH_EXCHANGES, APITAP_BENCH_BATCH (the subscriber's
// batch_records) and APITAP_BENCH_CH_COMPRESSION vary the run;
// APITAP_BENCH_CPUPROFILE=file writes a CPU profile of the analyzer stage
// only, APITAP_BENCH_MEMPROFILE=file a heap profile at its end.
func BenchmarkPipeline(b *testing.B) {
	dsn := testutil.ClickHouse(b)
	n := 200000
	if s := os.Getenv("APITAP_BENCH_EXCHANGES"); s != "" {
		fmt.Sscan(s, &n)
	}
	pcap := filepath.Join(b.TempDir(), "bench.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := pcapgen.Write(f, pcapgen.Options{Exchanges: n, Conns: 200, Hosts: 64, GzipShare: 0.3, Seed: 3})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	chPid := testutil.ClickHousePid()
	// `apitap sensor` sets its own GC target (gc_percent) and soft memory
	// limit (memory_limit_mib) for the process; the analyzer runs with the
	// runtime's (GOGC, GOMEMLIMIT), as `apitap analyzer` does.
	gcPercent := debug.SetGCPercent(100)
	debug.SetGCPercent(gcPercent)
	memLimit := debug.SetMemoryLimit(-1)
	for i := 0; i < b.N; i++ {
		topic := fmt.Sprintf("bench.%d", i)
		var brokers []string
		brokerCPU := func() time.Duration { return 0 }
		if os.Getenv("APITAP_BENCH_BROKER") == "inprocess" {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, topic), kfake.SeedTopics(1, topic+".dlq"))
			if err != nil {
				b.Fatal(err)
			}
			brokers = c.ListenAddrs()
			b.Cleanup(c.Close)
		} else {
			var pid int
			brokers, pid = benchBroker(b, topic)
			brokerCPU = func() time.Duration { return testutil.ProcCPU(pid) }
		}
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"migrate", "--clickhouse", dsn, "--log-level", "error"}, &out, &errb); err != nil {
			b.Fatal(err, errb.String())
		}
		conn := openCH(b, dsn)
		if err := conn.Exec(context.Background(), "TRUNCATE TABLE exchanges"); err != nil {
			b.Fatal(err)
		}

		t0 := time.Now()
		if err := run(context.Background(), []string{"sensor", "--pcap", pcap, "--kafka", strings.Join(brokers, ","),
			"--topic", topic, "--sensor-id", "bench", "--log-level", "error"}, &out, &errb); err != nil {
			b.Fatalf("sensor: %v\n%s", err, errb.String())
		}
		sensorDur := time.Since(t0)

		cfg := defaultAnalyzerConfig()
		cfg.Kafka.Brokers = brokers
		cfg.Kafka.Topic = topic
		cfg.Kafka.Group = "bench-" + topic
		if s := os.Getenv("APITAP_BENCH_BATCH"); s != "" {
			fmt.Sscan(s, &cfg.Kafka.BatchRecords)
		}
		if s := os.Getenv("APITAP_BENCH_FETCH_WAIT"); s != "" {
			if d, err := time.ParseDuration(s); err == nil {
				cfg.Kafka.MaxWait = d
			}
		}
		if s := os.Getenv("APITAP_BENCH_CH_COMPRESSION"); s != "" {
			cfg.ClickHouse.Compression = s
		}
		cfg.ClickHouse.DSN = dsn
		cfg.StatsInterval = time.Hour
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memLimit)
		runtime.GC()
		if p := os.Getenv("APITAP_BENCH_CPUPROFILE"); p != "" {
			pf, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(pf); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ins1 := count(b, conn, "SELECT value FROM system.events WHERE event = 'InsertQuery'")
		t1, cpu1, ch1, br1 := time.Now(), testutil.SelfCPU(), testutil.ProcCPU(chPid), brokerCPU()
		// kafka-go's debug lines, to count its fetches that timed out
		// while the partition reader waited for the consumer (each is a
		// fetch response thrown away and fetched again).
		core, logs := observer.New(zap.DebugLevel)
		go func() { done <- analyze(ctx, cfg, zap.New(core), nil) }()
		var tFirst time.Time // the first rows are visible
		var nFirst, peakHeap uint64
		heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(heap)
			peakHeap = max(peakHeap, heap[0].Value.Uint64())
			n := count(b, conn, "SELECT count() FROM exchanges")
			if n > 0 && tFirst.IsZero() {
				tFirst, nFirst = time.Now(), n
			}
			if n >= uint64(gen.Exchanges) {
				break
			}
			select {
			case err := <-done:
				b.Fatalf("analyzer stopped: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		analyzerDur := time.Since(t1)
		sustainedDur := time.Since(tFirst)
		cpu, ch, br := testutil.SelfCPU()-cpu1, testutil.ProcCPU(chPid)-ch1, brokerCPU()-br1
		inserts := count(b, conn, "SELECT value FROM system.events WHERE event = 'InsertQuery'") - ins1
		if os.Getenv("APITAP_BENCH_CPUPROFILE") != "" {
			pprof.StopCPUProfile()
		}
		if p := os.Getenv("APITAP_BENCH_MEMPROFILE"); p != "" {
			runtime.GC() // in use = what is kept, not garbage
			if pf, err := os.Create(p); err == nil {
				_ = pprof.Lookup("heap").WriteTo(pf, 0)
				pf.Close()
			}
		}
		cancel()
		<-done
		x := float64(gen.Exchanges)
		b.ReportMetric(x/sensorDur.Seconds(), "sensor_rec/s")
		b.ReportMetric(x/analyzerDur.Seconds(), "analyzer_rec/s")
		b.ReportMetric(tFirst.Sub(t1).Seconds(), "first_rows_s")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak_heap_MiB")
		if n := x - float64(nFirst); n > 0 && gen.Exchanges >= 500_000 {
			b.ReportMetric(n/sustainedDur.Seconds(), "sustained_rec/s")
		}
		b.ReportMetric(x/(sensorDur+analyzerDur).Seconds(), "e2e_rec/s")
		b.ReportMetric(float64(cpu.Microseconds())/x, "analyzer_cpu-µs/rec")
		b.ReportMetric(float64(inserts), "inserts")
		b.ReportMetric(float64(logs.FilterMessageSnippet("no messages received from kafka within the allocated time").Len()), "fetch_timeouts")
		if chPid > 0 {
			b.ReportMetric(float64(ch.Microseconds())/x, "clickhouse_cpu-µs/rec")
		}
		if br > 0 {
			b.ReportMetric(float64(br.Microseconds())/x, "broker_cpu-µs/rec")
		}
	}
}

// benchBrokerEnv makes TestBenchBroker run BenchmarkPipeline's broker: its
// value is the topic to create.
const benchBrokerEnv = "APITAP_BENCH_BROKER_TOPIC"

// TestBenchBroker is BenchmarkPipeline's broker process, not a test: with
// benchBrokerEnv set it runs a one-broker kfake cluster with the topic (8
// partitions) and its dead-letter topic, prints its addresses and exits
// when stdin closes.
func TestBenchBroker(t *testing.T) {
	topic := os.Getenv(benchBrokerEnv)
	if topic == "" {
		t.Skip("the broker process of BenchmarkPipeline")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, topic), kfake.SeedTopics(1, topic+".dlq"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testutil.ChildServe(c.ListenAddrs())
	c.Close()
	os.Exit(0)
}

// benchBroker starts TestBenchBroker in a child process and returns its
// addresses and process id; it stops when the benchmark ends.
func benchBroker(b *testing.B, topic string) ([]string, int) {
	b.Helper()
	return testutil.Child(b, "^TestBenchBroker$", benchBrokerEnv+"="+topic)
}
