package sensor_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/pcapgen"
	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sink"
)

var (
	benchOnce sync.Once
	benchPath string
	benchRes  pcapgen.Result
	benchDir  string
)

// benchCapture is keep-alive JSON API traffic: ~2 packets per exchange,
// responses of 0.4–2 KB (docs/performance.md), 20k exchanges on 50 connections.
func benchCapture(b *testing.B) (string, pcapgen.Result) {
	benchOnce.Do(func() {
		var err error
		benchDir, err = os.MkdirTemp("", "apitap-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchPath = filepath.Join(benchDir, "http-20k.pcap")
		f, err := os.Create(benchPath)
		if err != nil {
			b.Fatal(err)
		}
		benchRes, err = pcapgen.Write(f, pcapgen.Options{Exchanges: 20000, Conns: 50})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	})
	return benchPath, benchRes
}

func benchSensor(b *testing.B, workers int, consumer func() flow.Consumer) {
	path, res := benchCapture(b)
	data, err := os.ReadFile(path) // page-cache warm, as in the peer runs
	if err != nil {
		b.Fatal(err)
	}
	_ = data
	b.ReportAllocs()
	b.SetBytes(res.Bytes)
	b.ResetTimer()
	var got int
	for i := 0; i < b.N; i++ {
		src, err := capture.OpenFile(path, "", 262144)
		if err != nil {
			b.Fatal(err)
		}
		cfg := sensor.DefaultConfig()
		cfg.Capture.File = path
		cfg.Workers = workers
		c := consumer()
		n := 0
		count := flow.ConsumerFunc(func(ctx context.Context, bt flow.Batch) error {
			n += len(bt.Exchanges)
			return c.Consume(ctx, bt)
		})
		s, err := sensor.New(cfg, sensor.Settings{Consumer: count, Sources: []capture.Source{src}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		got = n
	}
	b.StopTimer()
	if got != res.Exchanges {
		b.Fatalf("exchanges %d, want %d", got, res.Exchanges)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(res.Exchanges)/sec, "exchanges/s")
	b.ReportMetric(float64(res.Packets)/sec, "packets/s")
	b.ReportMetric(sec*1e9/float64(res.Exchanges), "ns/exchange")
}

// BenchmarkSensorPcap is pcap file → exchange records on one worker; run it
// with GOMAXPROCS=1 (make bench does) for the per-core figure.
func BenchmarkSensorPcap(b *testing.B) {
	benchSensor(b, 1, func() flow.Consumer { return &sink.Discard{} })
}

// BenchmarkSensorPcapJSONL adds encoding every record as JSON Lines.
func BenchmarkSensorPcapJSONL(b *testing.B) {
	benchSensor(b, 1, func() flow.Consumer { return sink.NewJSONL(io.Discard, nil) })
}

// BenchmarkSensorPcapWorkers4 shards to four workers (pipeline overhead).
func BenchmarkSensorPcapWorkers4(b *testing.B) {
	benchSensor(b, 4, func() flow.Consumer { return &sink.Discard{} })
}
