// Package anomaly detects anomalous access in a stream of exchanges:
// enumeration of objects (BOLA), credential stuffing and brute force, rate
// abuse, injection probes, unauthenticated access, exfiltration,
// reconnaissance, privilege escalation, and bursts of authentication
// failures and server errors (docs/anomaly.md).
//
// A Detector takes one Event per exchange, in capture-time order, keeps
// bounded per-client, per-endpoint and per-(actor, endpoint) state over
// tumbling windows of capture time, learns per-endpoint baselines (p99 of
// what one client does in a window), and turns what crosses a threshold
// into episodes: one finding per (type, client, principal, endpoint)
// episode, updated while it lasts, never one per request.
package anomaly

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Detection types (a contract: findings.jsonl and the findings table).
const (
	BOLAEnumeration       = "bola_enumeration"
	CredentialStuffing    = "credential_stuffing"
	BruteForce            = "brute_force"
	RateAbuse             = "rate_abuse"
	InjectionAttempt      = "injection_attempt"
	UnauthenticatedAccess = "unauthenticated_access"
	DataExfiltration      = "data_exfiltration"
	ReconScan             = "recon_scan"
	PrivilegeEscalation   = "privilege_escalation"
	AuthFailureBurst      = "auth_failure_burst"
	ErrorBurst            = "error_burst"
)

// Kind is the findings' kind.
const Kind = "anomaly"

// Injection is one injection payload found in a request.
type Injection struct {
	Class    string // "sqli", "xss", ...
	Rule     string
	Location string // "request.query", "request.path", "request.body", "request.header"
}

// Event is what detection needs of one exchange.
type Event struct {
	Time      time.Time
	Client    netip.Addr // the network client (Identity.Client)
	Principal string     // Principal(e); "" when unauthenticated
	// The endpoint: host, method, path template, operation.
	Host, Method, Path, Operation string
	RawPath                       string // the concrete path (recon evidence)
	Status                        int
	// IDs are the values of the template's path parameters, in order.
	IDs []string
	// User is the user name a login attempt tries (Basic user or the
	// login body's user field); only its hash is kept.
	User          string
	Authenticated bool
	RespBytes     int64
	// Sensitive is the number of sensitive values in the response.
	Sensitive    int
	Injections   []Injection
	VerboseError bool // the response leaked a stack trace or SQL error
}

type epKey struct{ host, method, path, op string }

// clone is k with strings of its own: the detector keeps its keys, and an
// event's strings point into its record (a whole message, bodies and all).
func (k epKey) clone() epKey {
	return epKey{strings.Clone(k.host), strings.Clone(k.method), strings.Clone(k.path), strings.Clone(k.op)}
}

// endpoint is what is learned of one endpoint.
type endpoint struct {
	last            time.Time
	requests, authd uint64
	rate, bytes     hist // per (actor, window): requests and response bytes
	seen429         bool
	owners          map[uint64]uint64 // object id -> principal that got it first (2xx)
	admin, login    bool
	// anon: distinct clients whose unauthenticated requests it answered
	// 2xx, up to unauth_public_clients of them (then it is public).
	anon []netip.Addr
	// 401/403 and 5xx answers over a sliding minute, for bursts
	fails, errs rate60
}

// rate60 counts events over the last minute in six 10-second slots (a
// sliding minute, so a burst straddling a minute boundary is seen whole)
// and keeps a moving average of the per-minute count.
type rate60 struct {
	slot int64 // current 10 s slot
	n    [6]int
	avg  float64 // events per 10 s slot, moving average (≈ 3 min)
	top  map[netip.Addr]int
}

// add counts one event at t and returns the count over the last minute
// and the average per minute before it.
func (r *rate60) add(t time.Time, c netip.Addr) (int, float64) {
	s := t.Unix() / 10
	if s > r.slot {
		for i := r.slot + 1; i <= s && i <= r.slot+6; i++ {
			old := &r.n[i%6]
			r.avg = 0.95*r.avg + 0.05*float64(*old) // the slot leaving the minute
			*old = 0
		}
		if s > r.slot+6 { // a long quiet stretch: the average decays
			r.avg *= math.Pow(0.95, float64(min(s-r.slot-6, 1000)))
		}
		if s/6 != r.slot/6 {
			clear(r.top) // attribution per minute
		}
		r.slot = s
	}
	r.n[s%6]++
	if r.top == nil {
		r.top = map[netip.Addr]int{}
	}
	if len(r.top) < 64 || r.top[c] > 0 {
		r.top[c]++
	}
	sum := 0
	for _, k := range r.n {
		sum += k
	}
	return sum, r.avg * 6
}

// actorKey names an actor by its endpoint's state (endpoints are never
// dropped, so the pointer is stable): cheaper to hash and compare than the
// endpoint's four strings, on every event.
type actorKey struct {
	client    netip.Addr
	principal string
	ep        *endpoint
}

// actor is one (client, principal) on one endpoint, over the current window.
type actor struct {
	last, start  time.Time
	requests     uint64
	bytes        uint64
	ids          set
	idMin, idMax int64
	numeric      bool
	denied       uint64 // 403/404 answers
	foreign      uint64 // objects another principal owns
	status       map[int]uint64
	saw429       uint64
	injections   uint64
	classes      []string
	injOK        uint64 // injections answered 2xx
	injLeak      bool
	users        set
	userFails    map[uint64]uint64
	attempts     uint64
	fails        uint64
	unauth       uint64
	adminDenied  uint64
}

// client is one network client over the current window.
type client struct {
	last, start time.Time
	paths       set // distinct 404/405 paths
	samples     []string
	probes      uint64
	sensitive   uint64
	host        string
	sensEp      epKey
}

// Detector runs the detections. It is not safe for concurrent use.
type Detector struct {
	cfg      Config
	admin    map[string]bool
	login    map[string]bool
	eps      map[epKey]*endpoint
	actors   map[actorKey]*actor
	clients  map[netip.Addr]*client
	episodes map[episodeKey]*episode
	closed   []*episode // ended with changes not yet reported
	ended    []*episode // ended, for Findings(false)
	clock    time.Time
	swept    time.Time // clock at the last sweep
	events   uint64
	st       Stats
}

// Stats counts the detector's work and its bounds.
type Stats struct {
	Events           uint64
	Episodes         uint64 // episodes opened
	Clients          int
	Actors           int
	Endpoints        int
	ClientOverflow   uint64 // events whose client, actor or endpoint was not tracked (caps)
	ActorOverflow    uint64
	EndpointOverflow uint64
	EpisodeOverflow  uint64
	EndedDropped     uint64 // ended episodes no longer listed by Findings(false)
}

// New returns a Detector for cfg.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg, admin: map[string]bool{}, login: map[string]bool{}, eps: map[epKey]*endpoint{},
		actors: map[actorKey]*actor{}, clients: map[netip.Addr]*client{}, episodes: map[episodeKey]*episode{}}
	for _, s := range cfg.AdminPaths {
		d.admin[strings.ToLower(s)] = true
	}
	for _, s := range cfg.LoginPaths {
		d.login[strings.ToLower(s)] = true
	}
	return d, nil
}

// Stats returns the counters.
func (d *Detector) Stats() Stats {
	st := d.st
	st.Events, st.Clients, st.Actors, st.Endpoints = d.events, len(d.clients), len(d.actors), len(d.eps)
	return st
}

// segmentsIn reports whether a path template has a segment in words.
func segmentsIn(path string, words map[string]bool) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg != "" && words[strings.ToLower(seg)] {
			return true
		}
	}
	return false
}

// Observe takes one event. Events should come in capture-time order;
// late ones are counted in the current windows.
func (d *Detector) Observe(ev *Event) {
	d.events++
	t := ev.Time
	if t.After(d.clock) {
		d.clock = t
	}
	if d.events%4096 == 0 && d.clock.Sub(d.swept) >= d.cfg.Window/8 {
		// State becomes idle only as the capture clock moves: a sweep
		// within Window/8 of the last finds next to nothing (idle state is
		// kept at most 2⅛ windows).
		d.sweep()
	}
	ek := epKey{ev.Host, ev.Method, ev.Path, ev.Operation}
	ep := d.eps[ek]
	if ep == nil {
		if len(d.eps) >= d.cfg.MaxEndpoints {
			d.st.EndpointOverflow++
			return
		}
		ep = &endpoint{admin: segmentsIn(ev.Path, d.admin), owners: map[uint64]uint64{}}
		ep.login = (ev.Method == "POST" || ev.Method == "PUT") && segmentsIn(ev.Path, d.login)
		d.eps[ek.clone()] = ep
	}
	ep.last = t
	d.bursts(ev, ek, ep)
	d.unauthenticated(ev, ek, ep)

	c := d.clientOf(ev)
	if c != nil {
		d.recon(ev, c)
		d.sensitive(ev, ek, c)
	}
	a := d.actorOf(ev, ek, ep)
	if a == nil {
		return
	}
	a.requests++
	a.bytes += uint64(max(ev.RespBytes, 0))
	if a.status == nil {
		a.status = map[int]uint64{}
	}
	if len(a.status) < 16 || a.status[ev.Status] > 0 {
		a.status[ev.Status]++
	}
	if ev.Status == 429 {
		a.saw429++
		ep.seen429 = true
	}
	d.bola(ev, ek, ep, a)
	d.loginAbuse(ev, ek, ep, a)
	d.rate(ev, ek, ep, a)
	d.injection(ev, ek, a)
	d.privilege(ev, ek, ep, a)
}

func (d *Detector) clientOf(ev *Event) *client {
	if !ev.Client.IsValid() {
		return nil
	}
	c := d.clients[ev.Client]
	if c == nil {
		if len(d.clients) >= d.cfg.MaxClients {
			d.st.ClientOverflow++
			return nil
		}
		c = &client{start: ev.Time}
		d.clients[ev.Client] = c
	}
	if ev.Time.Sub(c.start) >= d.cfg.Window {
		c.paths.reset()
		c.samples, c.probes, c.sensitive, c.start = c.samples[:0], 0, 0, ev.Time
	}
	c.last = ev.Time
	return c
}

func (d *Detector) actorOf(ev *Event, ek epKey, ep *endpoint) *actor {
	k := actorKey{ev.Client, ev.Principal, ep}
	a := d.actors[k]
	if a == nil {
		if len(d.actors) >= d.cfg.MaxClients {
			d.st.ActorOverflow++
			return nil
		}
		a = &actor{start: ev.Time}
		k.principal = strings.Clone(k.principal) // not the record's memory
		d.actors[k] = a
	}
	if ev.Time.Sub(a.start) >= d.cfg.Window {
		d.closeWindow(a, ep)
		a.start = ev.Time
	}
	a.last = ev.Time
	return a
}

// closeWindow feeds a finished window into the endpoint's baselines and
// resets it.
func (d *Detector) closeWindow(a *actor, ep *endpoint) {
	if a.requests > 0 {
		ep.rate.add(a.requests)
		ep.bytes.add(a.bytes)
	}
	a.requests, a.bytes, a.denied, a.foreign, a.saw429 = 0, 0, 0, 0, 0
	a.injections, a.injOK, a.injLeak, a.classes = 0, 0, false, a.classes[:0]
	a.attempts, a.fails, a.unauth, a.adminDenied = 0, 0, 0, 0
	a.ids.reset()
	a.users.reset()
	clear(a.userFails)
	clear(a.status)
	a.numeric, a.idMin, a.idMax = false, 0, 0
}

// sweep drops idle state (two windows without an event) and ended
// episodes that were reported.
func (d *Detector) sweep() {
	d.swept = d.clock
	idle := 2 * d.cfg.Window
	for k, a := range d.actors {
		if d.clock.Sub(a.last) > idle {
			d.closeWindow(a, k.ep)
			delete(d.actors, k)
		}
	}
	for k, c := range d.clients {
		if d.clock.Sub(c.last) > idle {
			delete(d.clients, k)
		}
	}
	for k, e := range d.episodes {
		if d.clock.Sub(e.last) > d.cfg.EpisodeGap {
			d.retire(e)
			delete(d.episodes, k)
		}
	}
}

func (d *Detector) bola(ev *Event, ek epKey, ep *endpoint, a *actor) {
	if len(ev.IDs) == 0 {
		return
	}
	id := ev.IDs[len(ev.IDs)-1]
	h := hashString(id)
	who := hashString(ev.Principal)
	if ev.Principal == "" {
		who = hashString(ev.Client.String())
	}
	if ev.Status >= 200 && ev.Status < 300 {
		if o, ok := ep.owners[h]; !ok {
			if len(ep.owners) < d.cfg.MaxDistinct*4 {
				ep.owners[h] = who
			}
		} else if o != who {
			a.foreign++
		}
	}
	if ev.Status == 403 || ev.Status == 404 {
		a.denied++
	}
	first := a.ids.len() == 0
	a.ids.add(h, d.cfg.MaxDistinct)
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if first {
			a.numeric, a.idMin, a.idMax = true, n, n
		} else if a.numeric {
			a.idMin, a.idMax = min(a.idMin, n), max(a.idMax, n)
		}
	} else {
		a.numeric = false
	}
	n := a.ids.len()
	if n < d.cfg.BOLAMinIDs {
		return
	}
	bad := float64(a.denied+a.foreign) / float64(a.requests)
	if bad < d.cfg.BOLAMinDenied {
		return
	}
	e := d.raise(BOLAEnumeration, ev, ek, true, a.start, uint64(n))
	if !e.refresh(ev.Time, false) {
		return
	}
	e.evidence = map[string]any{"distinct_ids": n, "requests": a.requests, "denied_or_missing": a.denied,
		"owned_by_others": a.foreign, "status": statusCounts(a.status), "window": d.cfg.Window.String()}
	if a.numeric {
		e.evidence["id_min"], e.evidence["id_max"] = a.idMin, a.idMax
		e.evidence["id_span_share"] = round2(float64(n) / float64(a.idMax-a.idMin+1))
	}
}

func (d *Detector) loginAbuse(ev *Event, ek epKey, ep *endpoint, a *actor) {
	if !ep.login || ev.User == "" {
		return
	}
	a.attempts++
	failed := ev.Status == 401 || ev.Status == 403
	uh := hashString(ev.User)
	a.users.add(uh, d.cfg.MaxDistinct)
	if failed {
		a.fails++
		if a.userFails == nil {
			a.userFails = map[uint64]uint64{}
		}
		if len(a.userFails) < d.cfg.MaxDistinct || a.userFails[uh] > 0 {
			a.userFails[uh]++
		}
	}
	share := float64(a.fails) / float64(a.attempts)
	if share < d.cfg.LoginMinFailure {
		return
	}
	if a.users.len() >= d.cfg.StuffingMinUsers {
		if e := d.raise(CredentialStuffing, ev, ek, true, a.start, a.attempts); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"distinct_users": a.users.len(),
				"attempts": a.attempts, "failures": a.fails, "failure_share": round2(share), "window": d.cfg.Window.String()}
		}
	}
	if f := a.userFails[uh]; failed && f >= uint64(d.cfg.BruteMinAttempts) {
		if e := d.raise(BruteForce, ev, ek, true, a.start, f); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"attempts_on_one_user": f, "attempts": a.attempts,
				"failures": a.fails, "failure_share": round2(share), "distinct_users": a.users.len(), "window": d.cfg.Window.String()}
		}
	}
}

func (d *Detector) rate(ev *Event, ek epKey, ep *endpoint, a *actor) {
	p99 := ep.rate.quantile(0.99)
	limit := max(float64(d.cfg.RateMinRequests), d.cfg.RateFactor*float64(p99))
	if float64(a.requests) > limit {
		mins := max(ev.Time.Sub(a.start).Minutes(), 1.0/60)
		if e := d.raise(RateAbuse, ev, ek, true, a.start, a.requests); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"requests": a.requests,
				"rate_per_min": round2(float64(a.requests) / mins), "baseline_p99_per_window": p99,
				"threshold": uint64(limit), "window": d.cfg.Window.String(), "answered_429": a.saw429,
				"endpoint_ever_429": ep.seen429}
		}
	}
	bp99 := ep.bytes.quantile(0.99)
	blimit := max(float64(d.cfg.ExfilMinBytes), d.cfg.ExfilFactor*float64(bp99))
	if float64(a.bytes) > blimit {
		if e := d.raise(DataExfiltration, ev, ek, true, a.start, a.requests); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"response_bytes": a.bytes,
				"baseline_p99_bytes_per_window": bp99, "threshold_bytes": uint64(blimit), "requests": a.requests,
				"window": d.cfg.Window.String()}
		}
	}
}

func (d *Detector) injection(ev *Event, ek epKey, a *actor) {
	if len(ev.Injections) == 0 {
		return
	}
	a.injections++
	for _, in := range ev.Injections {
		if !slices.Contains(a.classes, in.Class) && len(a.classes) < 8 {
			a.classes = append(a.classes, in.Class)
		}
	}
	if ev.Status >= 200 && ev.Status < 300 {
		a.injOK++
	}
	changed := ev.VerboseError && !a.injLeak // evidence that changes the severity is written at once
	a.injLeak = a.injLeak || ev.VerboseError
	if a.injections < uint64(d.cfg.InjectionMin) {
		return
	}
	in := ev.Injections[0]
	if e := d.raise(InjectionAttempt, ev, ek, true, a.start, a.injections); e.refresh(ev.Time, changed) {
		e.evidence = map[string]any{"classes": slices.Sorted(slices.Values(a.classes)),
			"requests_with_payloads": a.injections, "last_rule": in.Rule, "last_location": in.Location,
			"answered_2xx": a.injOK, "leaked_internals": a.injLeak, "status": statusCounts(a.status)}
	}
}

func (d *Detector) privilege(ev *Event, ek epKey, ep *endpoint, a *actor) {
	if !ep.admin || ev.Principal == "" || (ev.Status != 401 && ev.Status != 403) {
		return
	}
	a.adminDenied++
	if a.adminDenied >= uint64(d.cfg.PrivMinDenied) {
		if e := d.raise(PrivilegeEscalation, ev, ek, true, a.start, a.adminDenied); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"denied_calls": a.adminDenied,
				"requests": a.requests, "status": statusCounts(a.status), "reason": "privileged function denied to this principal"}
		}
	}
}

func (d *Detector) unauthenticated(ev *Event, ek epKey, ep *endpoint) {
	ok := ev.Status >= 200 && ev.Status < 300
	if !ev.Authenticated && ok && len(ep.anon) < d.cfg.UnauthPublicClients && !slices.Contains(ep.anon, ev.Client) {
		ep.anon = append(ep.anon, ev.Client)
	}
	if !ev.Authenticated && ok && ev.RespBytes > 0 && ep.requests >= uint64(d.cfg.UnauthMinHistory) &&
		float64(ep.authd) >= d.cfg.UnauthMinShare*float64(ep.requests) {
		if e := d.raise(UnauthenticatedAccess, ev, ek, true, ev.Time, 0); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"unauthenticated_2xx": e.count, "endpoint_requests": ep.requests,
				"endpoint_auth_share": round2(float64(ep.authd) / float64(ep.requests)), "status": ev.Status}
		}
		return // not learned: the baseline stays what the endpoint normally is
	}
	ep.requests++
	if ev.Authenticated {
		ep.authd++
	}
}

func (d *Detector) recon(ev *Event, c *client) {
	if ev.Status != 404 && ev.Status != 405 {
		return
	}
	c.probes++
	h := hashString(ev.Host + ev.RawPath)
	if !c.paths.has(h) && len(c.samples) < 5 {
		p := ev.RawPath
		if len(p) > 64 {
			p = p[:64]
		}
		c.samples = append(c.samples, strings.Clone(p))
	}
	c.paths.add(h, d.cfg.MaxDistinct)
	if c.host == "" {
		c.host = strings.Clone(ev.Host)
	}
	if c.paths.len() >= d.cfg.ReconMinPaths {
		if e := d.raise(ReconScan, ev, epKey{host: c.host}, false, c.start, c.probes); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"distinct_paths": c.paths.len(),
				"probes": c.probes, "sample_paths": slices.Clone(c.samples), "window": d.cfg.Window.String()}
		}
	}
}

func (d *Detector) sensitive(ev *Event, ek epKey, c *client) {
	if ev.Sensitive <= 0 {
		return
	}
	c.sensitive += uint64(ev.Sensitive)
	if c.sensitive >= uint64(d.cfg.ExfilMinRecords) {
		if e := d.raise(DataExfiltration, ev, ek, false, c.start, c.sensitive); e.refresh(ev.Time, false) {
			e.evidence = map[string]any{"sensitive_values": c.sensitive,
				"threshold": d.cfg.ExfilMinRecords, "window": d.cfg.Window.String()}
		}
	}
}

// bursts counts 401/403 and 5xx answers of an endpoint over a sliding
// minute and compares them with the endpoint's moving average.
func (d *Detector) bursts(ev *Event, ek epKey, ep *endpoint) {
	fail := ev.Status == 401 || ev.Status == 403
	if !fail && ev.Status < 500 {
		return
	}
	r, typ, least := &ep.fails, AuthFailureBurst, d.cfg.BurstMin
	if !fail {
		r, typ, least = &ep.errs, ErrorBurst, d.cfg.ErrorBurstMin
	}
	n, avg := r.add(ev.Time, ev.Client)
	limit := max(float64(least), d.cfg.BurstFactor*avg)
	if float64(n) < limit {
		return
	}
	e := d.raise(typ, ev, ek, false, ev.Time.Add(-time.Minute), 0)
	if e != nil && typ == AuthFailureBurst {
		// One client behind most of the failures (a script retrying with a
		// dead token, a guessing tool): the burst is its doing.
		if c, k := topClient(r.top); 2*k >= n {
			e.client = c
		}
	}
	if e.refresh(ev.Time, false) {
		e.evidence = map[string]any{"per_minute": n, "baseline_per_minute": round2(avg), "threshold": round2(limit),
			"top_clients": topClients(r.top, 3)}
	}
}

func topClient(m map[netip.Addr]int) (netip.Addr, int) {
	var best netip.Addr
	n := 0
	for a, c := range m {
		if c > n || c == n && a.Less(best) {
			best, n = a, c
		}
	}
	return best, n
}

func topClients(m map[netip.Addr]int, k int) []map[string]any {
	type kv struct {
		a netip.Addr
		n int
	}
	var all []kv
	for a, n := range m {
		all = append(all, kv{a, n})
	}
	slices.SortFunc(all, func(x, y kv) int { return cmp.Or(cmp.Compare(y.n, x.n), x.a.Compare(y.a)) })
	var out []map[string]any
	for i := 0; i < len(all) && i < k; i++ {
		out = append(out, map[string]any{"client_ip": all[i].a.String(), "count": all[i].n})
	}
	return out
}

func statusCounts(m map[int]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for s, n := range m {
		out[strconv.Itoa(s)] = n
	}
	return out
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

func episodeID(k episodeKey, start time.Time) string {
	s := sha256.Sum256([]byte(strings.Join([]string{k.typ, k.client.String(), k.principal, k.ep.host, k.ep.method,
		k.ep.path, k.ep.op, strconv.FormatInt(start.UnixNano(), 10)}, "\x00")))
	return hex.EncodeToString(s[:12])
}

// LoginEndpoint reports whether (method, path template) is a login
// endpoint: a POST or PUT whose template has a login segment
// (Config.LoginPaths).
func (d *Detector) LoginEndpoint(method, path string) bool {
	return (method == "POST" || method == "PUT") && segmentsIn(path, d.login)
}
