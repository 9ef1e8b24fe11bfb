// Package inventory keeps the API inventory: every endpoint seen on the
// wire, templated the way its developers wrote the route, compared with the
// OpenAPI specs the team believes in. An endpoint is a host, port, method,
// path template and, where the protocol puts the operation inside one URL
// (GraphQL, SOAP, RPC-style query parameters), that operation.
//
// Classification order for a request: the specs first (a documented route
// is never split or renamed by learning), then the learned templates of
// the host's path tree (analyzer/route). States (docs/inventory.md):
//
//	documented  in a spec, not deprecated
//	shadow      seen on the wire, in no spec
//	zombie      seen on the wire, deprecated in its spec or retired by config
//	dormant     documented, not seen during the observation window
//
// Paths that only ever answer 404 are probes (scanners, typos), not
// endpoints: they are counted apart and never teach the path tree.
//
// An Inventory is owned by one goroutine (the analyzer's); it is not safe
// for concurrent use.
package inventory

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/apitap/apitap/analyzer/exposure"
	"slices"
	"strings"
	"time"

	"github.com/apitap/apitap/analyzer/route"
	"github.com/apitap/apitap/analyzer/shape"
	"github.com/apitap/apitap/analyzer/spec"
	"github.com/apitap/apitap/flow"
)

// States of an endpoint (a contract: endpoints.jsonl, ClickHouse, findings).
const (
	Documented = "documented"
	Shadow     = "shadow"
	Zombie     = "zombie"
	Dormant    = "dormant"
	// Merged marks, in storage only, an entry whose template the path tree
	// later folded into another one (its counts moved there).
	Merged = "merged"
)

// Config is the inventory's configuration (YAML key "inventory").
type Config struct {
	// Specs are OpenAPI 3.x / Swagger 2.0 files or folders (flag --spec,
	// repeatable). Default none: every endpoint is shadow.
	Specs []string `yaml:"specs"`
	// Retired lists operations retired though a spec may still document
	// them; calls to them are zombie. Default none.
	Retired []Retired `yaml:"retired"`
	// DormantAfter: a documented operation not seen for this long (capture
	// clock, minus the time the sensors reported themselves blind) is
	// dormant. Default 168h (7 days). A replay shorter than it calls
	// dormant what was not seen in the whole capture.
	DormantAfter time.Duration `yaml:"dormant_after"`
	// MaxEndpoints bounds the endpoints kept in memory; exchanges of
	// further endpoints are counted as overflow. Default 200000.
	MaxEndpoints int `yaml:"max_endpoints"`
	// MaxProbes bounds the 404-only paths kept as probe statistics; beyond
	// it they are only counted. Default 10000.
	MaxProbes int `yaml:"max_probes"`
	// Templating configures the learned path templates (docs/templating.md).
	Templating route.Config `yaml:"templating"`
}

// Retired is an operation retired by configuration.
type Retired struct {
	Host   string `yaml:"host"`   // "" or "*": any host
	Method string `yaml:"method"` // "" or "*": any method
	Path   string `yaml:"path"`   // template, e.g. /v1/users/{id}
}

// DefaultConfig returns the defaults stated on Config.
func DefaultConfig() Config {
	return Config{DormantAfter: 7 * 24 * time.Hour, MaxEndpoints: 200000, MaxProbes: 10000,
		Templating: route.DefaultConfig()}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.DormantAfter <= 0 {
		errs = append(errs, errors.New("inventory dormant_after must be > 0"))
	}
	if c.MaxEndpoints < 1 || c.MaxProbes < 0 {
		errs = append(errs, errors.New("inventory max_endpoints must be >= 1 and max_probes >= 0"))
	}
	for i, r := range c.Retired {
		if !strings.HasPrefix(r.Path, "/") {
			errs = append(errs, fmt.Errorf("inventory retired[%d]: path %q must start with /", i, r.Path))
		}
	}
	if err := c.Templating.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Key identifies an endpoint.
type Key struct {
	Host      string
	Port      uint16
	Method    string
	Path      string // template with {name} parameters
	Operation string // GraphQL/SOAP/RPC operation, "" for REST
}

// clone is k with strings of its own: the inventory keeps its keys, and an
// exchange's strings point into its record (a whole message, bodies and
// all).
func (k Key) clone() Key {
	return Key{Host: strings.Clone(k.Host), Port: k.Port, Method: strings.Clone(k.Method), Path: strings.Clone(k.Path),
		Operation: strings.Clone(k.Operation)}
}

func (k Key) String() string {
	s := k.Method + " " + k.Host + k.Path
	if k.Operation != "" {
		s += " [" + k.Operation + "]"
	}
	return s
}

// Class is what classification says about one request.
type Class struct {
	Key
	State  string
	Spec   string        // the spec file documenting it
	Params []route.Param // why each parameter is one (learned templates)
	op     *spec.Operation
}

// Auth schemes, as a bit set.
const (
	authNone = 1 << iota
	authBasic
	authBearer
	authJWT
	authAPIKey
	authCookie
	authOther
)

var authNames = []string{"none", "basic", "bearer", "jwt", "apikey", "cookie", "other"}

// Endpoint is the accumulated knowledge of one endpoint. Every part merges
// (sum, min/max, union, sketches), so the final inventory does not depend on
// the order traffic arrived in or on how entries were folded together.
type Endpoint struct {
	Class
	FirstSeen, LastSeen time.Time
	Requests            uint64
	Status              map[int]uint64
	auth                uint8
	carriers            counts // apikey:X-Api-Key, apikey:query:key, cookie:sid (for the OpenAPI export)
	clients             distinct
	latency             hist // µs
	reqSize, respSize   hist // bytes on the wire
	query               counts
	headers             counts // request header names beyond the standard ones
	reqTypes, respTypes counts
	reqBody             shape.Shape
	respBody            map[int]*shape.Shape // by status (past 8 statuses, by class)
	callers             []string             // the first few clients, for findings
	exp                 *exposure.Profile    // sensitive data per field (nil until a hit)
	dirty               bool
}

// counts is a bounded name → count map: beyond maxNames new names are
// dropped and counted under "".
type counts map[string]uint64

const (
	maxNames   = 64
	maxCallers = 10
)

func (c *counts) add(name string, n uint64) {
	if *c == nil {
		*c = counts{}
	}
	if _, ok := (*c)[name]; !ok {
		if len(*c) >= maxNames {
			name = ""
		} else {
			name = strings.Clone(name) // kept: not the record's memory
		}
	}
	(*c)[name] += n
}

func (c counts) sorted() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Stats counts the inventory's work and its bounds.
type Stats struct {
	Endpoints, Probes          int
	EndpointOverflow           uint64
	ProbeOverflow              uint64
	Merged                     uint64 // entries folded into a later template
	BlindSeconds               float64
	Documented, Shadow, Zombie int
}

// probe is a path that has only answered 404 so far.
type probe struct {
	host, path          string // path template (classes only, never learned)
	requests            uint64
	clients             distinct
	firstSeen, lastSeen time.Time
}

// Inventory is the endpoint inventory of one analyzer.
type Inventory struct {
	cfg     Config
	specs   []*spec.Spec
	match   *spec.Matcher
	tree    *route.Learner
	retired []retiredRule
	eps     map[Key]*Endpoint
	probes  map[[2]string]*probe
	// clock is the latest capture time seen; blind the sensors' loss
	// windows (merged, bounded), which suspend the dormancy clock.
	clock, start time.Time
	blind        []window
	st           Stats
	exp          *exposure.Engine  // nil: no sensitive-data profiles
	hook         StateHook         // more per-endpoint state (anomaly baselines)
	lower        map[string]string // header name -> lower case, own copy (bounded)
}

type window struct{ from, to time.Time }

// lowerName is strings.ToLower(name) as a string of the inventory's own:
// header names repeat on every request, and lower-casing one with an upper
// case letter allocates each time.
func (inv *Inventory) lowerName(name string) string {
	if l, ok := inv.lower[name]; ok {
		return l
	}
	if inv.lower == nil || len(inv.lower) >= 4096 {
		inv.lower = map[string]string{}
	}
	k := strings.Clone(name)
	l := strings.ToLower(k)
	inv.lower[k] = l
	return l
}

type retiredRule struct {
	host, method string
	segs         []string // "" = a parameter segment
}

// New loads the specs and returns an empty inventory.
func New(cfg Config) (*Inventory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	specs, err := spec.LoadAll(cfg.Specs)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	tree, err := route.New(cfg.Templating)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{cfg: cfg, specs: specs, match: spec.NewMatcher(specs), tree: tree,
		eps: map[Key]*Endpoint{}, probes: map[[2]string]*probe{}}
	for _, r := range cfg.Retired {
		rr := retiredRule{host: strings.ToLower(r.Host), method: strings.ToUpper(r.Method)}
		for _, s := range strings.Split(strings.Trim(r.Path, "/"), "/") {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				s = ""
			}
			rr.segs = append(rr.segs, s)
		}
		inv.retired = append(inv.retired, rr)
	}
	return inv, nil
}

// Specs returns the loaded specs.
func (inv *Inventory) Specs() []*spec.Spec { return inv.specs }

func (r *retiredRule) matches(k Key) bool {
	if r.host != "" && r.host != "*" && r.host != k.Host || r.method != "" && r.method != "*" && r.method != k.Method {
		return false
	}
	segs := strings.Split(strings.Trim(k.Path, "/"), "/")
	if len(segs) != len(r.segs) {
		return false
	}
	for i, s := range r.segs {
		if s != "" && s != segs[i] && !(strings.HasPrefix(segs[i], "{") && s == "") {
			return false
		}
	}
	return true
}

// Classify returns the endpoint a request belongs to. It does not change
// the inventory.
func (inv *Inventory) Classify(e *flow.Exchange) Class {
	host := Host(e)
	path := e.PathDecoded
	if path == "" {
		path = "/"
	}
	c := Class{Key: Key{Host: host, Port: portOf(e), Method: e.Method, Operation: Operation(e)}}
	if op, ok := inv.match.Match(host, e.Method, path); ok {
		c.Path, c.op, c.Spec = op.Template, op, op.Spec.File
		c.State = Documented
		if op.Deprecated {
			c.State = Zombie
		}
	} else {
		r := inv.tree.Template(host, path)
		c.Path, c.Params, c.State = r.Template, r.Params, Shadow
	}
	if c.State != Zombie {
		for i := range inv.retired {
			if inv.retired[i].matches(c.Key) {
				c.State = Zombie
				break
			}
		}
	}
	return c
}

// Host is the host an exchange is filed under: the Host header's (or the
// absolute target's) host, else the server address. The analyzer's rows
// use it too, so a row and its endpoint always agree.
func Host(e *flow.Exchange) string {
	if e.Host != "" {
		return e.Host
	}
	if e.Server.IsValid() {
		return e.Server.Addr().Unmap().String()
	}
	return ""
}

func portOf(e *flow.Exchange) uint16 {
	if e.HostPort != 0 {
		return e.HostPort
	}
	return e.Server.Port()
}

// Learn teaches the path tree a request's path: called for every exchange
// that is not a 404 (404-only paths must not make a position look like a
// parameter).
func (inv *Inventory) Learn(e *flow.Exchange) {
	if e.Status == 404 {
		return
	}
	inv.tree.Observe(Host(e), e.PathDecoded)
}

// Add folds one exchange into its endpoint (or into the probes when it is a
// 404 on an endpoint that never answered anything else). client is the
// caller's identity for the distinct-clients count. It returns the
// endpoint, nil for a probe or when the inventory is full (then Has(c.Key)
// is false).
func (inv *Inventory) Add(c Class, e *flow.Exchange, client string) *Endpoint {
	t := Time(e)
	if t.After(inv.clock) {
		inv.clock = t
	}
	if inv.start.IsZero() || t.Before(inv.start) {
		inv.start = t
	}
	ep := inv.eps[c.Key]
	if ep == nil && e.Status == 404 && c.op == nil {
		inv.addProbe(c, e, t, client)
		return nil
	}
	if ep == nil {
		if len(inv.eps) >= inv.cfg.MaxEndpoints {
			inv.st.EndpointOverflow++
			return nil
		}
		c.Key = c.Key.clone()
		ep = &Endpoint{Class: c, FirstSeen: t, LastSeen: t, Status: map[int]uint64{}}
		inv.eps[c.Key] = ep
		if p := inv.probes[[2]string{c.Host, c.Path}]; p != nil {
			// The path answered something other than 404 at last: it
			// exists, and its earlier 404s belong to it.
			ep.Requests += p.requests
			ep.Status[404] += p.requests
			ep.clients.merge(&p.clients)
			ep.FirstSeen = minTime(ep.FirstSeen, p.firstSeen)
			delete(inv.probes, [2]string{c.Host, c.Path})
		}
	}
	ep.dirty = true
	ep.FirstSeen = minTime(ep.FirstSeen, t)
	ep.LastSeen = maxTime(ep.LastSeen, t)
	ep.Requests++
	ep.Status[e.Status]++
	ep.auth |= authOf(e)
	for _, c := range e.Credentials {
		switch {
		case c.Scheme == "apikey" && c.Location == "query":
			ep.carriers.add("apikey:query:"+c.Name, 1)
		case c.Scheme == "apikey" && c.Location == "cookie":
			ep.carriers.add("apikey:cookie:"+c.Name, 1)
		case c.Scheme == "apikey":
			ep.carriers.add("apikey:"+c.Name, 1)
		case c.Location == "cookie":
			ep.carriers.add("cookie:"+c.Name, 1)
		}
	}
	if client != "" {
		ep.clients.add(client)
		if len(ep.callers) < maxCallers && !slices.Contains(ep.callers, client) {
			ep.callers = append(ep.callers, client)
		}
	}
	if !e.Start.IsZero() && e.End.After(e.Start) {
		ep.latency.add(uint64(e.End.Sub(e.Start).Microseconds()))
	}
	ep.reqSize.add(uint64(max(e.Request.WireBytes, 0)))
	ep.respSize.add(uint64(max(e.Response.WireBytes, 0)))
	for _, k := range queryNames(e.Query) {
		ep.query.add(k, 1)
	}
	for _, h := range e.RequestHeaders {
		if n := inv.lowerName(h.Name); !commonHeaders[n] && !strings.HasPrefix(n, "sec-") && len(n) <= 64 {
			ep.headers.add(n, 1)
		}
	}
	if ct := e.Request.ContentType; ct != "" {
		ep.reqTypes.add(ct, 1)
	}
	if ct := e.Response.ContentType; ct != "" {
		ep.respTypes.add(ct, 1)
	}
	if !sampleBody(ep.Requests, e) {
		return ep
	}
	observeBody(&ep.reqBody, &e.Request)
	if e.Status > 0 && len(e.Response.Data) > 0 {
		if ep.respBody == nil {
			ep.respBody = map[int]*shape.Shape{}
		}
		key := e.Status
		if _, ok := ep.respBody[key]; !ok && len(ep.respBody) >= 8 {
			key = e.Status / 100 * 100 // bounded: past 8 statuses, by class
		}
		s := ep.respBody[key]
		if s == nil {
			s = &shape.Shape{}
			ep.respBody[key] = s
		}
		observeBody(s, &e.Response)
	}
	return ep
}

// Body schemas are inferred from every body of an endpoint's first
// bodySampleAll requests, then from one in bodySampleEvery (chosen by a
// hash of the exchange's capture time and client port): a schema settles
// long before that, and inference is the inventory's largest cost per
// exchange. Which bodies are in the sample depends on arrival order, so
// the inferred schema (not the counts or templates) may differ slightly
// between two orders of the same traffic.
const (
	bodySampleAll   = 256
	bodySampleEvery = 16
)

func sampleBody(n uint64, e *flow.Exchange) bool {
	if n <= bodySampleAll {
		return true
	}
	h := uint64(e.Start.UnixNano())*0x9E3779B97F4A7C15 ^ uint64(e.Client.Port())*0xC2B2AE3D27D4EB4F
	return (h>>32)%bodySampleEvery == 0
}

func observeBody(s *shape.Shape, b *flow.Body) {
	if len(b.Data) == 0 {
		return
	}
	switch {
	case strings.Contains(b.ContentType, "json"):
		s.ObserveJSON(b.Data)
	case strings.Contains(b.ContentType, "xml"):
		s.ObserveXML(b.Data)
	}
}

func (inv *Inventory) addProbe(c Class, e *flow.Exchange, t time.Time, client string) {
	k := [2]string{c.Host, c.Path}
	p := inv.probes[k]
	if p == nil {
		if len(inv.probes) >= inv.cfg.MaxProbes {
			inv.st.ProbeOverflow++
			return
		}
		k = [2]string{strings.Clone(c.Host), strings.Clone(c.Path)}
		p = &probe{host: k[0], path: k[1], firstSeen: t, lastSeen: t}
		inv.probes[k] = p
	}
	p.requests++
	p.firstSeen, p.lastSeen = minTime(p.firstSeen, t), maxTime(p.lastSeen, t)
	if client != "" {
		p.clients.add(client)
	}
}

func authOf(e *flow.Exchange) uint8 {
	if len(e.Credentials) == 0 {
		return authNone
	}
	var a uint8
	for _, c := range e.Credentials {
		switch {
		case c.JWT != nil:
			a |= authJWT
		case c.Scheme == "bearer":
			a |= authBearer
		case c.Scheme == "basic":
			a |= authBasic
		case c.Scheme == "apikey":
			a |= authAPIKey
		case c.Scheme == "cookie" || c.Scheme == "session" || c.Location == "cookie":
			a |= authCookie
		default:
			a |= authOther
		}
	}
	return a
}

func authList(a uint8) []string {
	var out []string
	for i, n := range authNames {
		if a&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// commonHeaders are not API parameters: transport, caching, browser and
// proxy headers, and the credentials (reported as auth schemes instead).
var commonHeaders = map[string]bool{"host": true, "user-agent": true, "accept": true, "accept-encoding": true,
	"accept-language": true, "connection": true, "content-type": true, "content-length": true, "cookie": true,
	"authorization": true, "cache-control": true, "pragma": true, "origin": true, "referer": true, "te": true,
	"upgrade-insecure-requests": true, "if-none-match": true, "if-modified-since": true, "dnt": true,
	"x-forwarded-for": true, "x-forwarded-proto": true, "x-forwarded-host": true, "x-real-ip": true, "forwarded": true,
	"via": true, "keep-alive": true, "transfer-encoding": true, "expect": true, "range": true, "priority": true,
	"proxy-authorization": true, "x-request-id": true, "traceparent": true, "tracestate": true, "x-amzn-trace-id": true}

func queryNames(q string) []string {
	if q == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(q, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k != "" && len(k) <= 64 {
			out = append(out, k)
		}
	}
	return out
}

// Blind records a window in which a sensor reported loss: the dormancy
// clock does not run then. Windows are merged and bounded (the oldest are
// folded together when there are too many).
func (inv *Inventory) Blind(from, to time.Time) {
	if !to.After(from) {
		return
	}
	inv.blind = append(inv.blind, window{from, to})
	slices.SortFunc(inv.blind, func(a, b window) int { return a.from.Compare(b.from) })
	out := inv.blind[:1]
	for _, w := range inv.blind[1:] {
		last := &out[len(out)-1]
		if !w.from.After(last.to) {
			last.to = maxTime(last.to, w.to)
		} else {
			out = append(out, w)
		}
	}
	for len(out) > 1024 {
		out[0].to = out[1].to // the oldest two, folded: slightly more blind, never less
		out = append(out[:1], out[2:]...)
	}
	inv.blind = out
}

// blindIn is the blind time inside [from, to].
func (inv *Inventory) blindIn(from, to time.Time) time.Duration {
	var d time.Duration
	for _, w := range inv.blind {
		a, b := maxTime(w.from, from), minTime(w.to, to)
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

// Canonicalize folds entries whose template the path tree has since
// generalised (/users/alice learned before /users/{username}) into the
// entry of the current template. It returns the keys that disappeared, so
// storage can mark them merged.
func (inv *Inventory) Canonicalize() []Key {
	var gone []Key
	for k, ep := range inv.eps {
		if ep.op != nil {
			continue // spec templates are final
		}
		p := inv.tree.Canonical(k.Host, k.Path)
		if p == k.Path {
			continue
		}
		nk := k
		nk.Path = p
		dst := inv.eps[nk]
		if dst == nil {
			c := ep.Class
			c.Key = nk
			c.Params = inv.tree.Template(k.Host, p).Params
			dst = &Endpoint{Class: c, FirstSeen: ep.FirstSeen, LastSeen: ep.LastSeen, Status: map[int]uint64{}}
			inv.eps[nk] = dst
		}
		dst.merge(ep)
		// The profile moves with the entry (merge leaves profiles alone:
		// it also builds throw-away views for the OpenAPI export).
		switch {
		case dst.exp == nil:
			dst.exp = ep.exp
		case ep.exp != nil:
			dst.exp.Merge(ep.exp)
		}
		delete(inv.eps, k)
		gone = append(gone, k)
		inv.st.Merged++
	}
	slices.SortFunc(gone, func(a, b Key) int { return cmp.Compare(a.String(), b.String()) })
	return gone
}

func (ep *Endpoint) merge(o *Endpoint) {
	ep.dirty = true
	ep.FirstSeen = minTime(ep.FirstSeen, o.FirstSeen)
	ep.LastSeen = maxTime(ep.LastSeen, o.LastSeen)
	ep.Requests += o.Requests
	for s, n := range o.Status {
		ep.Status[s] += n
	}
	ep.auth |= o.auth
	for k, n := range o.carriers {
		ep.carriers.add(k, n)
	}
	ep.clients.merge(&o.clients)
	for _, c := range o.callers {
		if len(ep.callers) < maxCallers && !slices.Contains(ep.callers, c) {
			ep.callers = append(ep.callers, c)
		}
	}
	ep.latency.merge(&o.latency)
	ep.reqSize.merge(&o.reqSize)
	ep.respSize.merge(&o.respSize)
	for k, n := range o.query {
		ep.query.add(k, n)
	}
	for k, n := range o.headers {
		ep.headers.add(k, n)
	}
	for k, n := range o.reqTypes {
		ep.reqTypes.add(k, n)
	}
	for k, n := range o.respTypes {
		ep.respTypes.add(k, n)
	}
	ep.reqBody.Merge(&o.reqBody)
	for s, sh := range o.respBody {
		if ep.respBody == nil {
			ep.respBody = map[int]*shape.Shape{}
		}
		if d := ep.respBody[s]; d != nil {
			d.Merge(sh)
		} else {
			cp := &shape.Shape{}
			cp.Merge(sh)
			ep.respBody[s] = cp
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// UseExposure gives the inventory the engine whose profiles record the
// sensitive data of each endpoint (Expose, Entry.Exposures, pii_types,
// and the state blob). Call it before the first Expose or Restore.
func (inv *Inventory) UseExposure(en *exposure.Engine) { inv.exp = en }

// Expose folds one exchange's sensitive-data hits (seen at capture time
// t) into the profile of endpoint k. Exchanges that Add did not file
// under an endpoint (404-only probes, the overflow) are not profiled.
func (inv *Inventory) Expose(k Key, hits []exposure.Hit, t time.Time) {
	if len(hits) == 0 || inv.exp == nil {
		return
	}
	ep := inv.eps[k]
	if ep == nil {
		return
	}
	if ep.exp == nil {
		ep.exp = inv.exp.NewProfile()
	}
	ep.exp.Add(hits, t)
	ep.dirty = true
}

// Time is an exchange's capture time: its request's start, or its end for
// a response whose request was not seen.
func Time(e *flow.Exchange) time.Time {
	if e.Start.IsZero() {
		return e.End
	}
	return e.Start
}

// Watch returns the fields of endpoint k's sensitive-data profile whose
// values a scan should count (exposure.Item.Watch); nil when none.
func (inv *Inventory) Watch(k Key) []exposure.Watch {
	if ep := inv.eps[k]; ep != nil {
		return ep.exp.Watch()
	}
	return nil
}

// Watch is Inventory.Watch of the endpoint.
func (ep *Endpoint) Watch() []exposure.Watch { return ep.exp.Watch() }

// Has reports whether k is an inventory endpoint.
func (inv *Inventory) Has(k Key) bool { return inv.eps[k] != nil }
