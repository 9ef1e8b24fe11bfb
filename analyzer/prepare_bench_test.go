package analyzer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/schema/codec"
)

// captureRecords are the records of a generated capture (the reference mix
// of BenchmarkPipeline: 64 hosts, 200 connections, 30 % gzip item pages) as
// the Kafka subscriber hands them over: encoded by the sensor's codec and
// decoded without a copy.
func captureRecords(b *testing.B, n int) []codec.Record {
	b.Helper()
	path := filepath.Join(b.TempDir(), "prepare.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pcapgen.Write(f, pcapgen.Options{Exchanges: n, Conns: 200, Hosts: 64, GzipShare: 0.3, Seed: 3}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	exs := pcaptest.MustExchanges(b, path)
	recs := make([]codec.Record, len(exs))
	for i, e := range exs {
		v, err := codec.AppendExchange(nil, codec.Meta{SensorID: "bench", SensorVersion: "bench", Sequence: uint64(i)}, e)
		if err != nil {
			b.Fatal(err)
		}
		if err := codec.DecodeOwned(&recs[i], v); err != nil {
			b.Fatal(err)
		}
	}
	return recs
}

// BenchmarkPrepare is the analyzer's share of BenchmarkPipeline without
// Kafka and ClickHouse: Prepare (inventory, sensitive-data scan, anomaly
// detection, rows) of 20,000-record batches of a generated capture, then
// Store to a sink that drops the rows. Run it with -cpu 1 for the cost per
// core: the scan uses every core it is given.
func BenchmarkPrepare(b *testing.B) {
	recs := captureRecords(b, 40_000)
	a, err := New(DefaultConfig(), Settings{Sinks: []Sink{SinkFunc(func(context.Context, *Result) error { return nil })}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const batch = 20_000
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		off := i * batch % len(recs)
		bt, err := a.Prepare(ctx, recs[off:min(off+batch, len(recs))])
		if err != nil {
			b.Fatal(err)
		}
		n += len(bt.res.Exchanges)
		if err := a.Store(ctx, []*Batch{bt}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
