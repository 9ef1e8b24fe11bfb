package sensor

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
)

// batch carries packets from a reader to a worker. The reader copies each
// payload into arena because the capture buffer is reused; the worker
// owns the batch until it puts it back in the pool.
type batch struct {
	pkts  []decode.Packet
	arena []byte
	// tick, when non-zero, advances the worker's clock (live mode, quiet link).
	tick int64
	// final asks the worker to flush everything at flushAt and stop.
	final   bool
	flushAt int64
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

type reader struct {
	src     capture.Source
	dec     *decode.Decoder
	cfg     *Config
	workers []*worker
	inline  bool
	live    bool
	cur     []*batch

	lastTS    int64
	nextFlush int64
	// queueDrops counts packets dropped because a worker's queue was full
	// (live mode only; file mode waits instead).
	queueDrops uint64
	// readErrors counts source errors other than end of file.
	readErrors uint64

	mu   sync.Mutex // guards snap, which other goroutines read
	snap readerStats
}

type readerStats struct {
	Decode     decode.Stats
	QueueDrops uint64
	ReadErrors uint64
	FirstTS    int64
	LastTS     int64
}

// publish snapshots the reader-owned counters for Sensor.Stats.
func (r *reader) publish() {
	r.mu.Lock()
	first := r.snap.FirstTS
	r.snap = readerStats{Decode: r.dec.Stats(), QueueDrops: r.queueDrops, ReadErrors: r.readErrors, FirstTS: first, LastTS: r.lastTS}
	r.mu.Unlock()
}

func (r *reader) stats() readerStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snap
}

func newReader(src capture.Source, cfg *Config, workers []*worker, inline, live bool) *reader {
	return &reader{src: src, dec: decode.NewDecoder(cfg.Decode), cfg: cfg, workers: workers,
		inline: inline, live: live, cur: make([]*batch, len(workers))}
}

func (r *reader) run(ctx context.Context) error {
	var f capture.Frame
	var p decode.Packet
	tick := int64(r.cfg.Tick)
	for {
		if r.live && ctx.Err() != nil {
			break
		}
		err := r.src.Next(&f)
		if err != nil {
			if errors.Is(err, capture.ErrTimeout) {
				r.idle(ctx, time.Now().UnixNano())
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			r.readErrors++
			if r.live {
				// A live source error is usually fatal (interface gone).
				r.flushAll(ctx)
				return err
			}
			break // a corrupt file record: keep what was read (counted)
		}
		if f.TS > r.lastTS {
			if r.lastTS == 0 {
				r.mu.Lock()
				r.snap.FirstTS = f.TS
				r.mu.Unlock()
			}
			r.lastTS = f.TS
		}
		if r.dec.Decode(f.Data, f.Link, f.TS, &p) != decode.ResultTCP {
			continue
		}
		if r.inline {
			r.workers[0].packet(&p)
		} else {
			r.route(ctx, &p)
		}
		// Once per tick of capture time: hand partial batches over so that
		// workers' clocks and outputs keep moving on thin traffic, and
		// publish counters.
		if r.lastTS >= r.nextFlush {
			if !r.inline {
				r.flushAll(ctx)
			}
			r.publish()
			r.nextFlush = r.lastTS + tick
		}
	}
	if !r.inline {
		r.flushAll(ctx)
	}
	r.publish()
	return ctx.Err()
}

func (r *reader) route(ctx context.Context, p *decode.Packet) {
	i := 0
	if n := len(r.workers); n > 1 {
		i = int(decode.Hash(p) % uint32(n))
	}
	b := r.cur[i]
	if b == nil {
		b = batchPool.Get().(*batch)
		b.pkts, b.arena, b.tick, b.final = b.pkts[:0], b.arena[:0], 0, false
		r.cur[i] = b
	}
	q := *p
	if len(p.Payload) > 0 {
		off := len(b.arena)
		b.arena = append(b.arena, p.Payload...)
		q.Payload = b.arena[off:len(b.arena):len(b.arena)]
	}
	b.pkts = append(b.pkts, q)
	if len(b.pkts) >= r.cfg.BatchPackets || len(b.arena) >= 1<<20 {
		r.send(ctx, i)
	}
}

// send hands worker i its current batch. File mode waits for room (no
// loss, the file can wait); live mode never blocks capture: a full queue
// drops the batch and counts its packets.
func (r *reader) send(ctx context.Context, i int) {
	b := r.cur[i]
	if b == nil {
		return
	}
	r.cur[i] = nil
	w := r.workers[i]
	if !r.live {
		select {
		case w.in <- b:
		case <-ctx.Done():
		}
		return
	}
	select {
	case w.in <- b:
	default:
		r.queueDrops += uint64(len(b.pkts))
		batchPool.Put(b)
	}
}

func (r *reader) flushAll(ctx context.Context) {
	for i := range r.cur {
		r.send(ctx, i)
	}
}

// idle runs when a live source had nothing to read: flush partial batches
// and move every worker's clock to the wall time so timeouts still fire.
func (r *reader) idle(ctx context.Context, now int64) {
	r.publish()
	if r.inline {
		r.workers[0].advance(now)
		return
	}
	r.flushAll(ctx)
	for _, w := range r.workers {
		select {
		case w.in <- &batch{tick: now}:
		default:
		}
	}
}
