package kafka

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/internal/testutil"
	"github.com/apitap/apitap/schema/codec"
)

// benchBroker starts a kfake broker in a child process (this test binary,
// see TestMain) that acknowledges produce requests without storing them,
// so the broker's CPU is neither charged to nor competing for the
// publisher's core (run with -cpu 1).
func benchBroker(tb testing.TB) []string { return childBroker(tb, "^$", brokerEnv+"=8") }

// childBroker runs this test binary again as a broker process (selected by
// the env assignment, see TestMain), pinned to one core, and returns the
// addresses it prints; the broker exits when its stdin closes.
func childBroker(b testing.TB, run, env string) []string {
	addrs, _ := testutil.Child(b, run, env, "GOMAXPROCS=1")
	return addrs
}

// benchExchanges are 4096 synthetic exchanges of ~1 KB of JSON over 64
// hosts. Their bodies repeat "abc…z", so they compress far better (zstd
// ~40×) than API traffic does: kept for comparison with earlier figures.
func benchExchanges() []*flow.Exchange {
	exs := make([]*flow.Exchange, 4096)
	for i := range exs {
		exs[i] = testExchange(i, 64, 700)
	}
	return exs
}

var mix struct {
	once sync.Once
	exs  []*flow.Exchange
	err  error
}

// mixExchanges are the exchanges the sensor makes of 20,000 requests of
// internal/pcapgen's traffic mix (docs/performance.md: user records, item
// pages of 0.4–1.8 KB, orders, 404s) over 64 hosts: ~950 B protobuf
// records that compress like JSON API traffic (zstd ~14× per batch).
func mixExchanges(b testing.TB) []*flow.Exchange {
	mix.once.Do(func() {
		dir, err := os.MkdirTemp("", "apitap-kafka-bench")
		if err != nil {
			mix.err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "mix.pcap")
		f, err := os.Create(path)
		if err != nil {
			mix.err = err
			return
		}
		_, err = pcapgen.Write(f, pcapgen.Options{Exchanges: 20000, Conns: 100, Hosts: 64})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			mix.err = err
			return
		}
		mix.exs, mix.err = pcaptest.Exchanges(path)
	})
	if mix.err != nil {
		b.Fatal(mix.err)
	}
	return mix.exs
}

// mixBatch is a default-sized batch (1,000 records) of the mix, framed as
// the sender builds it, not yet compressed; every record stamped ts.
func mixBatch(tb testing.TB, ts int64) *prodBatch {
	exs := mixExchanges(tb)
	enc := productionEncoder()
	b := &prodBatch{buf: make([]byte, batchHeader, 2<<20)}
	for i := range DefaultBatchSize {
		e := exs[i%len(exs)]
		v, _ := enc(nil, e)
		b.add(ts, appendKey(nil, e), v, []byte{0})
	}
	return b
}

func benchData(b *testing.B, name string) []*flow.Exchange {
	if name == "mix" {
		return mixExchanges(b)
	}
	return benchExchanges()
}

// productionEncoder is cmd/apitap's exchange encoder: schema/codec with
// the sensor id, version and an atomic per-sensor sequence.
func productionEncoder() func([]byte, *flow.Exchange) ([]byte, error) {
	var seq atomic.Uint64
	return func(dst []byte, e *flow.Exchange) ([]byte, error) {
		return codec.AppendExchange(dst, codec.Meta{SensorID: "sensor-bench", SensorVersion: "bench", Sequence: seq.Add(1)}, e)
	}
}

func jsonEncoder() func([]byte, *flow.Exchange) ([]byte, error) { return jsonSettings().Encode }

// BenchmarkPublish measures encode + publish of records into the producer
// and out to a broker, Close (flush) included, in Block mode so every
// record is delivered. rec/cpu-s divides by the process's CPU time (with
// -cpu 1: one core); rec/s is wall clock (bound by the broker when it is
// slower than the publisher).
//
// "zstd-fastest" and "zstd-better" are the production configuration at
// the other compression levels.
// "production" is what `apitap sensor` runs: the schema/codec protobuf
// encoder stamping a per-sensor sequence (cmd/apitap/kafka.go) and
// DefaultConfig (zstd, acks all, 1,000-record / 1 MiB batches). The data
// set is the second part of the name: "mix" (realistic, the target's
// measure) or "synthetic" (over-compressible, earlier figures).
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		name, comp, data string
		enc              func() func([]byte, *flow.Exchange) ([]byte, error)
	}{
		{"production/mix", DefaultCompression, "mix", productionEncoder},
		{"zstd-fastest/mix", "zstd/fastest", "mix", productionEncoder},
		{"zstd-better/mix", "zstd/better", "mix", productionEncoder},
		{"production/synthetic", DefaultCompression, "synthetic", productionEncoder},
		{"protobuf-lz4/mix", "lz4", "mix", productionEncoder},
		{"protobuf-lz4/synthetic", "lz4", "synthetic", productionEncoder},
		{"protobuf-none/mix", "none", "mix", productionEncoder},
		{"json-zstd/synthetic", "zstd", "synthetic", jsonEncoder},
		{"json-lz4/synthetic", "lz4", "synthetic", jsonEncoder},
		{"json-none/synthetic", "none", "synthetic", jsonEncoder},
	} {
		b.Run(c.name, func(b *testing.B) { benchPublish(b, c.comp, benchData(b, c.data), c.enc()) })
	}
}

// BenchmarkPublishPreencoded is the same with an encoder that copies a
// pre-encoded protobuf record: the cost of the publisher and the producer
// alone, on the mix.
func BenchmarkPublishPreencoded(b *testing.B) {
	exs := mixExchanges(b)
	pre := make(map[*flow.Exchange][]byte, len(exs))
	enc := productionEncoder()
	for _, e := range exs {
		pre[e], _ = enc(nil, e)
	}
	copyEnc := func(dst []byte, e *flow.Exchange) ([]byte, error) { return append(dst, pre[e]...), nil }
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) { benchPublish(b, comp, exs, copyEnc) })
	}
}

func benchPublish(b *testing.B, comp string, exs []*flow.Exchange, enc func([]byte, *flow.Exchange) ([]byte, error)) {
	addrs := benchBroker(b)
	var size int
	for _, e := range exs[:256] {
		v, _ := enc(nil, e)
		size += len(v)
	}
	b.SetBytes(int64(size / 256))

	cfg := DefaultConfig()
	cfg.Brokers = addrs
	cfg.Topic = testTopic
	cfg.Compression, cfg.CompressionLevel, _ = strings.Cut(comp, "/") // "zstd/fastest": a level
	if cfg.CompressionLevel == "" {
		cfg.CompressionLevel = DefaultLevel
	}
	set := jsonSettings()
	set.Codec = "apitap.flow.v1"
	set.Block = true
	set.Encode = enc
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
	p.WriterStats()

	b.ReportAllocs()
	b.ResetTimer()
	cpu0, t0 := testutil.SelfCPU(), time.Now()
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
	wall, cpu := time.Since(t0), testutil.SelfCPU()-cpu0
	b.StopTimer()
	if st := p.Stats(); st.Written-base != uint64(b.N) {
		b.Fatalf("written %d of %d: %+v", st.Written-base, b.N, st)
	}
	ws := p.WriterStats()
	b.ReportMetric(float64(b.N)/wall.Seconds(), "rec/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
	if ws.BatchSize.Count > 0 {
		b.ReportMetric(float64(ws.BatchSize.Avg), "rec/batch")
	}
}

// BenchmarkEncode is each encoder alone, on each data set.
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		enc  func() func([]byte, *flow.Exchange) ([]byte, error)
	}{{"protobuf", productionEncoder}, {"json", jsonEncoder}} {
		for _, data := range []string{"mix", "synthetic"} {
			b.Run(c.name+"/"+data, func(b *testing.B) {
				exs := benchData(b, data)
				enc := c.enc()
				buf := make([]byte, 0, 64<<10)
				b.ReportAllocs()
				var n int
				for i := 0; b.Loop(); i++ {
					buf, _ = enc(buf[:0], exs[i%len(exs)])
					n += len(buf)
				}
				b.SetBytes(int64(n / b.N))
			})
		}
	}
}

// BenchmarkFrame is the producer's batch framing alone: one batch of 1,000
// protobuf records (the default batch_size, ~950 KB of the mix) compressed
// with each codec, its header and CRC written. ns/record and the ratio
// (records bytes / framed bytes) are reported.
func BenchmarkFrame(b *testing.B) {
	for _, data := range []string{"mix", "synthetic"} {
		exs := benchData(b, data)
		enc := productionEncoder()
		src := &prodBatch{buf: make([]byte, batchHeader, 2<<20)}
		for i := 0; i < DefaultBatchSize; i++ {
			e := exs[i%len(exs)]
			v, _ := enc(nil, e)
			src.add(0, appendKey(nil, e), v, []byte{0})
		}
		for _, comp := range []string{"zstd", "lz4", "snappy", "gzip", "none"} {
			b.Run(comp+"/"+data, func(b *testing.B) {
				p := &Publisher{attrs: int16(compressions[comp])}
				switch comp {
				case "none":
				case "zstd":
					p.zstd, _ = newZstd(DefaultBatchBytes, DefaultLevel)
				default:
					p.codec = compressions[comp].Codec()
				}
				bt := &prodBatch{buf: src.buf, n: src.n, firstTs: src.firstTs, maxTs: src.maxTs}
				b.SetBytes(int64(len(bt.buf) - batchHeader))
				b.ReportAllocs()
				for b.Loop() {
					if err := p.frame(bt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bt.n), "ns/record")
				b.ReportMetric(float64(len(bt.buf)-batchHeader)/float64(len(bt.wire)-batchHeader), "ratio")
			})
		}
	}
}

// BenchmarkFranzGoProduce is a yardstick, not shipped code: the same
// records (the mix, protobuf-encoded into a per-batch arena, keyed by
// host) produced with franz-go's kgo client to the same broker, to compare
// with BenchmarkPublish/production/mix and the lz4/none rows.
func BenchmarkFranzGoProduce(b *testing.B) {
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			addrs := benchBroker(b)
			exs := mixExchanges(b)
			enc := productionEncoder()
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
			cpu0, t0 := testutil.SelfCPU(), time.Now()
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
					arena, _ = enc(arena, e)
					cl.Produce(ctx, &kgo.Record{Key: arena[start:k:k], Value: arena[k:]}, done)
				}
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), testutil.SelfCPU()-cpu0
			b.StopTimer()
			if failed.Load() != 0 {
				b.Fatalf("%d records failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "rec/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
		})
	}
}
