package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/spool"
)

// sender delivers alerts to one receiver.
type sender interface {
	// send delivers batch in order. It returns how many alerts, from the
	// start, the receiver accepted; an error wrapping rejected means the
	// receiver refused the payload (retrying it cannot help). batch and its
	// alerts belong to the caller.
	send(ctx context.Context, batch []*alert.Alert) (int, error)
	close() error
}

// Settings are what the Dispatcher gets from its host process.
type Settings struct {
	Logger *zap.Logger
	// Observer names the analyzer in alerts (default: the host name) and
	// Version is apitap's version.
	Observer string
	Version  string
}

// Dispatcher is the alerting sink: Write decides and spools, one goroutine
// per destination delivers.
type Dispatcher struct {
	cfg    Config
	log    *zap.Logger
	set    Settings
	mu     sync.Mutex // Write, Flush and the policy
	policy *alert.Policy
	dests  []*destination
	saved  time.Time
	dirty  bool
	ctx    context.Context // the workers'; cancelled by Close after the drain
	cancel context.CancelFunc
	drain  chan struct{} // closed by Close: workers stop once their spool is empty
	wg     sync.WaitGroup
	closed bool
}

// destination is one receiver with its spool and worker.
type destination struct {
	cfg    DestinationConfig
	minSev int
	snd    sender
	sp     *spool.Spool
	lim    bucket
	log    *zap.Logger

	mu sync.Mutex
	// latest maps a dedup key to the newest spooled revision: an older
	// revision still unsent is skipped (an episode's updates during an
	// outage arrive once, as the latest).
	latest map[string]uint64

	recs [][]byte
	keys []string

	sent, rejected, failures, superseded, dropped, undecodable atomic.Uint64
	lastErr                                                    atomic.Value // string
	lastLog                                                    atomic.Int64 // unix nanoseconds
}

// DestinationStats are one destination's counters.
type DestinationStats struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Sent       uint64 `json:"sent"`
	Pending    uint64 `json:"pending"`    // in the spool, not yet delivered
	Failures   uint64 `json:"failures"`   // failed deliveries (retried)
	Rejected   uint64 `json:"rejected"`   // alerts the receiver refused (skipped)
	Dropped    uint64 `json:"dropped"`    // alerts not spooled: the spool was full
	Superseded uint64 `json:"superseded"` // unsent revisions replaced by a newer one
	LastError  string `json:"last_error,omitempty"`
}

// Stats are the dispatcher's counters.
type Stats struct {
	Policy       alert.PolicyStats  `json:"policy"`
	Destinations []DestinationStats `json:"destinations"`
}

const stateFile = "policy.json"

// New opens the spools and senders and starts one worker per destination.
// A dispatcher with no destinations is valid and does nothing.
func New(cfg Config, set Settings) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if set.Observer == "" {
		set.Observer, _ = os.Hostname()
	}
	pol, err := alert.NewPolicy(cfg.PolicyConfig)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, log: set.Logger.Named("alerts"), set: set, policy: pol, drain: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if !cfg.Enabled() {
		return d, nil
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("alerts: spool_dir: %w", err)
	}
	if f, err := os.Open(filepath.Join(cfg.SpoolDir, stateFile)); err == nil {
		if err := pol.LoadState(f); err != nil {
			d.log.Warn("alert dedup state unreadable: starting without (alerts may repeat once)", zap.Error(err))
		}
		f.Close()
	}
	for _, dc := range cfg.Destinations {
		dest, err := d.open(dc.withDefaults())
		if err != nil {
			d.closeAll()
			return nil, fmt.Errorf("alerts: destination %s: %w", dc.Name, err)
		}
		d.dests = append(d.dests, dest)
	}
	for _, dest := range d.dests {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			dest.run(d.ctx, d.drain)
		}()
	}
	return d, nil
}

func (d *Dispatcher) open(dc DestinationConfig) (*destination, error) {
	snd, err := newSender(dc, d.set.Version)
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(d.cfg.SpoolDir, dc.Name), MaxBytes: d.cfg.SpoolMaxBytes})
	if err != nil {
		snd.close()
		return nil, err
	}
	dest := &destination{cfg: dc, minSev: alert.SeverityLevel(dc.MinSeverity), snd: snd, sp: sp,
		lim: bucket{rate: dc.Rate, burst: float64(dc.Burst), tokens: float64(dc.Burst)},
		log: d.log.With(zap.String("destination", dc.Name)), latest: make(map[string]uint64)}
	// What a previous run left in the spool keeps its supersede index.
	err = sp.Scan(func(e spool.Entry) error {
		var k struct {
			Key string `json:"dedup_key"`
		}
		if json.Unmarshal(e.Data, &k) == nil {
			dest.latest[k.Key] = e.Seq
		}
		return nil
	})
	if err != nil {
		sp.Close()
		snd.close()
		return nil, err
	}
	return dest, nil
}

// newSender builds the receiver of one destination.
func newSender(dc DestinationConfig, version string) (sender, error) {
	f, err := alert.ParseFormat(dc.Format)
	if err != nil {
		return nil, err
	}
	switch dc.Type {
	case "syslog":
		return newSyslog(dc, f)
	case "hec":
		return newHEC(dc, f)
	case "webhook":
		return newWebhook(dc, f, version, func() int64 { return time.Now().Unix() })
	case "kafka":
		return newKafka(dc, f)
	}
	return nil, fmt.Errorf("type %q unknown", dc.Type)
}

// match is the destination's own filter.
func (dest *destination) match(a *alert.Alert) bool {
	if alert.SeverityLevel(a.Severity) < dest.minSev {
		return false
	}
	if len(dest.cfg.Kinds) > 0 && !slices.Contains(dest.cfg.Kinds, a.Kind) {
		return false
	}
	return len(dest.cfg.Types) == 0 || slices.Contains(dest.cfg.Types, a.Type)
}

// Write decides which of r's findings are alerts and spools them for
// every destination that takes them. It returns nil once they are on disk
// (the batch may then be acknowledged); when a spool fails for another
// reason than being full, the policy's decisions are undone and the error
// returned, so the retried batch raises the same alerts.
func (d *Dispatcher) Write(_ context.Context, r *analyzer.Result) error {
	if len(d.dests) == 0 || len(r.Findings) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("alerts: dispatcher closed")
	}
	now := time.Now()
	d.policy.Begin()
	for i := range r.Findings {
		a, ok := d.policy.Decide(&r.Findings[i], now)
		if !ok {
			continue
		}
		a.Observer, a.Version = d.set.Observer, d.set.Version
		b, err := json.Marshal(&a)
		if err != nil {
			continue // cannot happen for this struct; nothing to spool
		}
		for _, dest := range d.dests {
			if dest.match(&a) {
				dest.recs = append(dest.recs, b)
				dest.keys = append(dest.keys, a.DedupKey)
			}
		}
	}
	var errs []error
	for _, dest := range d.dests {
		if len(dest.recs) == 0 {
			continue
		}
		first, err := dest.sp.Append(dest.recs...)
		switch {
		case errors.Is(err, spool.ErrFull):
			dest.dropped.Add(uint64(len(dest.recs)))
			dest.warn("alert spool full: alerts dropped (the receiver is down or too slow)", zap.Int("alerts", len(dest.recs)))
		case err != nil:
			errs = append(errs, fmt.Errorf("alerts: spool %s: %w", dest.cfg.Name, err))
		default:
			dest.mu.Lock()
			for j, k := range dest.keys {
				dest.latest[k] = first + uint64(j)
			}
			dest.mu.Unlock()
		}
		dest.recs, dest.keys = dest.recs[:0], dest.keys[:0]
	}
	if len(errs) > 0 {
		// Destinations that did spool will get the retried batch's alerts
		// again; their receivers see a revision twice at worst.
		d.policy.Rollback()
		return errors.Join(errs...)
	}
	d.policy.Commit()
	d.dirty = true
	if time.Since(d.saved) > 5*time.Second {
		d.saveState()
	}
	return nil
}

// saveState writes the dedup history atomically. Failing costs repeated
// alerts after a restart, not alerts: it is logged, not returned.
func (d *Dispatcher) saveState() {
	d.saved = time.Now()
	if !d.dirty {
		return
	}
	path := filepath.Join(d.cfg.SpoolDir, stateFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err == nil {
		err = d.policy.SaveState(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		d.log.Warn("alert dedup state not saved", zap.Error(err))
		return
	}
	d.dirty = false
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	s := Stats{Policy: d.policy.Stats()}
	d.mu.Unlock()
	for _, dest := range d.dests {
		ds := DestinationStats{Name: dest.cfg.Name, Type: dest.cfg.Type, Sent: dest.sent.Load(),
			Pending: dest.sp.Stats().Pending, Failures: dest.failures.Load(), Rejected: dest.rejected.Load(),
			Dropped: dest.dropped.Load() + dest.undecodable.Load(), Superseded: dest.superseded.Load()}
		if e, ok := dest.lastErr.Load().(string); ok {
			ds.LastError = e
		}
		s.Destinations = append(s.Destinations, ds)
	}
	return s
}

// Close stops taking alerts, lets the workers deliver what is spooled
// until ctx ends (what is left stays on disk for the next start), then
// saves the dedup state and closes everything.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	close(d.drain)
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
	}
	d.cancel()
	d.mu.Lock()
	if len(d.dests) > 0 {
		d.saveState()
	}
	d.mu.Unlock()
	return d.closeAll()
}

func (d *Dispatcher) closeAll() error {
	var errs []error
	for _, dest := range d.dests {
		if p := dest.sp.Stats().Pending; p > 0 {
			d.log.Warn("alerts left in the spool for the next start", zap.String("destination", dest.cfg.Name), zap.Uint64("alerts", p))
		}
		errs = append(errs, dest.snd.close(), dest.sp.Close())
	}
	return errors.Join(errs...)
}

// warn logs at most once a minute per destination: no per-alert logs.
func (dest *destination) warn(msg string, fields ...zap.Field) {
	now, prev := time.Now().UnixNano(), dest.lastLog.Load()
	if now-prev < int64(time.Minute) || !dest.lastLog.CompareAndSwap(prev, now) {
		return
	}
	dest.log.Warn(msg, fields...)
}

// run delivers the spool in order until ctx ends, or until drain is
// closed and the spool is empty.
func (dest *destination) run(ctx context.Context, drain <-chan struct{}) {
	backoff := dest.cfg.RetryMin
	single := false // after a rejected batch: one alert at a time, to find the bad one
	batch := make([]*alert.Alert, 0, dest.cfg.BatchSize)
	seqs := make([]uint64, 0, dest.cfg.BatchSize)
	var skipped []uint64 // superseded entries of the batch, counted once acknowledged
	for ctx.Err() == nil {
		n := dest.cfg.BatchSize
		if single {
			n = 1
		}
		es, err := dest.sp.Peek(n, 4<<20)
		if err != nil {
			dest.fail(err)
			sleep(ctx, backoff)
			continue
		}
		if len(es) == 0 {
			select {
			case <-drain:
				return
			default:
			}
			select {
			case <-dest.sp.Ready():
			case <-drain:
			case <-ctx.Done():
				return
			}
			continue
		}
		batch, seqs, skipped = batch[:0], seqs[:0], skipped[:0]
		dest.mu.Lock()
		for _, e := range es {
			a := new(alert.Alert)
			if err := json.Unmarshal(e.Data, a); err != nil {
				dest.undecodable.Add(1)
				continue
			}
			if s := dest.latest[a.DedupKey]; s > e.Seq {
				skipped = append(skipped, e.Seq)
				continue
			}
			batch = append(batch, a)
			seqs = append(seqs, e.Seq)
		}
		dest.mu.Unlock()
		last := es[len(es)-1].Seq
		if len(batch) == 0 {
			dest.ack(last, nil, skipped)
			continue
		}
		if !dest.lim.wait(ctx, len(batch)) {
			return
		}
		sent, err := dest.snd.send(ctx, batch)
		if sent > 0 {
			dest.sent.Add(uint64(sent))
			upTo := seqs[sent-1]
			if sent == len(batch) {
				upTo = last
			}
			dest.ack(upTo, batch[:sent], skipped)
		}
		switch {
		case err == nil:
			backoff, single = dest.cfg.RetryMin, false
		case isRejected(err) && len(batch)-sent > 1:
			single = true // find which alert the receiver refuses
		case isRejected(err):
			dest.rejected.Add(1)
			dest.fail(err)
			dest.ack(seqs[sent], batch[sent:sent+1], skipped)
			single = false
		default:
			if ctx.Err() != nil {
				return
			}
			dest.fail(err)
			wait := backoff
			var ra retryAfter
			if errors.As(err, &ra) {
				wait = max(wait, ra.after)
			}
			// Jitter spreads several analyzers' retries after a SIEM outage.
			sleep(ctx, wait/2+rand.N(wait/2+1))
			backoff = min(backoff*2, dest.cfg.RetryMax)
		}
	}
}

// ack marks the spool delivered up to seq, counts the superseded entries
// it passes, and forgets the delivered alerts' supersede entries.
func (dest *destination) ack(seq uint64, done []*alert.Alert, skipped []uint64) {
	if err := dest.sp.Ack(seq); err != nil {
		dest.fail(err)
		return
	}
	for _, s := range skipped {
		if s <= seq {
			dest.superseded.Add(1)
		}
	}
	dest.mu.Lock()
	for _, a := range done {
		if dest.latest[a.DedupKey] <= seq {
			delete(dest.latest, a.DedupKey)
		}
	}
	dest.mu.Unlock()
}

func (dest *destination) fail(err error) {
	dest.failures.Add(1)
	dest.lastErr.Store(err.Error())
	dest.warn("alert delivery failed; retrying from the spool", zap.Error(err))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	rate, burst, tokens float64
	at                  time.Time
}

// wait takes n tokens, sleeping for what is missing; false if ctx ended.
func (b *bucket) wait(ctx context.Context, n int) bool {
	now := time.Now()
	if !b.at.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	}
	b.at = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return true
	}
	sleep(ctx, time.Duration(-b.tokens/b.rate*float64(time.Second)))
	return ctx.Err() == nil
}
