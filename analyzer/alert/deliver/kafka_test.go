package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apitap/apitap/analyzer"
)

// Alerts written to the alerts topic of a real Kafka-protocol broker (kfake,
// over TCP) are consumed back: keyed by dedup key, in ECS, one per alert,
// including those raised while the broker was unreachable.
func TestKafkaAlertsTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, DefaultAlertsTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.Destinations = []DestinationConfig{{Name: "bus", Type: "kafka", Format: "ecs", RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Kafka: KafkaConfig{Brokers: c.ListenAddrs(), WriteTimeout: 2 * time.Second}}}
	d := open(t, cfg)
	var fs []analyzer.FindingRow
	for i := 0; i < 20; i++ {
		fs = append(fs, finding("bola_enumeration", "high", fmt.Sprintf("10.2.0.%d", i), 5, t0))
	}
	write(t, d, fs[:10]...)
	waitFor(t, "ten alerts sent", func() bool { return d.Stats().Destinations[0].Sent == 10 })
	write(t, d, fs[10:]...)
	waitFor(t, "twenty alerts sent", func() bool { return d.Stats().Destinations[0].Sent == 20 })
	closeD(t, d, 5*time.Second)

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(DefaultAlertsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]map[string]any{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 20 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var ev map[string]any
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				t.Errorf("record not JSON: %v", err)
				return
			}
			apitap, _ := ev["apitap"].(map[string]any)
			if apitap["dedup_key"] != string(r.Key) {
				t.Errorf("record key %q, dedup key %v", r.Key, apitap["dedup_key"])
			}
			if _, dup := got[string(r.Key)]; dup {
				t.Errorf("alert %q twice", r.Key)
			}
			got[string(r.Key)] = ev
		})
	}
	if len(got) != 20 {
		t.Fatalf("consumed %d alerts, want 20", len(got))
	}
	for _, ev := range got {
		evt, _ := ev["event"].(map[string]any)
		if evt["kind"] != "alert" {
			t.Fatalf("not an ECS alert: %v", ev)
		}
	}
}
