// Package scenario generates labelled captures for testing the analyzer's
// anomaly detection: a real HTTP API server (a small shop) and real clients,
// each with its own source address, talk inside a private network namespace
// captured with tcpdump. Dozens of normal clients browse, log in, order and
// export with realistic think times; each attack runs from its own client.
// The run is accelerated (Options.Speedup) and the capture's timestamps are
// stretched back afterwards, so a few seconds of real time give a capture
// of minutes. The ground truth (Truth) lists every attack with its type,
// client address, principal, endpoint, time span and request count.
//
// Tests call Generate, which skips when the environment cannot run it (not
// root, or ip, tcpdump or ethtool missing). See docs/scenarios.md.
package scenario

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// The attack types, as named in the ground truth.
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

// AllAttacks lists every attack type in the order they are documented.
var AllAttacks = []string{BOLAEnumeration, CredentialStuffing, BruteForce, RateAbuse, InjectionAttempt,
	UnauthenticatedAccess, DataExfiltration, ReconScan, PrivilegeEscalation, AuthFailureBurst, ErrorBurst}

// The kinds of normal clients.
const (
	KindUser        = "user"        // logs in, browses, views its accounts and orders, orders, exports a little
	KindBrowser     = "browser"     // anonymous: catalogue and search only
	KindAdmin       = "admin"       // an admin principal: the admin endpoints, and deletes a user or two
	KindMonitor     = "monitor"     // a load balancer's health check on /healthz every 10 s
	KindIntegration = "integration" // a partner's service account polling products
	KindAttacker    = "attacker"    // the client of one attack
)

// Options shape a scenario. The zero value gives the defaults.
type Options struct {
	// Seed selects the data (users, passwords, catalogue, customers), the
	// client addresses, every client's behaviour and the attacks' times
	// and variants.
	Seed int64
	// NormalClients is the number of normal clients, admins, the health
	// monitor and the partner integration included; default 40, in
	// [3, 500].
	NormalClients int
	// Duration is the virtual length of the scenario (what the capture
	// shows); default 5 minutes, at least 20 s.
	Duration time.Duration
	// Speedup is how much faster than Duration the scenario runs: real
	// time is Duration/Speedup. Default 100; in [1, 500]. Above ~200 the
	// scheduling noise of a busy machine (a millisecond) becomes a visible
	// fraction of a second of virtual time. With the race detector on it
	// is capped at RaceSpeedup. Run halves it (twice at most) when the
	// machine cannot keep up.
	Speedup float64
	// Attacks selects the attack types (see AllAttacks). nil means all of
	// them; an empty non-nil slice means none.
	Attacks []string
	// Volume multiplies the attacks' request counts (and the error burst's
	// window); default 1, in [0.2, 10]. Attack rates stay the same unless
	// the attack would not fit in Duration.
	Volume float64
	// Start is the virtual time of the scenario's start; zero means the
	// real time at which it runs.
	Start time.Time
}

// Defaults.
const (
	DefaultNormalClients = 40
	DefaultDuration      = 5 * time.Minute
	DefaultSpeedup       = 100
	// RaceSpeedup caps Speedup in a binary built with -race.
	RaceSpeedup = 10
)

func (o Options) normalize() (Options, error) {
	if o.NormalClients == 0 {
		o.NormalClients = DefaultNormalClients
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Speedup == 0 {
		o.Speedup = DefaultSpeedup
	}
	if o.Volume == 0 {
		o.Volume = 1
	}
	if o.Attacks == nil {
		o.Attacks = slices.Clone(AllAttacks)
	} else {
		o.Attacks = slices.Clone(o.Attacks)
	}
	var errs []error
	if o.NormalClients < 3 || o.NormalClients > 500 {
		errs = append(errs, fmt.Errorf("scenario: NormalClients %d out of [3, 500]", o.NormalClients))
	}
	if o.Duration < 20*time.Second {
		errs = append(errs, fmt.Errorf("scenario: Duration %v is shorter than 20s", o.Duration))
	}
	if o.Speedup < 1 || o.Speedup > 500 {
		errs = append(errs, fmt.Errorf("scenario: Speedup %v out of [1, 500]", o.Speedup))
	}
	if o.Volume < 0.2 || o.Volume > 10 {
		errs = append(errs, fmt.Errorf("scenario: Volume %v out of [0.2, 10]", o.Volume))
	}
	for _, a := range o.Attacks {
		if !slices.Contains(AllAttacks, a) {
			errs = append(errs, fmt.Errorf("scenario: unknown attack %q (want one of %s)", a, strings.Join(AllAttacks, ", ")))
		}
	}
	// The documented order, without duplicates.
	var sel []string
	for _, a := range AllAttacks {
		if slices.Contains(o.Attacks, a) {
			sel = append(sel, a)
		}
	}
	o.Attacks = sel
	if o.Attacks == nil {
		o.Attacks = []string{}
	}
	if raceEnabled && o.Speedup > RaceSpeedup {
		o.Speedup = RaceSpeedup
	}
	return o, errors.Join(errs...)
}

// key identifies the options for the per-process cache.
func (o Options) key() string {
	start := ""
	if !o.Start.IsZero() {
		start = o.Start.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%d/%d/%v/%v/%v/%s/%s", o.Seed, o.NormalClients, o.Duration, o.Speedup, o.Volume, strings.Join(o.Attacks, ","), start)
}

// Truth is the ground truth of one scenario.
type Truth struct {
	Options Options `json:"options"` // normalised
	// Start and End are the virtual span of the scenario (the capture lies
	// within it).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Server is the API's address ("10.77.0.1:80"), Host its Host header.
	Server string `json:"server"`
	Host   string `json:"host"`
	// Attacks lists one entry per selected attack type, in AllAttacks order.
	Attacks []Attack `json:"attacks"`
	// Clients lists every client, normal and attacker.
	Clients []Client `json:"clients"`
	// NormalIPs are the addresses of the normal clients (admins, monitor
	// and integration included); AdminIPs those of the admin principals.
	// No attack comes from them (error_burst has no client).
	NormalIPs []string `json:"normal_ips"`
	AdminIPs  []string `json:"admin_ips"`
	// Requests is the number of requests made, Capture describes the pcap.
	Requests int          `json:"requests"`
	Capture  CaptureStats `json:"capture"`
	// Log is every request, in the order the clients finished them. Not in
	// truth.json (see requests.jsonl).
	Log []Request `json:"-"`
}

// Attack is one attack of the ground truth.
type Attack struct {
	Type string `json:"type"`
	// Client is the attacker's address; empty for error_burst (a
	// server-side fault seen by the normal clients; Affected lists them).
	Client string `json:"client"`
	// Principal is the user name (the token's "sub") the attack runs as,
	// or the user name it targets (brute_force); empty when anonymous or
	// spread over many names (credential_stuffing).
	Principal string `json:"principal,omitempty"`
	// Method and Path are the attack's main endpoint (its most frequent
	// method and route template, e.g. "/api/v1/accounts/{id}"); Path is
	// "*" for paths outside the API's routes (recon_scan).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Endpoints lists every (method, route) of the attack's requests.
	Endpoints []Endpoint `json:"endpoints"`
	// First and Last are the virtual start times of the attack's first and
	// last requests; Requests counts them (for error_burst: the 5xx
	// answers). Setup requests (an attacker's own login) are not counted.
	First    time.Time   `json:"first"`
	Last     time.Time   `json:"last"`
	Requests int         `json:"requests"`
	Statuses map[int]int `json:"statuses"`
	// Affected lists the clients that received error_burst's 5xx.
	Affected []string `json:"affected,omitempty"`
	// Detail says how this run's variant of the attack behaves.
	Detail string `json:"detail,omitempty"`
}

// Endpoint counts one (method, route) of an attack.
type Endpoint struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Requests int    `json:"requests"`
}

// Client is one client of the scenario.
type Client struct {
	IP        string `json:"ip"`
	Kind      string `json:"kind"`
	Attack    string `json:"attack,omitempty"` // the attack type of an attacker
	Principal string `json:"principal,omitempty"`
	UserAgent string `json:"user_agent"`
	// Requests counts its requests; First and Last are the virtual start
	// times of its first and last.
	Requests int         `json:"requests"`
	First    time.Time   `json:"first"`
	Last     time.Time   `json:"last"`
	Statuses map[int]int `json:"statuses"`
}

// Request is one request as the client made it.
type Request struct {
	Client string `json:"client"` // source address
	Port   uint16 `json:"port"`   // source port
	Kind   string `json:"kind"`   // the client's kind
	// Attack is the attack type when the request is attack traffic (not
	// an attacker's setup, such as its login).
	Attack    string    `json:"attack,omitempty"`
	Principal string    `json:"principal,omitempty"` // the token's sub, when one was sent
	Method    string    `json:"method"`
	Target    string    `json:"target"` // as sent (path and query)
	Route     string    `json:"route"`  // the route template, "*" when none
	Status    int       `json:"status"`
	Start     time.Time `json:"start"` // virtual
	End       time.Time `json:"end"`   // virtual
	ReqBytes  int       `json:"req_bytes"`
	RespBytes int       `json:"resp_bytes"`
}

// CaptureStats describes the pcap.
type CaptureStats struct {
	Packets int       `json:"packets"`
	Bytes   int64     `json:"bytes"` // captured bytes (packet data)
	First   time.Time `json:"first"` // virtual timestamps of the first and last packets
	Last    time.Time `json:"last"`
	// Real is how long the traffic took in real time.
	Real time.Duration `json:"real_ns"`
}

// Attack returns the attack of type typ, or nil.
func (t *Truth) Attack(typ string) *Attack {
	for i := range t.Attacks {
		if t.Attacks[i].Type == typ {
			return &t.Attacks[i]
		}
	}
	return nil
}

// Client returns the client with address ip, or nil.
func (t *Truth) Client(ip string) *Client {
	for i := range t.Clients {
		if t.Clients[i].IP == ip {
			return &t.Clients[i]
		}
	}
	return nil
}

// IsNormal reports whether ip is a normal client's address.
func (t *Truth) IsNormal(ip string) bool { return slices.Contains(t.NormalIPs, ip) }

// buildTruth aggregates the request log.
func buildTruth(o Options, clk *clock, clients []*clientSpec, log []Request, fault faultSpec) Truth {
	t := Truth{
		Options:  o,
		Start:    clk.v0,
		End:      clk.v0.Add(o.Duration),
		Server:   fmt.Sprintf("%s:%d", serverIP, serverPort),
		Host:     apiHost,
		Requests: len(log),
		Log:      log,
	}
	byIP := map[string][]Request{}
	for _, r := range log {
		byIP[r.Client] = append(byIP[r.Client], r)
	}
	span := func(rs []Request) (first, last time.Time, st map[int]int) {
		st = map[int]int{}
		for i, r := range rs {
			if i == 0 || r.Start.Before(first) {
				first = r.Start
			}
			if r.Start.After(last) {
				last = r.Start
			}
			st[r.Status]++
		}
		return
	}
	for _, c := range clients {
		rs := byIP[c.ip]
		cl := Client{IP: c.ip, Kind: c.kind, Attack: c.attack, Principal: c.principal, UserAgent: c.ua, Requests: len(rs)}
		cl.First, cl.Last, cl.Statuses = span(rs)
		t.Clients = append(t.Clients, cl)
		if c.kind != KindAttacker {
			t.NormalIPs = append(t.NormalIPs, c.ip)
			if c.kind == KindAdmin {
				t.AdminIPs = append(t.AdminIPs, c.ip)
			}
		}
	}
	for _, typ := range o.Attacks {
		a := Attack{Type: typ}
		var rs []Request
		if typ == ErrorBurst {
			affected := map[string]bool{}
			for _, r := range log {
				if r.Status >= 500 {
					rs = append(rs, r)
					affected[r.Client] = true
				}
			}
			a.Affected = slices.Sorted(maps.Keys(affected))
			a.Detail = fmt.Sprintf("%s answers 5xx (mostly 503) from %v to %v of the scenario", fault.route, fault.from, fault.to)
		} else {
			for _, c := range clients {
				if c.attack == typ {
					a.Client, a.Principal, a.Detail = c.ip, c.principal, c.detail
					for _, r := range byIP[c.ip] {
						if r.Attack == typ {
							rs = append(rs, r)
						}
					}
				}
			}
		}
		a.Requests = len(rs)
		a.First, a.Last, a.Statuses = span(rs)
		count := map[[2]string]int{}
		for _, r := range rs {
			count[[2]string{r.Method, r.Route}]++
		}
		for k, n := range count {
			a.Endpoints = append(a.Endpoints, Endpoint{Method: k[0], Path: k[1], Requests: n})
		}
		sort.Slice(a.Endpoints, func(i, j int) bool {
			x, y := a.Endpoints[i], a.Endpoints[j]
			if x.Requests != y.Requests {
				return x.Requests > y.Requests
			}
			return x.Method+x.Path < y.Method+y.Path
		})
		if len(a.Endpoints) > 0 {
			a.Method, a.Path = a.Endpoints[0].Method, a.Endpoints[0].Path
		}
		t.Attacks = append(t.Attacks, a)
	}
	return t
}
