// Package analyzer turns the sensor's records into stored results: one row
// per exchange, the endpoint inventory, findings and the sensors' loss. It
// sits behind one boundary, Consume(ctx, []codec.Record) error, which both
// buses call (Kafka's consumer group and the in-memory bus of `apitap run`),
// and writes through Sinks (ClickHouse, the run command's output folder).
//
// Consume is transactional towards its caller: it derives the rows of the
// batch (folding the batch into its in-memory state once) and writes them
// to every sink. A batch that fails is retried by the caller with the same
// records and yields the same rows, so the caller can acknowledge (commit)
// a batch exactly when Consume returns nil. Consume is also available in two
// halves, Prepare and Store, so that a caller can analyse the next batch
// while the previous one is being stored (kafka.RunStaged).
package analyzer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer/anomaly"
	"github.com/apitap/apitap/analyzer/exposure"
	"github.com/apitap/apitap/analyzer/inventory"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/freelist"
	"github.com/apitap/apitap/schema/codec"
	"github.com/apitap/apitap/sensor/exchange"
)

// Config is the analyzer's configuration (YAML key "analyzer").
type Config struct {
	// Inventory configures endpoint discovery, templating and the specs
	// (docs/inventory.md).
	Inventory inventory.Config `yaml:"inventory"`
	// CanonicalizeEvery is how many batches pass between two foldings of
	// inventory entries into the templates learned since (see
	// inventory.Canonicalize). Default 16.
	CanonicalizeEvery int `yaml:"canonicalize_every"`
	// Sensitive configures PII, secret and data-exposure detection
	// (docs/sensitive-data.md).
	Sensitive exposure.Config `yaml:"sensitive"`
	// Anomaly configures anomalous-access detection (docs/anomaly.md).
	Anomaly anomaly.Config `yaml:"anomaly"`
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{Inventory: inventory.DefaultConfig(), CanonicalizeEvery: 16, Sensitive: exposure.DefaultConfig(),
		Anomaly: anomaly.DefaultConfig()}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if err := c.Inventory.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Sensitive.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Anomaly.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.CanonicalizeEvery < 1 {
		errs = append(errs, errors.New("analyzer canonicalize_every must be >= 1"))
	}
	return errors.Join(errs...)
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
	// gave it the host's partition), so the inventory carries on from what
	// is stored instead of restarting.
	State StateLoader
}

// StateLoader reads stored inventory rows back.
type StateLoader interface {
	LoadEndpoints(ctx context.Context, hosts []string) ([]EndpointRow, error)
}

// Stats counts the analyzer's work.
type Stats struct {
	Batches     uint64
	Exchanges   uint64
	Losses      uint64 // loss records received
	LostUnits   uint64 // sum of their counts
	Replays     uint64 // batches handed again after a sink failed
	SinkErrors  uint64
	StateErrors uint64 // stored inventory states that could not be read
	Inventory   inventory.Stats
	Sensitive   exposure.Stats
	Anomaly     anomaly.Stats
}

// batchID recognises the retry of a batch: same length, same first and
// last record.
type batchID struct {
	n           int
	first, last codec.Meta
}

// Batch is a batch of records analysed by Prepare: the rows it yields,
// waiting for Store. The analyzer recycles it once stored.
type Batch struct {
	res    Result
	id     batchID
	failed bool // a Store of it failed
}

// Rows are the batch's rows. They belong to the batch: read, do not keep.
func (b *Batch) Rows() *Result { return &b.res }

// Analyzer derives rows from records. Its methods may be called from
// several goroutines: Prepare (and Consume, Flush's analysis) process one
// batch at a time, in call order; Store writes one batch at a time, and
// may run while the next batch is prepared.
type Analyzer struct {
	cfg Config
	set Settings

	mu     sync.Mutex // the analysis state below
	inv    *inventory.Inventory
	exp    *exposure.Engine // scans exchanges on all cores; nil when no detection is on
	det    *anomaly.Detector
	idn    *anomaly.Identity
	feat   features
	items  []exposure.Item
	keys   []inventory.Key
	hosts  map[string]time.Time // hosts whose stored state was loaded -> last use
	rows   rowStrings
	batchN int

	wmu     sync.Mutex // the sinks: one Store at a time
	results []*Result  // Store's scratch

	cmu   sync.Mutex // Consume
	retry *Batch     // Consume: the batch whose Store failed, for its retry

	fmu  sync.Mutex // the recycled batches
	free freelist.List[Batch]

	batches, exchanges, losses, lost, replays, sinkErrs, stateErrs atomic.Uint64
}

// maxFreeBatches bounds the recycled batches kept between uses. A pipeline
// has at least two in use (one stored, one prepared); more, when one Store
// gets several, are allocated and dropped again.
const maxFreeBatches = 2

func (a *Analyzer) newBatch() *Batch {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	return a.free.Get()
}

// recycle keeps b's row slices for a later batch, without what they point
// to (the records' memory).
func (a *Analyzer) recycle(b *Batch) {
	r := &b.res
	clear(r.Exchanges)
	clear(r.Endpoints)
	clear(r.Findings)
	clear(r.Losses)
	r.Reset()
	*b = Batch{res: *r}
	a.fmu.Lock()
	defer a.fmu.Unlock()
	a.free.Put(b)
}

// New returns an Analyzer writing to set.Sinks. It loads the specs.
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
	inv, err := inventory.New(cfg.Inventory)
	if err != nil {
		return nil, err
	}
	// One fingerprint key for PII values and JWT subjects; random per
	// process unless configured (sensitive.fingerprint_key).
	if len(cfg.Sensitive.FingerprintKey) == 0 {
		cfg.Sensitive.FingerprintKey = make(exchange.Key, 32)
		_, _ = rand.Read(cfg.Sensitive.FingerprintKey)
	}
	var en *exposure.Engine
	if cfg.Sensitive.Enabled || cfg.Anomaly.Enabled {
		if en, err = exposure.NewEngine(cfg.Sensitive); err != nil {
			return nil, err
		}
		if cfg.Sensitive.Enabled {
			inv.UseExposure(en)
		}
	}
	var det *anomaly.Detector
	var idn *anomaly.Identity
	if cfg.Anomaly.Enabled {
		if det, err = anomaly.New(cfg.Anomaly); err != nil {
			return nil, err
		}
		if idn, err = anomaly.NewIdentity(cfg.Anomaly, cfg.Sensitive.FingerprintKey); err != nil {
			return nil, err
		}
		// The detector's per-endpoint baselines live in the endpoint's
		// stored state, so a restart or a rebalance does not start blind.
		inv.UseStateHook(inventory.StateHook{
			Save: func(k inventory.Key) json.RawMessage { return det.SaveEndpoint(k.Host, k.Method, k.Path, k.Operation) },
			Load: func(k inventory.Key, b json.RawMessage) error {
				return det.LoadEndpoint(k.Host, k.Method, k.Path, k.Operation, b)
			},
		})
	}
	for _, sp := range inv.Specs() {
		set.Logger.Info("spec loaded", zap.String("file", sp.File), zap.String("title", sp.Title),
			zap.Int("operations", len(sp.Operations)), zap.Strings("hosts", sp.Hosts), zap.Int("warnings", len(sp.Warnings)))
	}
	a := &Analyzer{cfg: cfg, set: set, inv: inv, exp: en, det: det, idn: idn, hosts: map[string]time.Time{}, rows: newRowStrings(),
		free: freelist.New[Batch](maxFreeBatches)}
	if en != nil {
		a.feat = newFeatures(en.Workers())
	}
	return a, nil
}

// Inventory returns the analyzer's inventory. It is owned by Consume: read
// it only when no Consume runs (after the bus is drained).
func (a *Analyzer) Inventory() *inventory.Inventory { return a.inv }

// Consume analyses a batch and stores its rows in every sink: Prepare then
// Store. It returns nil only when all sinks stored them. The inventory takes
// the batch in once: a retry of the same batch (after a sink failed) writes
// the rows built the first time again, without counting the batch twice.
func (a *Analyzer) Consume(ctx context.Context, recs []codec.Record) error {
	a.cmu.Lock()
	defer a.cmu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	b := a.retry
	a.retry = nil
	if b == nil || b.id != idOf(recs) {
		var err error
		if b, err = a.Prepare(ctx, recs); err != nil {
			return err
		}
	}
	if err := a.Store(ctx, []*Batch{b}); err != nil {
		a.retry = b
		return err
	}
	return nil
}

func idOf(recs []codec.Record) batchID {
	return batchID{n: len(recs), first: recs[0].Meta, last: recs[len(recs)-1].Meta}
}

// Prepare analyses a batch: it folds the records into the inventory, the
// sensitive-data profiles and the anomaly detector, and returns the rows
// to store, for Store. It changes nothing when it fails (reading the
// stored state of new hosts; the caller retries it). The batch's rows
// hold strings of their own, not the records' memory: the records can go
// as soon as Prepare returned. Prepare may run while Store writes earlier
// batches. Calling Prepare again with the same records analyses them again
// (counts them twice); retry Store instead.
func (a *Analyzer) Prepare(ctx context.Context, recs []codec.Record) (*Batch, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.loadState(ctx, recs); err != nil {
		return nil, err
	}
	b := a.newBatch()
	b.id = idOf(recs)
	res := &b.res
	if cap(res.Exchanges) < len(recs) {
		res.Exchanges = make([]ExchangeRow, 0, len(recs))
	}
	a.items, a.keys = a.items[:0], a.keys[:0]
	var nx, nl, lost uint64
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Exchange != nil:
			nx++
			e := r.Exchange
			c := a.inv.Classify(e)
			res.Exchanges = append(res.Exchanges, ExchangeRow{})
			row := &res.Exchanges[len(res.Exchanges)-1]
			a.rows.exchangeRow(row, r.Meta, e, c.Host, c.Path)
			client := row.Principal
			if client == "" {
				client = row.ClientIP
			}
			a.inv.Learn(e)
			ep := a.inv.Add(c, e, client)
			if a.exp != nil {
				// Every exchange feeds anomaly detection (probes of missing
				// paths too); only inventory endpoints get profiles.
				profiled := a.cfg.Sensitive.Enabled && ep != nil
				it := exposure.Item{Exchange: e, Template: c.Path, Skip: !profiled, Index: len(a.items)}
				if profiled {
					it.Watch = ep.Watch()
				}
				a.items = append(a.items, it)
				a.keys = append(a.keys, c.Key)
			}
		case r.Loss != nil:
			nl++
			lost += r.Loss.Count
			res.Losses = append(res.Losses, a.rows.lossRow(r.Meta, r.Loss))
			a.inv.Blind(r.Loss.First, r.Loss.Last)
		}
	}
	if len(a.items) > 0 {
		// Scanning is the costly part and reads only the exchange: it runs
		// on every core; the profiles and the detector then take the
		// results in record order.
		var hook exposure.Hook
		if a.det != nil {
			a.feat.prepare(len(a.items))
			hook = a.feat.hook(a.det)
		}
		a.exp.Scan(a.items, hook)
		for i := range a.items {
			it := &a.items[i]
			if !it.Skip {
				a.inv.Expose(a.keys[i], it.Hits, inventory.Time(it.Exchange))
			}
			if a.det != nil {
				a.observe(i)
			}
			*it = exposure.Item{} // do not keep the exchange
		}
	}
	a.batchN++
	version := uint64(a.set.Now().UnixNano())
	if a.batchN%a.cfg.CanonicalizeEvery == 0 {
		for _, k := range a.inv.Canonicalize() {
			res.Endpoints = append(res.Endpoints, EndpointRow{Host: k.Host, Method: k.Method, Endpoint: k.Path,
				Operation: k.Operation, Port: k.Port, State: inventory.Merged, Version: version})
		}
	}
	for _, e := range a.inv.Dirty() {
		res.Endpoints = append(res.Endpoints, endpointRow(e, version))
		if f, ok := inventory.FindingOf(e); ok {
			res.Findings = append(res.Findings, findingRow(f, version))
		}
		for _, f := range e.Exposures(true) {
			res.Findings = append(res.Findings, exposureRow(&f, version))
		}
	}
	if a.det != nil {
		for _, f := range a.det.Findings(true) {
			res.Findings = append(res.Findings, anomalyRow(&f, version))
		}
	}
	a.batches.Add(1)
	a.exchanges.Add(nx)
	a.losses.Add(nl)
	a.lost.Add(lost)
	return b, nil
}

// Store writes prepared batches to every sink, in order, and returns nil
// once all have them; the batches are then recycled and must not be used
// again. A sink that implements MultiSink gets them in one call (one
// insert per table for all of them), any other one batch at a time. On an
// error the batches stay the caller's, to Store again (the same rows:
// sinks store idempotently). Stores run one at a time; Store may run while
// Prepare analyses the next batch.
func (a *Analyzer) Store(ctx context.Context, bs []*Batch) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	rs := a.results[:0]
	for _, b := range bs {
		if b == nil {
			continue
		}
		if b.failed {
			a.replays.Add(1)
		}
		rs = append(rs, &b.res)
	}
	a.results = rs
	defer clear(a.results)
	if len(rs) == 0 {
		return nil
	}
	for _, s := range a.set.Sinks {
		var err error
		if m, ok := s.(MultiSink); ok {
			err = m.WriteAll(ctx, rs)
		} else {
			for _, r := range rs {
				if err = s.Write(ctx, r); err != nil {
					break
				}
			}
		}
		if err != nil {
			a.sinkErrs.Add(1)
			for _, b := range bs {
				if b != nil {
					b.failed = true
				}
			}
			return err
		}
	}
	for _, b := range bs {
		if b != nil {
			a.recycle(b)
		}
	}
	return nil
}

// Flush folds the entries learned since into their current templates and
// stores the inventory's changed rows (the end of a replay). Like Consume,
// it returns nil once every sink has them.
func (a *Analyzer) Flush(ctx context.Context) error {
	a.mu.Lock()
	b := a.newBatch()
	res := &b.res
	version := uint64(a.set.Now().UnixNano())
	for _, k := range a.inv.Canonicalize() {
		res.Endpoints = append(res.Endpoints, EndpointRow{Host: k.Host, Method: k.Method, Endpoint: k.Path,
			Operation: k.Operation, Port: k.Port, State: inventory.Merged, Version: version})
	}
	for _, e := range a.inv.Entries() {
		res.Endpoints = append(res.Endpoints, endpointRow(e, version))
		if f, ok := inventory.FindingOf(e); ok {
			res.Findings = append(res.Findings, findingRow(f, version))
		}
		for _, f := range e.Exposures(true) {
			res.Findings = append(res.Findings, exposureRow(&f, version))
		}
	}
	if a.det != nil {
		for _, f := range a.det.Findings(false) {
			res.Findings = append(res.Findings, anomalyRow(&f, version))
		}
	}
	a.inv.MarkClean() // all in b
	a.mu.Unlock()
	return a.Store(ctx, []*Batch{b})
}

func endpointRow(e inventory.Entry, version uint64) EndpointRow {
	r := EndpointRow{Host: e.Host, Method: e.Method, Endpoint: e.Path, Operation: e.Operation, Port: e.Port,
		State: e.State, Spec: e.Spec, Requests: e.Requests, Clients: e.Clients, Auth: e.Auth,
		StateBlob: e.MarshalState(), Version: version}
	if e.FirstSeen != nil {
		r.FirstSeen, r.LastSeen = *e.FirstSeen, *e.LastSeen
	}
	codes := make([]int, 0, len(e.StatusCodes))
	for s := range e.StatusCodes {
		n, _ := strconv.Atoi(s)
		codes = append(codes, n)
	}
	slices.Sort(codes)
	for _, c := range codes {
		n := e.StatusCodes[strconv.Itoa(c)]
		r.StatusCodes = append(r.StatusCodes, uint16(c))
		r.StatusCounts = append(r.StatusCounts, n)
		switch {
		case c >= 500:
			r.ServerErrors += n
		case c >= 400:
			r.ClientErrors += n
		}
	}
	if len(e.Params) > 0 {
		b, _ := json.Marshal(e.Params)
		r.Params = string(b)
	}
	for loc, ts := range e.PIITypes {
		for _, t := range ts {
			r.PIITypes = append(r.PIITypes, loc+":"+t)
		}
	}
	slices.Sort(r.PIITypes)
	return r
}

// exposureRow is the stored form of a sensitive-data finding: the numbers
// go to evidence, never a value (the masked sample and the keyed
// fingerprint stand in for it).
func exposureRow(f *exposure.Finding, version uint64) FindingRow {
	ev, _ := json.Marshal(map[string]any{"matches": f.Matches, "values": f.Values, "valid_share": f.ValidShare,
		"match_share": f.MatchShare, "max_per_message": f.MaxPerMessage, "bulk": f.Bulk, "example": f.Example,
		"alert": f.Alert, "detail": f.Detail, "operation": f.Operation, "port": f.Port})
	return FindingRow{ID: f.ID, Time: f.FirstSeen, Kind: f.Kind, Type: f.Type, Severity: f.Severity,
		Confidence: f.Confidence, Host: f.Host, Method: f.Method, Endpoint: f.Path, Location: f.Location,
		Field: f.Field, MaskedSample: f.MaskedSample, Fingerprint: f.Fingerprint, Count: f.Count,
		FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, Summary: f.Summary, Evidence: string(ev), Version: version}
}

func findingRow(f inventory.Finding, version uint64) FindingRow {
	ev, _ := json.Marshal(map[string]any{"clients": f.Clients, "spec": f.Spec, "operation": f.Operation, "port": f.Port})
	typ := "undocumented"
	if f.Kind == "zombie_endpoint" {
		typ = "deprecated"
		if f.Spec == "" {
			typ = "retired"
		}
	}
	client := ""
	if len(f.Clients) > 0 {
		client = f.Clients[0]
	}
	return FindingRow{ID: f.ID, Time: f.FirstSeen, Kind: f.Kind, Type: typ, Severity: f.Severity, Confidence: "confirmed",
		Host: f.Host, Method: f.Method, Endpoint: f.Path, ClientIP: client, Location: "endpoint", Count: f.Requests,
		FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, Summary: f.Summary, Evidence: string(ev), Version: version}
}

// stateReload is how long a host may go unseen before its stored state is
// read again: another analyzer may have owned its partition meanwhile. A
// consumer-group rebalance moves a partition in seconds, so this is short;
// a host seen without a pause is never read again (one query per batch at
// most, for all the hosts that came back).
const stateReload = 2 * time.Second

// loadState reads the stored inventory of the batch's hosts that this
// analyzer has not seen recently, and hands it to the inventory.
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
		h := inventory.Host(e)
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
		if r.State == inventory.Merged || len(r.StateBlob) == 0 {
			continue
		}
		if err := a.inv.Restore(r.StateBlob); err != nil {
			a.stateErrs.Add(1)
		}
	}
	if len(a.hosts) > a.cfg.Inventory.MaxEndpoints {
		clear(a.hosts) // bounded: at worst hosts are read again
	}
	return nil
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats {
	a.mu.Lock()
	inv := a.inv.Stats()
	var sen exposure.Stats
	if a.exp != nil {
		sen = a.exp.Stats()
	}
	var ano anomaly.Stats
	if a.det != nil {
		ano = a.det.Stats()
	}
	a.mu.Unlock()
	return Stats{Batches: a.batches.Load(), Exchanges: a.exchanges.Load(), Losses: a.losses.Load(),
		LostUnits: a.lost.Load(), Replays: a.replays.Load(), SinkErrors: a.sinkErrs.Load(),
		StateErrors: a.stateErrs.Load(), Inventory: inv, Sensitive: sen, Anomaly: ano}
}

// exchangeRow fills *r from the record, with strings that do not point
// into it (rowStrings).
func (t *rowStrings) exchangeRow(r *ExchangeRow, m codec.Meta, e *flow.Exchange, host, endpoint string) {
	*r = ExchangeRow{
		Time: e.Start, SensorID: t.str(m.SensorID), Sequence: m.Sequence,
		ClientPort: e.Client.Port(), ServerPort: e.Server.Port(),
		VLAN: e.Outer.VLAN, VNI: e.Outer.VNI,
		Host: t.str(host), Method: t.method(e.Method), Endpoint: endpoint,
		QueryKeys: t.queryKeys(e.Query), Status: uint16(min(max(e.Status, 0), 65535)),
		GRPCStatus: -1, EffectiveStatus: uint16(min(max(flow.EffectiveStatus(e), 0), 65535)),
		RequestBytes: uint64(max(e.Request.WireBytes, 0)), ResponseBytes: uint64(max(e.Response.WireBytes, 0)),
		RequestType: t.str(e.Request.ContentType), ResponseType: t.str(e.Response.ContentType),
		Flags:    t.flagNames(e.Flags),
		ClientIP: t.addr(e.Client.Addr()), ServerIP: t.addr(e.Server.Addr()),
	}
	if r.Time.IsZero() {
		r.Time = e.End // a response whose request was never seen
	}
	if code, ok := flow.GRPCStatus(e); ok {
		r.GRPCStatus = int16(min(code, 32767))
	}
	if !e.Start.IsZero() && e.End.After(e.Start) {
		r.LatencyMicros = uint32(min(e.End.Sub(e.Start).Microseconds(), 1<<32-1))
	}
	// The caller as the anomaly detector names it (anomaly.Credential):
	// the same credential, its keyed fingerprint and scheme; for a JWT
	// whose subject the sensor fingerprinted (its default), the subject's
	// fingerprint, so that a user is one principal across the tokens it
	// is issued, as in the findings (jwt:fp:<hex>@iss).
	if c := anomaly.Credential(e); c != nil {
		if j := c.JWT; j != nil && c.Location == "header" && flow.IsSubjectFingerprint(j.Sub) {
			r.Principal, r.PrincipalType = t.str(j.Sub[len("fp:"):]), "jwt"
		} else {
			r.Principal, r.PrincipalType = t.str(c.Fingerprint), t.str(c.Scheme)
		}
	}
}

func (t *rowStrings) lossRow(m codec.Meta, l *flow.Loss) LossRow {
	return LossRow{SensorID: t.str(m.SensorID), Sequence: m.Sequence, Stage: t.str(string(l.Stage)), Reason: t.str(l.Reason),
		Unit: t.str(l.Unit), Count: l.Count, WindowStart: l.First, WindowEnd: l.Last}
}

// anomalyRow is the stored form of an anomaly episode.
func anomalyRow(f *anomaly.Finding, version uint64) FindingRow {
	ev, _ := json.Marshal(f.Evidence)
	return FindingRow{ID: f.ID, Time: f.WindowStart, Kind: f.Kind, Type: f.Type, Severity: f.Severity,
		Confidence: "likely", Host: f.Host, Method: f.Method, Endpoint: f.Path, ClientIP: f.ClientIP,
		Principal: f.Principal, Location: "behaviour", Count: f.Count, FirstSeen: f.WindowStart,
		LastSeen: f.WindowEnd, Summary: f.Summary, Evidence: string(ev), Version: version}
}

// Anomalies returns every anomaly episode the detector holds, as
// findings (the run's findings.jsonl). Call it when no Consume runs.
func (a *Analyzer) Anomalies() []anomaly.Finding {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.det == nil {
		return nil
	}
	return a.det.Findings(false)
}
