package codec

import "testing"

// The per-core target (GOMAXPROCS=1): encode ≥ 1,000,000 records/s, so that
// encode + publish stays above 500,000/s. Run with
//
//	GOMAXPROCS=1 go test -run '^$' -bench . -benchmem ./schema/codec/

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendExchange: the pooled package function, as a publisher calls it.
func BenchmarkAppendExchange(b *testing.B) {
	e := sampleExchange()
	buf, _ := AppendExchange(nil, sampleMeta, e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	meta := sampleMeta
	for b.Loop() {
		meta.Sequence++
		buf, _ = AppendExchange(buf[:0], meta, e)
	}
	reportRate(b)
}

// BenchmarkAppendExchangeGenerated: the generated code's MarshalAppend on a
// pooled message tree (reference_test.go), for comparison.
func BenchmarkAppendExchangeGenerated(b *testing.B) {
	e := sampleExchange()
	buf, _ := refAppendExchange(nil, sampleMeta, e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	meta := sampleMeta
	for b.Loop() {
		meta.Sequence++
		buf, _ = refAppendExchange(buf[:0], meta, e)
	}
	reportRate(b)
}

func BenchmarkAppendLoss(b *testing.B) {
	l := sampleLoss()
	buf, _ := AppendLoss(nil, sampleMeta, l)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendLoss(buf[:0], sampleMeta, l)
	}
	reportRate(b)
}

func BenchmarkDecode(b *testing.B) {
	buf, _ := AppendExchange(nil, sampleMeta, sampleExchange())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkDecodeGenerated: proto.Unmarshal into the generated message and
// conversion (reference_test.go), for comparison.
func BenchmarkDecodeGenerated(b *testing.B) {
	buf, _ := AppendExchange(nil, sampleMeta, sampleExchange())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refDecode(buf); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkDecodeOwned: Decode without the copy of the input (the Kafka
// subscriber's path: the message value is handed over).
func BenchmarkDecodeOwned(b *testing.B) {
	buf, _ := AppendExchange(nil, sampleMeta, sampleExchange())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var r Record
	for b.Loop() {
		if err := DecodeOwned(&r, buf); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}
