// Package analyzer turns the sensor's records into stored results: one row
// per exchange, the endpoint inventory, findings and the sensors' loss. It
// sits behind one boundary, Consume(ctx, []codec.Record) error, which both
// buses call (Kafka's consumer group and the in-memory bus of `apitap run`),
// and writes through Sinks (ClickHouse, the run command's output folder).
//
// Consume is transactional towards its caller: it derives the rows of the
// batch, writes them to every sink, and only then folds the batch into its
// in-memory state. A batch that fails is retried by the caller with the
// same records and yields the same rows, so the caller can acknowledge
// (commit) a batch exactly when Consume returns nil.
package analyzer

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

// Config is the analyzer's configuration (YAML key "analyzer").
type Config struct {
	// MaxEndpoints bounds the inventory kept in memory. Exchanges of
	// endpoints beyond it are still stored (table exchanges) but not
	// tracked; they are counted in Stats.EndpointOverflow. Default 200000.
	MaxEndpoints int `yaml:"max_endpoints"`
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config { return Config{MaxEndpoints: 200000} }

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.MaxEndpoints < 1 {
		return errors.New("analyzer max_endpoints must be >= 1")
	}
	return nil
}

// Settings are the analyzer's non-configuration inputs.
type Settings struct {
	Logger *zap.Logger
	// Sinks receive every batch's rows, in order; all must succeed.
	Sinks []Sink
	// Now stamps row versions; default time.Now.
	Now func() time.Time
	// State, when set, is asked for the stored inventory of a host the
	// first time this analyzer sees it (at start, or after a rebalance
	// gave it the host's partition), so first_seen and the counts carry on
	// from what is stored instead of restarting.
	State StateLoader
}

// StateLoader reads stored inventory rows back.
type StateLoader interface {
	LoadEndpoints(ctx context.Context, hosts []string) ([]EndpointRow, error)
}

// Stats counts the analyzer's work.
type Stats struct {
	Batches          uint64
	Exchanges        uint64
	Losses           uint64 // loss records received
	LostUnits        uint64 // sum of their counts
	Endpoints        uint64 // inventory size
	EndpointOverflow uint64 // exchanges not tracked because the inventory was full
	SinkErrors       uint64
}

type epKey struct{ host, method, endpoint string }

type epState struct {
	first, last                 time.Time
	requests, client4xx, server uint64
}

// Analyzer derives rows from records. Consume may be called from several
// goroutines; batches are processed one at a time.
type Analyzer struct {
	cfg Config
	set Settings

	mu    sync.Mutex
	eps   map[epKey]*epState
	hosts map[string]time.Time // hosts whose stored state was loaded -> last use
	delta map[epKey]*epState   // this batch's contribution, applied on success
	res   Result

	batches, exchanges, losses, lost, overflow, sinkErrs atomic.Uint64
}

// New returns an Analyzer writing to set.Sinks.
func New(cfg Config, set Settings) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if set.Now == nil {
		set.Now = time.Now
	}
	return &Analyzer{cfg: cfg, set: set, eps: map[epKey]*epState{}, delta: map[epKey]*epState{},
		hosts: map[string]time.Time{}}, nil
}

// Consume analyses a batch and stores its rows in every sink. It returns
// nil only when all sinks stored them; then, and only then, the batch
// counts in the analyzer's state (see the package comment).
func (a *Analyzer) Consume(ctx context.Context, recs []codec.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.loadState(ctx, recs); err != nil {
		return err
	}
	a.res.Reset()
	clear(a.delta)
	var nx, nl, lost, over uint64
	tracked := len(a.eps)
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Exchange != nil:
			nx++
			row := exchangeRow(r.Meta, r.Exchange)
			a.res.Exchanges = append(a.res.Exchanges, row)
			k := epKey{row.Host, row.Method, row.Endpoint}
			d := a.delta[k]
			if d == nil {
				if a.eps[k] == nil {
					if tracked >= a.cfg.MaxEndpoints {
						over++
						continue
					}
					tracked++
				}
				d = &epState{first: row.Time, last: row.Time}
				a.delta[k] = d
			}
			d.add(row.Time, row.Status)
		case r.Loss != nil:
			nl++
			lost += r.Loss.Count
			a.res.Losses = append(a.res.Losses, lossRow(r.Meta, r.Loss))
		}
	}
	version := uint64(a.set.Now().UnixNano())
	for k, d := range a.delta {
		merged := *d
		if cur := a.eps[k]; cur != nil {
			merged = *cur
			merged.merge(d)
		}
		a.res.Endpoints = append(a.res.Endpoints, EndpointRow{
			Host: k.host, Method: k.method, Endpoint: k.endpoint, State: "observed",
			FirstSeen: merged.first, LastSeen: merged.last, Requests: merged.requests,
			ClientErrors: merged.client4xx, ServerErrors: merged.server, Version: version,
		})
	}
	for _, s := range a.set.Sinks {
		if err := s.Write(ctx, &a.res); err != nil {
			a.sinkErrs.Add(1)
			return err
		}
	}
	for k, d := range a.delta {
		if cur := a.eps[k]; cur != nil {
			cur.merge(d)
		} else {
			a.eps[k] = d
		}
	}
	clear(a.delta)
	a.batches.Add(1)
	a.exchanges.Add(nx)
	a.losses.Add(nl)
	a.lost.Add(lost)
	a.overflow.Add(over)
	return nil
}

// stateReload is how long a host may go unseen before its stored state is
// read again: another analyzer may have owned its partition meanwhile.
const stateReload = 30 * time.Second

// loadState reads the stored inventory of the batch's hosts that this
// analyzer has not seen recently, and merges it in: counts only grow, so
// the larger count and the wider first/last window win.
func (a *Analyzer) loadState(ctx context.Context, recs []codec.Record) error {
	if a.set.State == nil {
		return nil
	}
	now := a.set.Now()
	var hosts []string
	for i := range recs {
		e := recs[i].Exchange
		if e == nil {
			continue
		}
		h := hostOf(e)
		if t, ok := a.hosts[h]; ok && now.Sub(t) < stateReload {
			a.hosts[h] = now
			continue
		}
		a.hosts[h] = now
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil
	}
	rows, err := a.set.State.LoadEndpoints(ctx, hosts)
	if err != nil {
		for _, h := range hosts {
			delete(a.hosts, h) // load them on the retry
		}
		return err
	}
	for _, r := range rows {
		k := epKey{r.Host, r.Method, r.Endpoint}
		stored := epState{first: r.FirstSeen, last: r.LastSeen, requests: r.Requests,
			client4xx: r.ClientErrors, server: r.ServerErrors}
		cur := a.eps[k]
		if cur == nil {
			if len(a.eps) >= a.cfg.MaxEndpoints {
				continue
			}
			a.eps[k] = &stored
			continue
		}
		if stored.first.Before(cur.first) {
			cur.first = stored.first
		}
		if stored.last.After(cur.last) {
			cur.last = stored.last
		}
		if stored.requests > cur.requests {
			cur.requests, cur.client4xx, cur.server = stored.requests, stored.client4xx, stored.server
		}
	}
	if len(a.hosts) > a.cfg.MaxEndpoints {
		clear(a.hosts) // bounded: at worst hosts are read again
	}
	return nil
}

func hostOf(e *flow.Exchange) string {
	if e.Host != "" {
		return e.Host
	}
	if e.Server.IsValid() {
		return e.Server.Addr().Unmap().String()
	}
	return ""
}

func (s *epState) add(t time.Time, status uint16) {
	if t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	s.requests++
	switch {
	case status >= 500:
		s.server++
	case status >= 400:
		s.client4xx++
	}
}

func (s *epState) merge(d *epState) {
	if d.first.Before(s.first) {
		s.first = d.first
	}
	if d.last.After(s.last) {
		s.last = d.last
	}
	s.requests += d.requests
	s.client4xx += d.client4xx
	s.server += d.server
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats {
	a.mu.Lock()
	n := len(a.eps)
	a.mu.Unlock()
	return Stats{Batches: a.batches.Load(), Exchanges: a.exchanges.Load(), Losses: a.losses.Load(),
		LostUnits: a.lost.Load(), Endpoints: uint64(n), EndpointOverflow: a.overflow.Load(),
		SinkErrors: a.sinkErrs.Load()}
}

func exchangeRow(m codec.Meta, e *flow.Exchange) ExchangeRow {
	r := ExchangeRow{
		Time: e.Start, SensorID: m.SensorID, Sequence: m.Sequence,
		ClientPort: e.Client.Port(), ServerPort: e.Server.Port(),
		VLAN: e.Outer.VLAN, VNI: e.Outer.VNI,
		Host: e.Host, Method: e.Method, Endpoint: Template(e.PathDecoded),
		QueryKeys: queryKeys(e.Query), Status: uint16(min(max(e.Status, 0), 65535)),
		RequestBytes: uint64(max(e.Request.WireBytes, 0)), ResponseBytes: uint64(max(e.Response.WireBytes, 0)),
		RequestType: e.Request.ContentType, ResponseType: e.Response.ContentType,
		Flags: e.Flags.Names(),
	}
	if r.Time.IsZero() {
		r.Time = e.End // a response whose request was never seen
	}
	if e.Client.IsValid() {
		r.ClientIP = e.Client.Addr().Unmap().String()
	}
	if e.Server.IsValid() {
		r.ServerIP = e.Server.Addr().Unmap().String()
	}
	r.Host = hostOf(e)
	if !e.Start.IsZero() && e.End.After(e.Start) {
		r.LatencyMicros = uint32(min(e.End.Sub(e.Start).Microseconds(), 1<<32-1))
	}
	for _, c := range e.Credentials {
		if c.Location == "cookie" && c.Scheme == "cookie" && len(e.Credentials) > 1 {
			continue // prefer an Authorization header or API key over a cookie
		}
		r.Principal, r.PrincipalType = c.Fingerprint, c.Scheme
		break
	}
	return r
}

// queryKeys returns the parameter names of a raw query, decoded, in order,
// without values (values may carry secrets or personal data).
func queryKeys(q string) []string {
	if q == "" {
		return nil
	}
	var keys []string
	for part := range strings.SplitSeq(q, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k == "" {
			continue
		}
		if d, err := url.QueryUnescape(k); err == nil {
			k = d
		}
		keys = append(keys, k)
	}
	return keys
}

func lossRow(m codec.Meta, l *flow.Loss) LossRow {
	return LossRow{SensorID: m.SensorID, Sequence: m.Sequence, Stage: string(l.Stage), Reason: l.Reason,
		Unit: l.Unit, Count: l.Count, WindowStart: l.First, WindowEnd: l.Last}
}
