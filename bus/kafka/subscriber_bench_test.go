package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/apitap/apitap/internal/testutil"
	"github.com/apitap/apitap/schema/codec"
)

// syntheticBatch is a v2 record batch of n wire records as the sensor
// publishes them (~1 KB exchanges over 64 hosts, keyed by host, with the
// publisher's headers), compressed with comp. It returns the batch and the
// mean value size.
func syntheticBatch(tb testing.TB, n int, comp kgo.CompressionCodec) ([]byte, int) {
	tb.Helper()
	var recs []byte
	size := 0
	for i := 0; i < n; i++ {
		e := testExchange(i, 64, 700)
		v, err := codec.AppendExchange(nil, codec.Meta{SensorID: "sensor-bench", SensorVersion: "bench", Sequence: uint64(i)}, e)
		if err != nil {
			tb.Fatal(err)
		}
		size += len(v)
		r := kmsg.Record{OffsetDelta: int32(i), Key: []byte(e.Host), Value: v, Headers: []kmsg.Header{
			{Key: HeaderType, Value: []byte("exchange")},
			{Key: HeaderCodec, Value: []byte("apitap.flow.v1+protobuf")},
			{Key: HeaderSensor, Value: []byte("sensor-bench")},
		}}
		// Length counts the bytes after its own varint.
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	var attrs int16
	compressor, err := kgo.DefaultCompressor(comp)
	if err != nil {
		tb.Fatal(err)
	}
	if compressor != nil {
		var buf bytes.Buffer
		out, used := compressor.Compress(&buf, recs)
		recs, attrs = append([]byte(nil), out...), int16(used)
	}
	ts := testBase.UnixMilli()
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: attrs, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: ts, MaxTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(n), Records: recs,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw, size / n
}

// synthBrokerEnv makes TestSyntheticBroker serve a canned batch (see
// BenchmarkSubscriber): "codec:partitions".
const synthBrokerEnv = "APITAP_KFAKE_SYNTHETIC"

var benchCodecs = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

// TestSyntheticBroker is BenchmarkSubscriber's broker process, not a test:
// with synthBrokerEnv set it runs a one-broker kfake cluster that answers
// every fetch with copies of a canned batch of 500 wire records
// (SyntheticFetch), prints its address and exits when stdin closes.
func TestSyntheticBroker(t *testing.T) {
	spec := os.Getenv(synthBrokerEnv)
	if spec == "" {
		t.Skip("the broker process of BenchmarkSubscriber")
	}
	name, partsStr, _ := strings.Cut(spec, ":")
	parts, _ := strconv.Atoi(partsStr)
	batch, _ := syntheticBatch(t, 500, benchCodecs[name])
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(parts), testTopic),
		kfake.SyntheticFetch(kfake.SyntheticBatch{Batch: batch}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testutil.ChildServe(c.ListenAddrs())
	c.Close()
	os.Exit(0)
}

// synthBroker starts TestSyntheticBroker in a child process (this test
// binary) on one core of its own and returns its address.
func synthBroker(b *testing.B, comp string, parts int) []string {
	return childBroker(b, "^TestSyntheticBroker$", fmt.Sprintf("%s=%s:%d", synthBrokerEnv, comp, parts))
}

// BenchmarkSubscriber measures consume + decode: a Subscriber with the
// default configuration (batches of up to 20,000 records) fetches wire
// records (~1 KB exchanges, as the sensor publishes them) from kfake over
// TCP, decodes them and hands them to a handler that only counts; every
// batch is committed. The broker runs in a child process on its own core
// and serves a canned batch at any offset (SyntheticFetch), so it costs a
// copy, not a log read. rec/s is wall clock; rec/cpu-s divides by this
// process's CPU time (with -cpu 1: records per second per core).
func BenchmarkSubscriber(b *testing.B) {
	for _, tc := range []struct {
		comp  string
		parts int
	}{
		{"zstd", 8}, {"lz4", 8}, {"none", 8}, {"zstd", 1},
	} {
		b.Run(fmt.Sprintf("%s/partitions=%d", tc.comp, tc.parts), func(b *testing.B) { benchSubscriber(b, tc.comp, tc.parts) })
	}
}

func benchSubscriber(b *testing.B, comp string, parts int) {
	_, valueSize := syntheticBatch(b, 500, benchCodecs[comp])
	cfg := DefaultSubscriberConfig()
	cfg.Brokers = synthBroker(b, comp, parts)
	cfg.Topic = testTopic
	cfg.Group = fmt.Sprintf("bench-%d", time.Now().UnixNano())
	cfg.DeadLetterTopic = ""
	cfg.SessionTimeout = 6 * time.Second
	cfg.HeartbeatInterval = time.Second
	s, err := NewSubscriber(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	var count, target atomic.Int64
	var once sync.Once
	done := make(chan struct{})
	h := func(_ context.Context, recs []codec.Record) error {
		n := count.Add(int64(len(recs)))
		if t := target.Load(); t > 0 && n >= t {
			once.Do(func() { close(done) })
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx, h) }()
	// Warm up: group joined, connections open, first batches decoded.
	for count.Load() < 20_000 {
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(int64(valueSize))
	b.ReportAllocs()
	b.ResetTimer()
	base := count.Load()
	t0, cpu0 := time.Now(), testutil.SelfCPU()
	target.Store(base + int64(b.N))
	if count.Load() >= base+int64(b.N) {
		once.Do(func() { close(done) })
	}
	<-done
	wall, cpu := time.Since(t0), testutil.SelfCPU()-cpu0
	b.StopTimer()
	got := count.Load() - base
	b.ReportMetric(float64(got)/wall.Seconds(), "rec/s")
	b.ReportMetric(float64(got)/cpu.Seconds(), "rec/cpu-s")
	cancel()
}
