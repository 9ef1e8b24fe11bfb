package exposure

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"sync"
	"time"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/exchange"
)

// Config is the sensitive-data configuration (YAML key
// "analyzer.sensitive"; docs/sensitive-data.md).
type Config struct {
	// Enabled turns scanning on. Default true.
	Enabled bool `yaml:"enabled"`
	// Detect selects the detectors: disabled types, the lowest tier kept,
	// country IDs, custom detectors (docs/pii.md). Default: every built-in
	// type, every tier.
	Detect pii.Config `yaml:"detect"`
	// FingerprintKey keys the findings' HMAC-SHA256 fingerprints ("hex:…",
	// "base64:…", "env:NAME", "file:PATH"). Default: a random key per
	// process, so fingerprints match within one run only; configure one
	// (≥ 16 random bytes, kept out of the findings store) to correlate
	// values across restarts and analyzers.
	FingerprintKey exchange.Key `yaml:"fingerprint_key"`
	// CookieValues scans cookie values too. Default false: cookies are
	// session state; the inventory keeps their names.
	CookieValues bool `yaml:"cookie_values"`
	// CleartextCredentials reports credentials (Authorization, API keys,
	// password fields) sent over plain HTTP, unless the request says a
	// TLS-terminating proxy received it (X-Forwarded-Proto: https, …).
	// Default true.
	CleartextCredentials bool `yaml:"cleartext_credentials"`
	// VerboseErrors reports stack traces, SQL errors and debug pages in
	// responses (docs/verbose-errors.md). Default true.
	VerboseErrors bool `yaml:"verbose_errors"`
	// BulkValues is how many values of one sensitive field in one response
	// make a bulk exposure (severity raised one level). Default 50.
	BulkValues int `yaml:"bulk_values"`
	// NoiseShare: a field where fewer than this share of its values match
	// (after NoiseMinValues values) is noise, e.g. one order number in a
	// thousand passing Luhn; its confidence drops to possible. Default 0.01.
	NoiseShare float64 `yaml:"noise_share"`
	// NoiseMinValues is how many values a field needs before NoiseShare
	// applies. Default 100.
	NoiseMinValues int `yaml:"noise_min_values"`
	// AlertConfidence is the lowest field confidence whose findings are
	// marked for alerting (alert=true). Default likely.
	AlertConfidence string `yaml:"alert_confidence"`
	// ReportEvery is how much capture time passes between two updates of
	// a finding that keeps counting (a new field, a new tier or a bulk
	// exposure is written at once). Default 1m.
	ReportEvery time.Duration `yaml:"report_every"`
	// MaxFieldsPerEndpoint bounds the fields kept per endpoint. Default 256.
	MaxFieldsPerEndpoint int `yaml:"max_fields_per_endpoint"`
	// MaxFields bounds the fields kept in all. Default 100000 (about
	// 300 bytes each).
	MaxFields int `yaml:"max_fields"`
	// MaxHitsPerMessage bounds the distinct (location, field, type) kept
	// from one exchange. Default 64.
	MaxHitsPerMessage int `yaml:"max_hits_per_message"`
	// MaxLeaves bounds the leaves walked per body. Default 10000.
	MaxLeaves int `yaml:"max_leaves"`
	// Workers is how many goroutines scan a batch. Default 0: GOMAXPROCS.
	Workers int `yaml:"workers"`
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{Enabled: true, CleartextCredentials: true, VerboseErrors: true, BulkValues: 50,
		NoiseShare: 0.01, NoiseMinValues: 100, AlertConfidence: "likely", ReportEvery: time.Minute,
		MaxFieldsPerEndpoint: 256, MaxFields: 100000, MaxHitsPerMessage: 64, MaxLeaves: 10000}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if _, err := pii.New(c.Detect); err != nil {
		errs = append(errs, fmt.Errorf("sensitive.detect: %w", err))
	}
	if _, ok := pii.ParseConfidence(c.AlertConfidence); !ok {
		errs = append(errs, fmt.Errorf("sensitive.alert_confidence %q: want possible, likely or confirmed", c.AlertConfidence))
	}
	if n := len(c.FingerprintKey); n > 0 && n < 16 {
		errs = append(errs, fmt.Errorf("sensitive.fingerprint_key: at least 16 bytes (got %d)", n))
	}
	if c.NoiseShare < 0 || c.NoiseShare >= 1 {
		errs = append(errs, errors.New("sensitive.noise_share must be in [0, 1)"))
	}
	for name, v := range map[string]int{"bulk_values": c.BulkValues, "noise_min_values": c.NoiseMinValues,
		"max_fields_per_endpoint": c.MaxFieldsPerEndpoint, "max_fields": c.MaxFields,
		"max_hits_per_message": c.MaxHitsPerMessage, "max_leaves": c.MaxLeaves} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("sensitive.%s must be >= 1", name))
		}
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("sensitive.workers must be >= 0"))
	}
	if c.ReportEvery < 0 {
		errs = append(errs, errors.New("sensitive.report_every must be >= 0"))
	}
	return errors.Join(errs...)
}

// Engine scans batches of exchanges with a few goroutines and creates
// the Profiles that aggregate their hits. It is the one place that holds
// the detector and the fingerprint key.
type Engine struct {
	cfg      Config
	det      *pii.Detector
	alertMin pii.Confidence
	scanners []*Scanner
	seed     maphash.Seed // path hashes (Watch)
	budget   int          // fields left under MaxFields
	overflow uint64
}

// NewEngine validates cfg and builds an Engine.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	det, err := pii.New(cfg.Detect)
	if err != nil {
		return nil, err
	}
	key := []byte(cfg.FingerprintKey)
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	fpr := pii.NewFingerprinter(key)
	w := cfg.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	en := &Engine{cfg: cfg, det: det, budget: cfg.MaxFields, seed: maphash.MakeSeed()}
	en.alertMin, _ = pii.ParseConfidence(cfg.AlertConfidence)
	for range w {
		en.scanners = append(en.scanners, newScanner(&en.cfg, det, fpr, en.seed))
	}
	return en, nil
}

// Item is one exchange to scan; Scan fills Hits (valid until the next
// Scan).
type Item struct {
	Exchange *flow.Exchange
	Template string
	Watch    []Watch // the endpoint profile's Watch(); may be nil
	// Skip: do not scan this exchange for sensitive data (it is not an
	// inventory endpoint, or scanning is off); the hook still runs.
	Skip bool
	// Index is the caller's (the hook's key into its own results).
	Index int
	Hits  []Hit
}

// Hook is more per-exchange work run on the scanning goroutines (the
// analyzer's injection scan): worker is the goroutine's index, below
// Workers(), so a hook can keep per-worker scratch.
type Hook func(worker int, it *Item)

// Workers is the number of goroutines Scan uses.
func (en *Engine) Workers() int { return len(en.scanners) }

// minParallel is the batch size below which one goroutine scans it all:
// starting workers costs more than it saves on a handful of exchanges.
const minParallel = 64

// Scan scans every item, splitting the batch across the workers, and
// runs hook (may be nil) on each.
func (en *Engine) Scan(items []Item, hook Hook) {
	w := len(en.scanners)
	if w == 1 || len(items) < minParallel {
		en.scanRange(0, items, hook)
		return
	}
	var wg sync.WaitGroup
	chunk := (len(items) + w - 1) / w
	for i := range en.scanners {
		lo := i * chunk
		if lo >= len(items) {
			break
		}
		hi := min(lo+chunk, len(items))
		wg.Go(func() { en.scanRange(i, items[lo:hi], hook) })
	}
	wg.Wait()
}

// scanRange scans items with scanner w; each item's hits are copied out
// of the scanner's scratch into one arena per range.
func (en *Engine) scanRange(w int, items []Item, hook Hook) {
	s := en.scanners[w]
	arena := s.arena[:0]
	spans := s.spans[:0]
	for i := range items {
		lo := len(arena)
		if !items[i].Skip && en.cfg.Enabled {
			arena = append(arena, s.Scan(items[i].Exchange, items[i].Template, items[i].Watch)...)
		}
		spans = append(spans, [2]int{lo, len(arena)})
		if hook != nil {
			hook(w, &items[i])
		}
	}
	for i := range items {
		sp := spans[i]
		items[i].Hits = arena[sp[0]:sp[1]:sp[1]]
	}
	s.arena, s.spans = arena, spans
}

// Stats sums the scanners' counters; call it when no Scan runs.
func (en *Engine) Stats() Stats {
	var st Stats
	for _, s := range en.scanners {
		st.Messages += s.st.Messages
		st.Leaves += s.st.Leaves
		st.Bytes += s.st.Bytes
		st.WalkErrors += s.st.WalkErrors
		st.HitsCapped += s.st.HitsCapped
	}
	st.FieldsOverflow = en.overflow
	st.Fields = uint64(en.cfg.MaxFields - en.budget)
	return st
}

// Stats counts the engine's work and its bounds.
type Stats struct {
	ScanStats
	Fields         uint64 // fields kept
	FieldsOverflow uint64 // fields not kept: MaxFields or MaxFieldsPerEndpoint reached
}
