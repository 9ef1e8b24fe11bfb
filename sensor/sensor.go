// Package sensor wires the capture pipeline: capture → decode → shard by
// flow hash → per-worker TCP reassembly → HTTP parsing and pairing →
// flow.Consumer.
//
// Concurrency: one reader goroutine per capture source decodes frames and
// routes each TCP segment to worker hash(flow) % Workers, so both directions
// of a connection meet in one worker, which owns its reassembly and HTTP
// state outright (no locks, no goroutine per connection). Packets travel in
// batches; their payloads are copied once into the batch's arena, because
// the capture buffer is reused by the next read. With one worker and one
// source the worker runs inline on the reader goroutine and nothing is copied.
//
// Time: every timeout runs on the capture clock (packet timestamps). In file
// mode the wall clock is never consulted, so a capture replayed at any speed
// or shifted by days gives the same records. A live source that goes quiet
// advances the clock with the wall time.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/tcp"
)

// Config is the sensor's user configuration.
type Config struct {
	Capture  capture.Config  `yaml:"capture"`
	Decode   decode.Config   `yaml:"decode"`
	TCP      tcp.Config      `yaml:"tcp"`
	Exchange exchange.Config `yaml:"http"`
	// Workers is the number of reassembly/HTTP workers. Default: the
	// number of CPUs. With 1 the worker runs on the reader goroutine.
	Workers int `yaml:"workers"`
	// QueueBatches is the depth, in batches, of each worker's input queue.
	// A batch holds up to BatchPackets packets or 1 MiB of payload, so the
	// queues hold at most Workers × QueueBatches MiB. Default 64.
	QueueBatches int `yaml:"queue_batches"`
	// OutputBatches is the depth, in batches of up to 256 exchanges, of the
	// queue in front of the outputs. Records are about 1–3 KB with bodies,
	// so the default holds a few MiB: a slow output then pushes back (file
	// mode) or drops and counts (live mode) instead of buffering without
	// end. Default 4.
	OutputBatches int `yaml:"output_batches"`
	// BatchPackets is the number of packets per batch. Default 256.
	BatchPackets int `yaml:"batch_packets"`
	// LossInterval is how often, on the capture clock, loss counters are
	// turned into flow.Loss records. Default 10s.
	LossInterval time.Duration `yaml:"loss_interval"`
	// Tick is the granularity of the capture clock that drives timeouts.
	// Default 1s.
	Tick time.Duration `yaml:"tick"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Capture:       capture.DefaultConfig(),
		Decode:        decode.DefaultConfig(),
		TCP:           tcp.DefaultConfig(),
		Exchange:      exchange.DefaultConfig(),
		Workers:       runtime.NumCPU(),
		QueueBatches:  64,
		OutputBatches: 4,
		BatchPackets:  256,
		LossInterval:  10 * time.Second,
		Tick:          time.Second,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	return errors.Join(c.Capture.Validate(), c.validatePipeline())
}

// validatePipeline checks everything but the capture source.
func (c *Config) validatePipeline() error {
	var errs []error
	for _, v := range []interface{ Validate() error }{&c.Decode, &c.TCP, &c.Exchange} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("sensor: workers %d out of range [1, 256]", c.Workers))
	}
	if c.QueueBatches < 1 || c.OutputBatches < 1 {
		errs = append(errs, errors.New("sensor: queue_batches and output_batches must be >= 1"))
	}
	if c.BatchPackets < 1 || c.BatchPackets > 65536 {
		errs = append(errs, errors.New("sensor: batch_packets out of range [1, 65536]"))
	}
	if c.LossInterval <= 0 || c.Tick <= 0 {
		errs = append(errs, errors.New("sensor: loss_interval and tick must be positive"))
	}
	return errors.Join(errs...)
}

// Settings are the non-serialisable dependencies.
type Settings struct {
	Logger *zap.Logger
	// Consumer receives exchange and loss batches from one goroutine at a
	// time. Required.
	Consumer flow.Consumer
	// Sources, when set, replaces opening Config.Capture (tests, embedding).
	Sources []capture.Source
}

// Sensor is a configured pipeline. Build it with New, then call Run once.
type Sensor struct {
	cfg     Config
	set     Settings
	sources []capture.Source
	live    bool

	mu    sync.Mutex
	stats Stats

	// Loss accounting: the counters already reported and since when.
	lossPrev Stats
	lossFrom time.Time
}

func tsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// lossLoop reports loss periodically while a live capture runs, so the
// analyzer learns about blindness as it happens; it also refreshes Stats.
// In file mode the loss is reported once at the end, over the capture span.
func (s *Sensor) lossLoop(readers []*reader, workers []*worker, out *output, done, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(s.cfg.LossInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			cur := snapshot(s.sources, readers, workers, out)
			s.mu.Lock()
			s.stats = cur
			s.mu.Unlock()
			if !s.live {
				continue
			}
			now := time.Now().UTC()
			if ls := lossRecords(&s.lossPrev, &cur, s.lossFrom, now); len(ls) > 0 {
				out.push(outItem{losses: ls})
			}
			s.lossPrev, s.lossFrom = cur, now
		}
	}
}

// New validates the configuration and opens the capture sources. It starts
// nothing.
func New(cfg Config, set Settings) (*Sensor, error) {
	if set.Consumer == nil {
		return nil, errors.New("sensor: no consumer")
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if err := cfg.validatePipeline(); err != nil {
		return nil, err
	}
	srcs := set.Sources
	if srcs == nil {
		if err := cfg.Capture.Validate(); err != nil {
			return nil, err
		}
		var err error
		if srcs, err = capture.Open(cfg.Capture); err != nil {
			return nil, err
		}
	}
	return &Sensor{cfg: cfg, set: set, sources: srcs, live: cfg.Capture.Interface != ""}, nil
}

// Run captures until the sources end (file mode) or ctx is cancelled (live
// mode), then drains every stage: all reassembled data is parsed, every
// pending request is emitted, and the consumer has received everything
// before Run returns.
func (s *Sensor) Run(ctx context.Context) error {
	defer func() {
		for _, src := range s.sources {
			src.Close()
		}
	}()
	out := newOutput(s.set.Consumer, s.cfg.OutputBatches, !s.live)
	workers := make([]*worker, s.cfg.Workers)
	for i := range workers {
		workers[i] = newWorker(i, &s.cfg, out)
	}
	g, gctx := errgroup.WithContext(ctx)
	outDone := make(chan error, 1)
	go func() { outDone <- out.run(context.WithoutCancel(ctx)) }()

	inline := len(workers) == 1 && len(s.sources) == 1
	if !inline {
		for _, w := range workers {
			w := w
			g.Go(func() error { w.run(); return nil })
		}
	}
	readers := make([]*reader, len(s.sources))
	for i, src := range s.sources {
		readers[i] = newReader(src, &s.cfg, workers, inline, s.live)
	}
	lossDone, lossStopped := make(chan struct{}), make(chan struct{})
	go s.lossLoop(readers, workers, out, lossDone, lossStopped)
	var rg errgroup.Group
	for _, r := range readers {
		r := r
		rg.Go(func() error { return r.run(gctx) })
	}
	rerr := rg.Wait()
	// Sources are done: flush every worker on the last capture time seen.
	var last int64
	for _, r := range readers {
		if r.lastTS > last {
			last = r.lastTS
		}
	}
	if inline {
		workers[0].finish(last)
	} else {
		for _, w := range workers {
			w.in <- &batch{flushAt: last, final: true}
		}
	}
	werr := g.Wait()
	close(lossDone)
	<-lossStopped
	// Everything is drained: the last loss records cover what the periodic
	// ones (live mode) have not reported yet.
	final := snapshot(s.sources, readers, workers, out)
	if s.lossFrom.IsZero() {
		s.lossFrom = tsTime(final.FirstTS)
	}
	if ls := lossRecords(&s.lossPrev, &final, s.lossFrom, tsTime(final.LastTS)); len(ls) > 0 {
		out.push(outItem{losses: ls})
	}
	out.close()
	oerr := <-outDone
	final = snapshot(s.sources, readers, workers, out)
	s.mu.Lock()
	s.stats = final
	s.mu.Unlock()
	if errors.Is(rerr, context.Canceled) {
		rerr = nil
	}
	return errors.Join(rerr, werr, oerr)
}

// Stats returns the most recent counters (exact once Run has returned).
// Progress reports how far a file replay has read: bytes read and the
// files' total size (0 when unknown: a pipe or a live capture). Safe to
// call while Run runs.
func (s *Sensor) Progress() (read, total uint64) {
	for _, src := range s.sources {
		st := src.Stats()
		read += st.FileBytes
		total += st.FileSize
	}
	return read, total
}

func (s *Sensor) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
