package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/apitap/apitap/analyzer/alert"
)

// kafkaDest writes alerts to a topic, keyed by dedup key so every revision
// of one alert lands in one partition, in order.
type kafkaDest struct {
	w      *kafkago.Writer
	format alert.Format
	msgs   []kafkago.Message
}

func newKafka(d DestinationConfig, f alert.Format) (*kafkaDest, error) {
	tc, err := d.Kafka.TLS.Load()
	if err != nil {
		return nil, err
	}
	mech, err := d.Kafka.SASL.Load()
	if err != nil {
		return nil, err
	}
	w := &kafkago.Writer{
		Addr:     kafkago.TCP(d.Kafka.Brokers...),
		Topic:    d.Kafka.Topic,
		Balancer: &kafkago.Hash{},
		// Synchronous writes of a whole batch: BatchTimeout only bounds
		// the wait for a batch the writer thinks is incomplete, so keep it
		// short (kafka-go's default is 1s per call).
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    d.BatchSize,
		RequiredAcks: kafkago.RequireAll,
		MaxAttempts:  1, // the dispatcher retries, with backoff, from the spool
		WriteTimeout: d.Kafka.WriteTimeout,
		ReadTimeout:  d.Kafka.WriteTimeout,
		Transport:    &kafkago.Transport{TLS: tc, SASL: mech, ClientID: "apitap-alerts"},
	}
	return &kafkaDest{w: w, format: f}, nil
}

func (k *kafkaDest) send(ctx context.Context, batch []*alert.Alert) (int, error) {
	k.msgs = k.msgs[:0]
	for _, a := range batch {
		v, err := alert.Append(nil, k.format, a)
		if err != nil {
			return 0, rejected{err}
		}
		k.msgs = append(k.msgs, kafkago.Message{Key: []byte(a.DedupKey), Value: v, Time: a.Time,
			Headers: []kafkago.Header{{Key: "format", Value: []byte(k.format)}, {Key: "kind", Value: []byte(a.Kind)}}})
	}
	err := k.w.WriteMessages(ctx, k.msgs...)
	if err == nil {
		return len(batch), nil
	}
	// Messages before the first failed one are stored (same partition
	// order is kept by the key); the rest are retried.
	var we kafkago.WriteErrors
	n := 0
	if errors.As(err, &we) {
		for n < len(we) && we[n] == nil {
			n++
		}
	}
	return n, fmt.Errorf("kafka alerts: %w", err)
}

func (k *kafkaDest) close() error { return k.w.Close() }
