// Package mem is the in-memory bus: it joins a sensor to an analyzer in one
// process (`apitap run`) with the same two boundaries Kafka has — the sensor
// side is a flow.Consumer, the analyzer side a Handler that receives
// []codec.Record — so the analyzer cannot tell which bus feeds it.
//
// The queue is bounded. With Block set (a capture file: the reader can wait)
// a full queue back-pressures the sensor; otherwise (a live capture, which
// must never stall) the batch is dropped, counted, and reported to the
// analyzer as a flow.Loss record (stage "queue", reason "bus_full") in the
// same stream, so the analyzer knows when it was blind.
package mem

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

// Handler receives a batch of records. It owns the records; the slice is
// reused after it returns. A non-nil error is retried with the same batch
// (as the Kafka subscriber does) until the context ends.
type Handler func(ctx context.Context, recs []codec.Record) error

// Config sizes the queue.
type Config struct {
	// QueueRecords bounds the records waiting between sensor and analyzer.
	// Default 65536.
	QueueRecords int `yaml:"queue_records"`
	// BatchRecords is the largest batch handed to the Handler. Default 8192.
	BatchRecords int `yaml:"batch_records"`
	// BatchWait is how long a partial batch may wait for more records
	// before it is handed over. Default 200ms.
	BatchWait time.Duration `yaml:"batch_wait"`
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{QueueRecords: 65536, BatchRecords: 8192, BatchWait: 200 * time.Millisecond}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.QueueRecords < 1 {
		errs = append(errs, errors.New("bus queue_records must be >= 1"))
	}
	if c.BatchRecords < 1 {
		errs = append(errs, errors.New("bus batch_records must be >= 1"))
	}
	if c.BatchWait <= 0 {
		errs = append(errs, errors.New("bus batch_wait must be > 0"))
	}
	return errors.Join(errs...)
}

// Settings are the non-configuration inputs of a Bus.
type Settings struct {
	// SensorID and SensorVersion are stamped on every record, with a
	// sequence number, exactly as the Kafka publisher does.
	SensorID      string
	SensorVersion string
	// Block makes Consume wait for room instead of dropping.
	Block bool
}

// Stats counts what went through the bus.
type Stats struct {
	Records uint64 // accepted from the sensor
	Dropped uint64 // dropped because the queue was full (Block unset)
	Handled uint64 // handed to the Handler and acknowledged
	Retries uint64 // Handler errors (each retried)
}

// Bus is a bounded in-memory queue of records.
type Bus struct {
	cfg Config
	set Settings
	ch  chan codec.Record

	mu     sync.Mutex // serialises producers: stamping order = queue order
	seq    uint64
	closed bool
	// pending drops not yet reported as a loss record, and their window.
	dropped          uint64
	dropFirst, dropL time.Time

	records, drops, handled, retries atomic.Uint64
	done                             chan struct{}
}

// New returns a Bus; call Close when the producer is finished.
func New(cfg Config, set Settings) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Bus{cfg: cfg, set: set, ch: make(chan codec.Record, cfg.QueueRecords), done: make(chan struct{})}, nil
}

func (b *Bus) meta() codec.Meta {
	b.seq++
	return codec.Meta{SensorID: b.set.SensorID, SensorVersion: b.set.SensorVersion,
		SchemaVersion: codec.SchemaVersion, Sequence: b.seq}
}

// ErrClosed is returned by Consume after Close.
var ErrClosed = errors.New("mem: bus closed")

// Consume queues the batch's records (flow.Consumer). It blocks for room
// when Block is set, else drops what does not fit and counts it.
func (b *Bus) Consume(ctx context.Context, batch flow.Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.flushDrops()
	for i := range batch.Losses {
		l := batch.Losses[i]
		if err := b.put(ctx, codec.Record{Meta: b.meta(), Loss: &l}, l.Last, 1); err != nil {
			return err
		}
	}
	for _, e := range batch.Exchanges {
		if err := b.put(ctx, codec.Record{Meta: b.meta(), Exchange: e}, e.End, 1); err != nil {
			return err
		}
	}
	return nil
}

// put sends one record; without Block a full queue drops it.
func (b *Bus) put(ctx context.Context, r codec.Record, at time.Time, n uint64) error {
	if b.set.Block {
		select {
		case b.ch <- r:
			b.records.Add(n)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case b.ch <- r:
		b.records.Add(n)
	default:
		b.seq-- // the sequence stays dense for what the analyzer sees
		b.drops.Add(n)
		if b.dropped == 0 {
			b.dropFirst = at
		}
		b.dropped += n
		b.dropL = at
	}
	return nil
}

// flushDrops reports pending drops as one loss record, if there is room.
func (b *Bus) flushDrops() {
	if b.dropped == 0 {
		return
	}
	l := flow.Loss{Stage: flow.StageQueue, Reason: "bus_full", Unit: "records",
		Count: b.dropped, First: b.dropFirst, Last: b.dropL}
	select {
	case b.ch <- codec.Record{Meta: b.meta(), Loss: &l}:
		b.dropped = 0
	default:
		b.seq--
	}
}

// Close ends the producer side: Run hands over what is queued and returns.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	if b.dropped > 0 {
		// Last chance: wait for room, the consumer is draining.
		l := flow.Loss{Stage: flow.StageQueue, Reason: "bus_full", Unit: "records",
			Count: b.dropped, First: b.dropFirst, Last: b.dropL}
		select {
		case b.ch <- codec.Record{Meta: b.meta(), Loss: &l}:
			b.dropped = 0
		case <-b.done: // the consumer is gone; the drops stay in Stats
		}
	}
	close(b.ch)
}

// Run hands batches to h until the bus is closed and drained (nil) or ctx
// ends (ctx.Err()). A batch h fails is retried, with a short backoff, until
// h accepts it.
func (b *Bus) Run(ctx context.Context, h Handler) error {
	defer close(b.done)
	batch := make([]codec.Record, 0, b.cfg.BatchRecords)
	timer := time.NewTimer(b.cfg.BatchWait)
	defer timer.Stop()
	open := true
	for open {
		batch = batch[:0]
		// Wait for the first record, then fill until full or BatchWait.
		select {
		case r, ok := <-b.ch:
			if !ok {
				return nil
			}
			batch = append(batch, r)
		case <-ctx.Done():
			return ctx.Err()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(b.cfg.BatchWait)
	fill:
		for len(batch) < b.cfg.BatchRecords {
			select {
			case r, ok := <-b.ch:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, r)
			case <-timer.C:
				break fill
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := b.deliver(ctx, h, batch); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bus) deliver(ctx context.Context, h Handler, batch []codec.Record) error {
	backoff := 50 * time.Millisecond
	for {
		err := h(ctx, batch)
		if err == nil {
			b.handled.Add(uint64(len(batch)))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.retries.Add(1)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	return Stats{Records: b.records.Load(), Dropped: b.drops.Load(), Handled: b.handled.Load(), Retries: b.retries.Load()}
}
