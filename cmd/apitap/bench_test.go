package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/testutil"
)

// BenchmarkPipeline is `make bench-e2e`: a generated capture (the reference
// traffic mix, 64 hosts) goes through `apitap sensor` into a Kafka-protocol
// broker (kfake, in process, over TCP), then one `apitap analyzer` drains
// the topic into the real ClickHouse. It reports each stage's throughput
// and the whole: sensor_rec/s (capture → Kafka), analyzer_rec/s (Kafka →
// ClickHouse, until count() reaches the capture's exchanges) and
// e2e_rec/s (both stages, back to back). Everything shares this machine's
// cores, broker included. APITAP_BENCH_EXCHANGES and APITAP_BENCH_BATCH
// (the subscriber's batch_records) vary the run.
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
	for i := 0; i < b.N; i++ {
		topic := fmt.Sprintf("bench.%d", i)
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, topic), kfake.SeedTopics(1, topic+".dlq"))
		if err != nil {
			b.Fatal(err)
		}
		brokers := strings.Join(c.ListenAddrs(), ",")
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"migrate", "--clickhouse", dsn, "--log-level", "error"}, &out, &errb); err != nil {
			b.Fatal(err, errb.String())
		}
		conn := openCH(b, dsn)
		if err := conn.Exec(context.Background(), "TRUNCATE TABLE exchanges"); err != nil {
			b.Fatal(err)
		}

		t0 := time.Now()
		if err := run(context.Background(), []string{"sensor", "--pcap", pcap, "--kafka", brokers, "--topic", topic,
			"--sensor-id", "bench", "--log-level", "error"}, &out, &errb); err != nil {
			b.Fatalf("sensor: %v\n%s", err, errb.String())
		}
		sensorDur := time.Since(t0)

		cfg := defaultAnalyzerConfig()
		cfg.Kafka.Brokers = c.ListenAddrs()
		cfg.Kafka.Topic = topic
		cfg.Kafka.Group = "bench-" + topic
		if s := os.Getenv("APITAP_BENCH_BATCH"); s != "" {
			fmt.Sscan(s, &cfg.Kafka.BatchRecords)
		}
		if s := os.Getenv("APITAP_BENCH_CH_COMPRESSION"); s != "" {
			cfg.ClickHouse.Compression = s
		}
		cfg.ClickHouse.DSN = dsn
		cfg.StatsInterval = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		t1 := time.Now()
		go func() { done <- analyze(ctx, cfg, zap.NewNop(), nil) }()
		for count(b, conn, "SELECT count() FROM exchanges") < uint64(gen.Exchanges) {
			select {
			case err := <-done:
				b.Fatalf("analyzer stopped: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		analyzerDur := time.Since(t1)
		cancel()
		<-done
		c.Close()
		b.ReportMetric(float64(gen.Exchanges)/sensorDur.Seconds(), "sensor_rec/s")
		b.ReportMetric(float64(gen.Exchanges)/analyzerDur.Seconds(), "analyzer_rec/s")
		b.ReportMetric(float64(gen.Exchanges)/(sensorDur+analyzerDur).Seconds(), "e2e_rec/s")
	}
}
