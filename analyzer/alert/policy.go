package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apitap/apitap/analyzer"
)

// PolicyConfig decides which findings are alerts and how often one episode
// is repeated. Times are capture time (the findings' last_seen), so a
// replayed capture raises the same alerts as the live traffic did.
type PolicyConfig struct {
	// MinSeverity is the lowest severity that alerts. Default medium.
	MinSeverity string `yaml:"min_severity"`
	// MinConfidence is the lowest confidence that alerts (findings that
	// carry none count as confirmed). Default likely.
	MinConfidence string `yaml:"min_confidence"`
	// Rules override the floors per kind and type; the first rule that
	// matches a finding applies. Default none.
	Rules []Rule `yaml:"rules"`
	// Suppress is how long an alert is not repeated for the same dedup
	// key: within it, only a higher severity sends an update; after it, new
	// evidence sends one. Default 1h.
	Suppress time.Duration `yaml:"suppress"`
	// Expire forgets a dedup key with no finding for this long: the next
	// finding is a new alert with a new id. Default 24h.
	Expire time.Duration `yaml:"expire"`
	// MaxKeys bounds the dedup keys remembered; past it the least recently
	// seen are forgotten (counted as evicted). Default 100000.
	MaxKeys int `yaml:"max_keys"`
}

// Rule sets the floors of the findings of one kind (and type).
type Rule struct {
	// Kind is the finding kind: shadow_endpoint, zombie_endpoint, pii,
	// exposure, anomaly. Required.
	Kind string `yaml:"kind"`
	// Type narrows the rule to one type (e.g. recon); empty: every type.
	Type string `yaml:"type"`
	// MinSeverity and MinConfidence replace the global floors; empty keeps
	// the global one.
	MinSeverity   string `yaml:"min_severity"`
	MinConfidence string `yaml:"min_confidence"`
	// Disabled: findings matching the rule never alert. Default false.
	Disabled bool `yaml:"disabled"`
}

// Kinds of findings the analyzer produces.
var Kinds = []string{"shadow_endpoint", "zombie_endpoint", "pii", "exposure", "anomaly"}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() PolicyConfig {
	return PolicyConfig{MinSeverity: "medium", MinConfidence: "likely", Suppress: time.Hour, Expire: 24 * time.Hour, MaxKeys: 100_000}
}

// Validate checks the knobs.
func (c *PolicyConfig) Validate() error {
	var errs []error
	if SeverityLevel(c.MinSeverity) < 0 {
		errs = append(errs, fmt.Errorf("alerts.min_severity %q: want info, low, medium, high or critical", c.MinSeverity))
	}
	if c.MinConfidence == "" || ConfidenceLevel(c.MinConfidence) < 0 {
		errs = append(errs, fmt.Errorf("alerts.min_confidence %q: want possible, likely or confirmed", c.MinConfidence))
	}
	for i, r := range c.Rules {
		if !slices.Contains(Kinds, r.Kind) {
			errs = append(errs, fmt.Errorf("alerts.rules[%d].kind %q: want one of %v", i, r.Kind, Kinds))
		}
		if r.MinSeverity != "" && SeverityLevel(r.MinSeverity) < 0 {
			errs = append(errs, fmt.Errorf("alerts.rules[%d].min_severity %q: want info, low, medium, high or critical", i, r.MinSeverity))
		}
		if r.MinConfidence != "" && ConfidenceLevel(r.MinConfidence) < 0 {
			errs = append(errs, fmt.Errorf("alerts.rules[%d].min_confidence %q: want possible, likely or confirmed", i, r.MinConfidence))
		}
	}
	if c.Suppress < 0 || c.Expire <= 0 || c.Expire < c.Suppress {
		errs = append(errs, errors.New("alerts.suppress must be >= 0 and alerts.expire > 0 and >= suppress"))
	}
	if c.MaxKeys <= 0 {
		errs = append(errs, errors.New("alerts.max_keys must be > 0"))
	}
	return errors.Join(errs...)
}

// PolicyStats counts the policy's decisions.
type PolicyStats struct {
	Findings   uint64 `json:"findings"`    // findings seen
	BelowFloor uint64 `json:"below_floor"` // not alerts: severity or confidence under the floor, or a disabled rule
	New        uint64 `json:"new"`         // first alerts of a dedup key
	Updates    uint64 `json:"updates"`     // later revisions
	Suppressed uint64 `json:"suppressed"`  // repeats inside the suppression window, or with nothing new
	Evicted    uint64 `json:"evicted"`     // dedup keys forgotten at max_keys
	Keys       int    `json:"keys"`        // dedup keys remembered now
}

// Policy turns findings into alerts. It is not safe for concurrent use.
type Policy struct {
	cfg    PolicyConfig
	minSev int
	minCon int
	keys   map[string]*episode
	stats  PolicyStats
	// journal holds the episodes as they were before the decisions since
	// Begin, so Rollback can undo a batch whose alerts were not stored.
	journal   []undo
	recording bool
}

type undo struct {
	key  string
	prev *episode // nil: the key was new
}

// Begin starts recording the decisions that follow, for Commit or
// Rollback.
func (p *Policy) Begin() { p.journal, p.recording = p.journal[:0], true }

// Commit keeps the decisions since Begin.
func (p *Policy) Commit() { p.journal, p.recording = p.journal[:0], false }

// Rollback forgets the decisions since Begin: the same findings decide the
// same way again (the caller failed to store their alerts and will retry).
func (p *Policy) Rollback() {
	for i := len(p.journal) - 1; i >= 0; i-- {
		u := p.journal[i]
		if u.prev == nil {
			delete(p.keys, u.key)
		} else {
			p.keys[u.key] = u.prev
		}
	}
	p.Commit()
}

// remember journals key's episode before a change.
func (p *Policy) remember(key string, ep *episode) {
	if !p.recording {
		return
	}
	var prev *episode
	if ep != nil {
		c := *ep
		prev = &c
	}
	p.journal = append(p.journal, undo{key, prev})
}

// episode is what the policy remembers of one dedup key. Exported fields:
// it is saved (SaveState) so a restart neither repeats nor renames alerts.
type episode struct {
	ID       string    `json:"id"`
	Revision uint32    `json:"rev"`
	Severity int       `json:"sev"`
	SentAt   time.Time `json:"sent"`  // last_seen of the finding last sent
	Count    uint64    `json:"count"` // its count
	Seen     time.Time `json:"seen"`  // latest last_seen of any finding of the key
}

// NewPolicy validates cfg and returns a policy with no history.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Policy{cfg: cfg, minSev: SeverityLevel(cfg.MinSeverity), minCon: ConfidenceLevel(cfg.MinConfidence),
		keys: make(map[string]*episode)}, nil
}

// floors returns the severity and confidence floors for a finding, and
// false when a rule disables it.
func (p *Policy) floors(kind, typ string) (int, int, bool) {
	for _, r := range p.cfg.Rules {
		if r.Kind != kind || (r.Type != "" && r.Type != typ) {
			continue
		}
		if r.Disabled {
			return 0, 0, false
		}
		sev, con := p.minSev, p.minCon
		if r.MinSeverity != "" {
			sev = SeverityLevel(r.MinSeverity)
		}
		if r.MinConfidence != "" {
			con = ConfidenceLevel(r.MinConfidence)
		}
		return sev, con, true
	}
	return p.minSev, p.minCon, true
}

// DedupKey is the hex key of (kind, type, host, endpoint — method and
// template —, client, principal): one episode of one actor on one
// endpoint. Only anomalies are about an actor: the other kinds describe the
// endpoint itself (a shadow endpoint names a sample client, which varies
// from run to run), so their key leaves client and principal out.
func DedupKey(f *analyzer.FindingRow) string {
	client, principal := "", ""
	if f.Kind == "anomaly" {
		client, principal = f.ClientIP, f.Principal
	}
	h := sha256.New()
	for _, s := range [...]string{f.Kind, f.Type, f.Host, f.Method, f.Endpoint, client, principal} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// alertID names an episode: the key and its first evidence, so a replay
// of the same capture without saved state names it the same.
func alertID(key string, first time.Time) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", key, first.UnixNano()))
	return hex.EncodeToString(sum[:12])
}

// Decide returns the alert finding f raises, and false when f is not an
// alert (under the floors) or repeats one already sent. now stamps the
// alert's Time.
func (p *Policy) Decide(f *analyzer.FindingRow, now time.Time) (Alert, bool) {
	p.stats.Findings++
	sev, con := SeverityLevel(f.Severity), ConfidenceLevel(f.Confidence)
	minSev, minCon, on := p.floors(f.Kind, f.Type)
	if !on || sev < minSev || con < minCon {
		p.stats.BelowFloor++
		return Alert{}, false
	}
	key := DedupKey(f)
	seen := f.LastSeen
	if seen.IsZero() {
		seen = f.Time
	}
	ep := p.keys[key]
	p.remember(key, ep)
	var ended time.Time
	if ep != nil && seen.Sub(ep.Seen) > p.cfg.Expire {
		ended, ep = ep.Seen, nil // the episode ended long ago: this is a new one
	}
	action := "update"
	switch {
	case ep == nil:
		first := f.FirstSeen
		if first.IsZero() || !first.After(ended) {
			first = seen // a long-lived finding's new episode starts now
		}
		ep = &episode{ID: alertID(key, first)}
		p.keys[key] = ep
		p.evict()
		action = "new"
		p.stats.New++
	case sev > ep.Severity:
		p.stats.Updates++
	case seen.Sub(ep.SentAt) >= p.cfg.Suppress && (f.Count > ep.Count || seen.After(ep.SentAt)):
		p.stats.Updates++
	default:
		if seen.After(ep.Seen) {
			ep.Seen = seen
		}
		p.stats.Suppressed++
		return Alert{}, false
	}
	ep.Revision++
	ep.Severity = max(ep.Severity, sev)
	ep.SentAt, ep.Count = seen, f.Count
	if seen.After(ep.Seen) {
		ep.Seen = seen
	}
	a := Alert{ID: ep.ID, DedupKey: key, Action: action, Revision: ep.Revision, Time: now.UTC(),
		FindingID: f.ID, Kind: f.Kind, Type: f.Type, Severity: f.Severity, Confidence: f.Confidence,
		Host: f.Host, Method: f.Method, Endpoint: f.Endpoint, ClientIP: f.ClientIP, Principal: f.Principal,
		Location: f.Location, Field: f.Field, MaskedSample: f.MaskedSample, Fingerprint: f.Fingerprint,
		Count: f.Count, FirstSeen: f.FirstSeen.UTC(), LastSeen: seen.UTC(), Summary: f.Summary}
	if f.Evidence != "" && json.Valid([]byte(f.Evidence)) {
		a.Evidence = json.RawMessage(f.Evidence)
	}
	return a, true
}

// evict forgets the least recently seen tenth of the keys once there are
// more than MaxKeys: an O(n) sweep, amortised over n/10 new keys.
func (p *Policy) evict() {
	if len(p.keys) <= p.cfg.MaxKeys {
		return
	}
	type ks struct {
		k string
		t time.Time
	}
	all := make([]ks, 0, len(p.keys))
	for k, e := range p.keys {
		all = append(all, ks{k, e.Seen})
	}
	slices.SortFunc(all, func(a, b ks) int { return a.t.Compare(b.t) })
	n := len(p.keys) - p.cfg.MaxKeys + p.cfg.MaxKeys/10
	for _, e := range all[:min(n, len(all))] {
		p.remember(e.k, p.keys[e.k])
		delete(p.keys, e.k)
		p.stats.Evicted++
	}
}

// Stats returns the counters.
func (p *Policy) Stats() PolicyStats {
	s := p.stats
	s.Keys = len(p.keys)
	return s
}

// stateVersion guards SaveState's format.
const stateVersion = 1

type savedState struct {
	Version int                 `json:"version"`
	Keys    map[string]*episode `json:"keys"`
}

// SaveState writes the dedup history, so a restarted analyzer does not
// repeat the alerts it sent (its replayed findings are suppressed).
func (p *Policy) SaveState(w io.Writer) error {
	return json.NewEncoder(w).Encode(savedState{Version: stateVersion, Keys: p.keys})
}

// LoadState replaces the history with a saved one. A state of another
// version is an error (the caller starts with none: at worst alerts are
// repeated once).
func (p *Policy) LoadState(r io.Reader) error {
	var s savedState
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("alert state: %w", err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("alert state: version %d, want %d", s.Version, stateVersion)
	}
	p.keys = make(map[string]*episode, len(s.Keys))
	for k, e := range s.Keys {
		if e != nil {
			p.keys[k] = e
		}
	}
	p.evict()
	return nil
}
