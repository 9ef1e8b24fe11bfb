package kafka

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apitap/apitap/flow"
)

// benchBroker starts a kfake broker in a child process (this test binary,
// see TestMain) that acknowledges produce requests without storing them,
// so the broker's CPU is neither charged to nor competing for the
// publisher's core (run with -cpu 1).
func benchBroker(b *testing.B) []string { return childBroker(b, "^$", brokerEnv+"=8") }

// childBroker runs this test binary again as a broker process (selected by
// the env assignment, see TestMain), pinned to one core, and returns the
// addresses it prints; the broker exits when its stdin closes.
func childBroker(b *testing.B, run, env string) []string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.bench=^$")
	cmd.Env = append(os.Environ(), env, "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(line), ",")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchExchanges are 4096 exchanges of ~1 KB of JSON over 64 hosts.
func benchExchanges() []*flow.Exchange {
	exs := make([]*flow.Exchange, 4096)
	for i := range exs {
		exs[i] = testExchange(i, 64, 700)
	}
	return exs
}

// BenchmarkPublish measures encode + publish of ~1 KB records into the
// Kafka client and out to a broker, Close (flush) included, in Block mode
// so every record is delivered. rec/s is wall-clock throughput;
// rec/cpu-s divides by the process's CPU time (with -cpu 1, one core).
func BenchmarkPublish(b *testing.B) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) { benchPublish(b, comp, nil) })
	}
}

// BenchmarkPublishPreencoded is the same with an encoder that copies a
// pre-encoded record: the cost of the publisher and the Kafka client alone.
func BenchmarkPublishPreencoded(b *testing.B) {
	pre := map[*flow.Exchange][]byte{}
	for _, e := range benchExchanges() {
		pre[e] = flow.AppendJSON(nil, e)
	}
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) { benchPublish(b, comp, pre) })
	}
}

func benchPublish(b *testing.B, comp string, pre map[*flow.Exchange][]byte) {
	{
		{
			addrs := benchBroker(b)
			exs := benchExchanges()
			if pre != nil {
				exs = exs[:0]
				for e := range pre {
					exs = append(exs, e)
				}
			}
			var size int
			for _, e := range exs[:256] {
				size += len(flow.AppendJSON(nil, e))
			}
			b.SetBytes(int64(size / 256))

			cfg := DefaultConfig()
			cfg.Brokers = addrs
			cfg.Topic = testTopic
			cfg.Compression = comp
			set := jsonSettings()
			set.Block = true
			if pre != nil {
				set.Encode = func(dst []byte, e *flow.Exchange) ([]byte, error) { return append(dst, pre[e]...), nil }
			}
			p, err := NewPublisher(cfg, set)
			if err != nil {
				b.Fatal(err)
			}
			// Warm up: connections, metadata.
			if err := p.Consume(context.Background(), flow.Batch{Exchanges: exs[:256]}); err != nil {
				b.Fatal(err)
			}
			for p.Stats().Written < 256 {
				time.Sleep(time.Millisecond)
			}
			base := p.Stats().Written

			b.ReportAllocs()
			b.ResetTimer()
			cpu0, t0 := cpuTime(), time.Now()
			const batch = 256
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				off := i % len(exs)
				if off+n > len(exs) {
					off = 0
				}
				if err := p.Consume(context.Background(), flow.Batch{Exchanges: exs[off : off+n]}); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime()-cpu0
			b.StopTimer()
			if st := p.Stats(); st.Written-base != uint64(b.N) {
				b.Fatalf("written %d of %d: %+v", st.Written-base, b.N, st)
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "rec/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
		}
	}
}

// BenchmarkEncodeJSON is the test encoder alone, for comparison.
func BenchmarkEncodeJSON(b *testing.B) {
	exs := benchExchanges()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = flow.AppendJSON(buf[:0], exs[i%len(exs)])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkFranzGoProduce is a yardstick, not shipped code: the same
// records (JSON-encoded into a per-batch arena, keyed by host) produced
// with franz-go's kgo client to the same broker, to show how much of
// BenchmarkPublish is the kafka-go client.
func BenchmarkFranzGoProduce(b *testing.B) {
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			addrs := benchBroker(b)
			exs := benchExchanges()
			cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic),
				kgo.ProducerBatchCompression(codecs[comp]), kgo.ProducerLinger(50*time.Millisecond),
				kgo.MaxBufferedRecords(DefaultQueueRecords), kgo.ProducerBatchMaxBytes(DefaultBatchBytes))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			var failed atomic.Int64
			done := func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
			}
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("warm-up")}).FirstErr(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, t0 := cpuTime(), time.Now()
			const batch = 256
			ctx := context.Background()
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				off := i % len(exs)
				if off+n > len(exs) {
					off = 0
				}
				arena := make([]byte, 0, 512<<10)
				for _, e := range exs[off : off+n] {
					start := len(arena)
					arena = append(arena, e.Host...)
					k := len(arena)
					arena = flow.AppendJSON(arena, e)
					cl.Produce(ctx, &kgo.Record{Key: arena[start:k:k], Value: arena[k:]}, done)
				}
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime()-cpu0
			b.StopTimer()
			if failed.Load() != 0 {
				b.Fatalf("%d records failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "rec/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
		})
	}
}
