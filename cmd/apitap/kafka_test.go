package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apitap/apitap/schema/codec"
)

// `apitap sensor --pcap SAMPLE --kafka BROKERS --topic T` publishes every
// exchange of the sample as a v1 wire record to a real Kafka-protocol
// broker over TCP (kfake), keyed by host, with the sensor id and a
// gap-free sequence.
func TestSensorToKafka(t *testing.T) {
	const topic = "apitap.exchanges"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")

	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"sensor", "--pcap", sample(t), "--kafka", brokers, "--topic", topic,
		"--sensor-id", "test-sensor", "--log-level", "warn"}, &out, &errb)
	if err != nil {
		t.Fatalf("sensor: %v\n%s", err, errb.String())
	}
	if out.Len() != 0 {
		t.Fatalf("with --kafka and no --output nothing goes to stdout, got %d bytes", out.Len())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var exchanges int
	seqs := map[uint64]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for exchanges < 600 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			rec, err := codec.Decode(r.Value)
			if err != nil {
				t.Fatalf("record at offset %d: %v", r.Offset, err)
			}
			if rec.Meta.SensorID != "test-sensor" || seqs[rec.Meta.Sequence] {
				t.Fatalf("bad meta %+v (sequence repeated: %v)", rec.Meta, seqs[rec.Meta.Sequence])
			}
			seqs[rec.Meta.Sequence] = true
			if rec.Exchange != nil {
				exchanges++
				if string(r.Key) != rec.Exchange.Host || rec.Exchange.Host != "api.example.com" || rec.Exchange.Status == 0 {
					t.Fatalf("record key %q host %q status %d", r.Key, rec.Exchange.Host, rec.Exchange.Status)
				}
			}
		})
	}
	if exchanges != 600 {
		t.Fatalf("consumed %d exchanges from Kafka, want the sample's 600", exchanges)
	}
	for i := uint64(1); i <= 600; i++ {
		if !seqs[i] {
			t.Fatalf("sequence %d missing: the per-sensor sequence must have no holes", i)
		}
	}
}
