package sensor

import (
	"sync"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/tcp"
)

// outBatch is how many exchanges a worker gathers before handing them to
// the output goroutine.
const outBatch = 256

// worker owns the reassembly and HTTP state of its shard of flows.
type worker struct {
	id  int
	cfg *Config
	in  chan *batch
	asm *tcp.Assembler
	fac *exchange.Factory
	out *output

	clock    int64
	nextTick int64
	pending  []*flow.Exchange
	emitted  uint64

	mu   sync.Mutex // guards snap
	snap workerStats
}

type workerStats struct {
	TCP       tcp.Stats
	HTTP      exchange.Stats
	Exchanges uint64
}

func newWorker(id int, cfg *Config, out *output) *worker {
	w := &worker{id: id, cfg: cfg, out: out, in: make(chan *batch, cfg.QueueBatches)}
	w.fac = exchange.NewFactory(cfg.Exchange, w.emit)
	w.asm = tcp.NewAssembler(cfg.TCP, w.fac)
	return w
}

func (w *worker) emit(e *flow.Exchange) {
	w.pending = append(w.pending, e)
	w.emitted++
	if len(w.pending) >= outBatch {
		w.flushOut()
	}
}

func (w *worker) flushOut() {
	if len(w.pending) == 0 {
		return
	}
	w.out.push(outItem{ex: w.pending})
	w.pending = make([]*flow.Exchange, 0, outBatch)
}

func (w *worker) packet(p *decode.Packet) {
	if p.TS > w.clock {
		w.clock = p.TS
	}
	w.asm.Packet(p)
	if w.clock >= w.nextTick {
		w.advance(w.clock)
	}
}

// advance runs the capture-clock timers and publishes a stats snapshot.
func (w *worker) advance(now int64) {
	if now > w.clock {
		w.clock = now
	}
	w.asm.Advance(w.clock)
	w.fac.Advance(w.clock)
	w.nextTick = w.clock + int64(w.cfg.Tick)
	w.flushOut()
	w.publish()
}

func (w *worker) publish() {
	w.mu.Lock()
	w.snap = workerStats{TCP: w.asm.Stats(), HTTP: w.fac.Stats(), Exchanges: w.emitted}
	w.mu.Unlock()
}

func (w *worker) stats() workerStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snap
}

func (w *worker) run() {
	for b := range w.in {
		if b.final {
			w.finish(b.flushAt)
			return
		}
		if b.tick != 0 {
			w.advance(b.tick)
			continue
		}
		for i := range b.pkts {
			w.packet(&b.pkts[i])
		}
		b.pkts, b.arena = b.pkts[:0], b.arena[:0]
		batchPool.Put(b)
	}
}

// finish drains the shard at the end of capture: every connection is
// flushed and ended, so every pending request is emitted.
func (w *worker) finish(at int64) {
	if at < w.clock {
		at = w.clock
	}
	w.asm.FlushAll(at)
	w.fac.Advance(at)
	w.flushOut()
	w.publish()
}
