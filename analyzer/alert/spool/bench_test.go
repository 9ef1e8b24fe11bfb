package spool

import (
	"testing"
)

// benchAppend appends batches of 64 records of 300 bytes (a typical alert
// in JSON). It acknowledges every 64 batches so that segments are deleted
// and the disk stays bounded, as a sender keeping up would.
func benchAppend(b *testing.B, noSync bool) {
	s := openT(b, b.TempDir(), func(c *Config) { c.NoSync = noSync })
	defer s.Close()
	const batch, size = 64, 300
	rec := make([]byte, size)
	for i := range rec {
		rec[i] = byte('a' + i%26)
	}
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = rec
	}
	b.SetBytes(batch * size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		first, err := s.Append(recs...)
		if err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := s.Ack(first + batch - 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkAppend(b *testing.B)     { benchAppend(b, true) }
func BenchmarkAppendSync(b *testing.B) { benchAppend(b, false) }

// BenchmarkPeekAck is the sender's loop: Peek 64 records, Ack them
// (NoSync: the cost of the spool, not of the disk).
func BenchmarkPeekAck(b *testing.B) {
	s := openT(b, b.TempDir(), func(c *Config) { c.MaxBytes = 256 << 20 })
	defer s.Close()
	const batch, size = 64, 300
	rec := make([]byte, size)
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = rec
	}
	fill := func() {
		for i := 0; i < 1000; i++ {
			if _, err := s.Append(recs...); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(batch * size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if s.Stats().Pending < batch {
			b.StopTimer()
			fill()
			b.StartTimer()
		}
		es, err := s.Peek(batch, 0)
		if err != nil || len(es) != batch {
			b.Fatal(len(es), err)
		}
		if err := s.Ack(es[len(es)-1].Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
