package inventory

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/apitap/apitap/analyzer/route"
)

// saved is the stored form of an endpoint's mergeable state (the
// endpoints table's state_blob). Inferred body schemas are not kept: they
// are rebuilt from the traffic after a restart.
type saved struct {
	V         int            `json:"v"`
	Host      string         `json:"host"`
	Port      uint16         `json:"port"`
	Method    string         `json:"method"`
	Path      string         `json:"path"`
	Operation string         `json:"operation,omitempty"`
	State     string         `json:"state"`
	Spec      string         `json:"spec,omitempty"`
	Params    []route.Param  `json:"params,omitempty"`
	First     time.Time      `json:"first"`
	Last      time.Time      `json:"last"`
	Requests  uint64         `json:"requests"`
	Status    map[int]uint64 `json:"status"`
	Auth      uint8          `json:"auth"`
	Carriers  counts         `json:"carriers,omitempty"`
	Clients   distinct       `json:"clients"`
	Callers   []string       `json:"callers,omitempty"`
	Latency   *hist          `json:"latency"`
	ReqSize   *hist          `json:"req_size"`
	RespSize  *hist          `json:"resp_size"`
	Query     counts         `json:"query,omitempty"`
	Headers   counts         `json:"headers,omitempty"`
	ReqTypes  counts         `json:"req_types,omitempty"`
	RespTypes counts         `json:"resp_types,omitempty"`
	// Sensitive is the endpoint's sensitive-data profile (exposure.Profile).
	Sensitive json.RawMessage `json:"sensitive,omitempty"`
	// Baseline is what anomaly detection learned of the endpoint
	// (StateHook), so a restarted analyzer does not start blind.
	Baseline json.RawMessage `json:"baseline,omitempty"`
}

// StateHook lets another component keep per-endpoint state in the
// endpoint's stored state: Save is asked for it when the entry is
// written, Load is given it back when the entry is restored.
type StateHook struct {
	Save func(k Key) json.RawMessage
	Load func(k Key, data json.RawMessage) error
}

// UseStateHook installs h (the analyzer's anomaly baselines).
func (inv *Inventory) UseStateHook(h StateHook) { inv.hook = h }

const stateVersion = 1

func (ep *Endpoint) state() saved {
	return saved{V: stateVersion, Host: ep.Host, Port: ep.Port, Method: ep.Method, Path: ep.Path,
		Operation: ep.Operation, State: ep.State, Spec: ep.Spec, Params: ep.Params, First: ep.FirstSeen,
		Last: ep.LastSeen, Requests: ep.Requests, Status: ep.Status, Auth: ep.auth, Carriers: ep.carriers, Clients: ep.clients,
		Callers: ep.callers, Latency: &ep.latency, ReqSize: &ep.reqSize, RespSize: &ep.respSize,
		Query: ep.query, Headers: ep.headers, ReqTypes: ep.reqTypes, RespTypes: ep.respTypes,
		Sensitive: ep.sensitive()}
}

func (ep *Endpoint) sensitive() json.RawMessage {
	if ep.exp.Len() == 0 {
		return nil
	}
	b, err := ep.exp.MarshalJSON()
	if err != nil {
		return nil
	}
	return b
}

// Restore takes a stored entry back (an analyzer starting, or taking a
// host's partition over). Stored state is the state another analyzer (or
// this one before a restart) had: if this inventory has no entry for the
// key it adopts it; if it has one, the one with more requests wins whole
// (counts only grow, and adding both would count the overlap twice). The
// entry is re-classified against the current specs, so a spec change
// between runs takes effect.
func (inv *Inventory) Restore(blob []byte) error {
	var s saved
	if err := json.Unmarshal(blob, &s); err != nil {
		return fmt.Errorf("inventory: stored state: %w", err)
	}
	if s.V != stateVersion {
		return fmt.Errorf("inventory: stored state version %d, want %d", s.V, stateVersion)
	}
	k := Key{Host: s.Host, Port: s.Port, Method: s.Method, Path: s.Path, Operation: s.Operation}
	if cur := inv.eps[k]; cur != nil && cur.Requests >= s.Requests {
		return nil
	}
	if inv.eps[k] == nil && len(inv.eps) >= inv.cfg.MaxEndpoints {
		inv.st.EndpointOverflow++
		return nil
	}
	c := Class{Key: k, State: s.State, Spec: s.Spec, Params: s.Params}
	if op, ok := inv.match.Match(k.Host, k.Method, k.Path); ok && op.Template == k.Path {
		c.op, c.Spec, c.State = op, op.Spec.File, Documented
		if op.Deprecated {
			c.State = Zombie
		}
	} else if c.State != Zombie {
		c.State, c.Spec = Shadow, ""
	}
	ep := &Endpoint{Class: c, FirstSeen: s.First, LastSeen: s.Last, Requests: s.Requests, Status: s.Status,
		auth: s.Auth, carriers: s.Carriers, clients: s.Clients, callers: s.Callers, query: s.Query, headers: s.Headers, reqTypes: s.ReqTypes, respTypes: s.RespTypes}
	if ep.Status == nil {
		ep.Status = map[int]uint64{}
	}
	if s.Latency != nil {
		ep.latency = *s.Latency
	}
	if s.ReqSize != nil {
		ep.reqSize = *s.ReqSize
	}
	if s.RespSize != nil {
		ep.respSize = *s.RespSize
	}
	if len(s.Sensitive) > 0 && inv.exp != nil {
		p, err := inv.exp.Restore(nil, s.Sensitive)
		if err != nil {
			return err
		}
		ep.exp = p
	}
	if len(s.Baseline) > 0 && inv.hook.Load != nil {
		if err := inv.hook.Load(k, s.Baseline); err != nil {
			return err
		}
	}
	if cur := inv.eps[k]; cur != nil {
		cur.exp.Release() // replaced whole
	}
	inv.eps[k] = ep
	if s.First.Before(inv.start) || inv.start.IsZero() {
		inv.start = s.First
	}
	if s.Last.After(inv.clock) {
		inv.clock = s.Last
	}
	return nil
}

// Stats returns the counters.
func (inv *Inventory) Stats() Stats {
	st := inv.st
	st.Endpoints, st.Probes = len(inv.eps), len(inv.probes)
	for _, ep := range inv.eps {
		switch ep.State {
		case Documented:
			st.Documented++
		case Shadow:
			st.Shadow++
		case Zombie:
			st.Zombie++
		}
	}
	st.BlindSeconds = inv.blindIn(inv.start, inv.clock).Seconds()
	return st
}

// Probe is one line of probes.json: a path that only ever answered 404.
type Probe struct {
	Host      string    `json:"host"`
	Path      string    `json:"path"`
	Requests  uint64    `json:"requests"`
	Clients   uint64    `json:"clients"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Probes returns the probe statistics, busiest first.
func (inv *Inventory) Probes() []Probe {
	out := make([]Probe, 0, len(inv.probes))
	for _, p := range inv.probes {
		out = append(out, Probe{Host: p.host, Path: p.path, Requests: p.requests, Clients: p.clients.count(),
			FirstSeen: p.firstSeen, LastSeen: p.lastSeen})
	}
	sortProbes(out)
	return out
}
