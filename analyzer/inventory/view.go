package inventory

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/apitap/apitap/analyzer/exposure"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apitap/apitap/analyzer/openapi"
	"github.com/apitap/apitap/analyzer/route"
	"github.com/apitap/apitap/analyzer/spec"
)

// Entry is one line of endpoints.jsonl (a contract: names are kept, fields
// only added) and one row of the ClickHouse endpoints table.
type Entry struct {
	Host        string            `json:"host"`
	Port        uint16            `json:"port"`
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Operation   string            `json:"operation,omitempty"`
	State       string            `json:"state"`
	Requests    uint64            `json:"requests"`
	FirstSeen   *time.Time        `json:"first_seen"`
	LastSeen    *time.Time        `json:"last_seen"`
	StatusCodes map[string]uint64 `json:"status_codes"`
	Auth        []string          `json:"auth"`
	Clients     uint64            `json:"clients"`
	Spec        string            `json:"spec"`
	OperationID string            `json:"operation_id,omitempty"`
	Deprecated  bool              `json:"deprecated,omitempty"`
	// Params explains each path parameter of a learned template.
	Params        []ParamReason `json:"params,omitempty"`
	QueryParams   []string      `json:"query_params,omitempty"`
	HeaderParams  []string      `json:"header_params,omitempty"`
	RequestTypes  []string      `json:"request_content_types,omitempty"`
	ResponseTypes []string      `json:"response_content_types,omitempty"`
	LatencyMs     *Quantiles    `json:"latency_ms,omitempty"`
	ResponseBytes *Quantiles    `json:"response_bytes,omitempty"`
	// PIITypes lists the sensitive value types the endpoint carries, by
	// location ("response.body": ["email", "phone"]); tiers below likely
	// and examples are left out (docs/sensitive-data.md).
	PIITypes map[string][]string `json:"pii_types,omitempty"`

	ep   *Endpoint
	hook StateHook
}

// ParamReason says why a path segment is a parameter (docs/templating.md).
type ParamReason struct {
	Position int    `json:"position"` // segment index, 0 = the first after '/'
	Name     string `json:"name"`
	Reason   string `json:"reason"` // class:uuid, cardinality:57, rule:force, ...
}

func reasons(ps []route.Param) []ParamReason {
	if len(ps) == 0 {
		return nil
	}
	out := make([]ParamReason, len(ps))
	for i, p := range ps {
		out[i] = ParamReason{Position: p.Position, Name: p.Name, Reason: p.Reason}
	}
	return out
}

// Quantiles of a histogram.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

func quantiles(h *hist, scale float64) *Quantiles {
	if h.n == 0 {
		return nil
	}
	return &Quantiles{P50: float64(h.quantile(0.5)) * scale, P95: float64(h.quantile(0.95)) * scale,
		P99: float64(h.quantile(0.99)) * scale}
}

func (ep *Endpoint) entry(state string) Entry {
	first, last := ep.FirstSeen, ep.LastSeen
	e := Entry{Host: ep.Host, Port: ep.Port, Method: ep.Method, Path: ep.Path, Operation: ep.Operation,
		State: state, Requests: ep.Requests, FirstSeen: &first, LastSeen: &last,
		StatusCodes: map[string]uint64{}, Auth: authList(ep.auth), Clients: ep.clients.count(), Spec: ep.Spec,
		Params: reasons(ep.Params), QueryParams: ep.query.sorted(), HeaderParams: ep.headers.sorted(), RequestTypes: ep.reqTypes.sorted(),
		ResponseTypes: ep.respTypes.sorted(), LatencyMs: quantiles(&ep.latency, 0.001),
		ResponseBytes: quantiles(&ep.respSize, 1), PIITypes: ep.exp.Types(), ep: ep}
	if ep.op != nil {
		e.OperationID, e.Deprecated = ep.op.OperationID, ep.op.Deprecated
	}
	for s, n := range ep.Status {
		e.StatusCodes[strconv.Itoa(s)] = n
	}
	if e.Auth == nil {
		e.Auth = []string{}
	}
	return e
}

// Entries returns the whole inventory, sorted: every endpoint seen, with
// its state as of now (a documented one unseen for dormant_after is
// dormant), and every documented operation never seen, as dormant.
func (inv *Inventory) Entries() []Entry {
	out := make([]Entry, 0, len(inv.eps))
	seen := map[*spec.Operation]map[string]bool{} // op -> hosts seen
	hostsOf := map[*spec.Spec]map[string]bool{}
	for _, ep := range inv.eps {
		state := ep.State
		if ep.op != nil {
			if seen[ep.op] == nil {
				seen[ep.op] = map[string]bool{}
			}
			seen[ep.op][ep.Host] = true
			if hostsOf[ep.op.Spec] == nil {
				hostsOf[ep.op.Spec] = map[string]bool{}
			}
			hostsOf[ep.op.Spec][ep.Host] = true
			if state == Documented && inv.unseen(ep.LastSeen) >= inv.cfg.DormantAfter {
				state = Dormant
			}
		}
		out = append(out, ep.entry(state))
		out[len(out)-1].hook = inv.hook
	}
	if inv.observed() > 0 {
		for _, sp := range inv.specs {
			hosts := sortedKeys(hostsOf[sp])
			if len(hosts) == 0 {
				hosts = sp.Hosts
			}
			if len(hosts) == 0 {
				hosts = []string{"*"}
			}
			for _, op := range sp.Operations {
				for _, h := range hosts {
					if seen[op][h] || op.Deprecated {
						continue
					}
					out = append(out, Entry{Host: h, Method: op.Method, Path: op.Template, State: Dormant,
						StatusCodes: map[string]uint64{}, Auth: []string{}, Spec: sp.File, OperationID: op.OperationID})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Port, b.Port))
	})
	return out
}

// observed is the capture time the inventory could see: from the first to
// the last exchange, minus the blind windows.
func (inv *Inventory) observed() time.Duration {
	if inv.start.IsZero() {
		return 0
	}
	return inv.clock.Sub(inv.start) - inv.blindIn(inv.start, inv.clock) + time.Nanosecond
}

// unseen is how long, in capture time the sensors could see, since t.
func (inv *Inventory) unseen(t time.Time) time.Duration {
	return inv.clock.Sub(t) - inv.blindIn(t, inv.clock)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// MarkClean clears the changed marks without building entries (after a
// Flush has written every entry anyway).
func (inv *Inventory) MarkClean() {
	for _, ep := range inv.eps {
		ep.dirty = false
	}
}

// Dirty returns the entries changed since the last call and clears the
// marks: what storage needs to upsert after a batch.
func (inv *Inventory) Dirty() []Entry {
	var out []Entry
	for _, ep := range inv.eps {
		if !ep.dirty {
			continue
		}
		ep.dirty = false
		state := ep.State
		out = append(out, ep.entry(state))
		out[len(out)-1].hook = inv.hook
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Host+a.Path+a.Method, b.Host+b.Path+b.Method) })
	return out
}

// Finding is a new shadow or zombie endpoint (findings.jsonl and the
// ClickHouse findings table). Kind is "shadow_endpoint" or
// "zombie_endpoint" (a contract).
type Finding struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Severity  string    `json:"severity"`
	Host      string    `json:"host"`
	Port      uint16    `json:"port"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Operation string    `json:"operation,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Requests  uint64    `json:"requests"`
	Clients   []string  `json:"clients"`
	Spec      string    `json:"spec,omitempty"`
	Summary   string    `json:"summary"`
}

// FindingOf returns the finding an entry raises, if its state raises one.
func FindingOf(e Entry) (Finding, bool) {
	var kind, sev, summary string
	switch e.State {
	case Shadow:
		kind, sev = "shadow_endpoint", "medium"
		summary = "undocumented endpoint " + e.Method + " " + e.Host + e.Path + " is called"
	case Zombie:
		kind, sev = "zombie_endpoint", "high"
		summary = "deprecated or retired endpoint " + e.Method + " " + e.Host + e.Path + " is still called"
	default:
		return Finding{}, false
	}
	if e.ep == nil || e.FirstSeen == nil {
		return Finding{}, false
	}
	h := sha256.Sum256([]byte(kind + "\x00" + e.Host + "\x00" + strconv.Itoa(int(e.Port)) + "\x00" + e.Method + "\x00" + e.Path + "\x00" + e.Operation))
	clients := append([]string{}, e.ep.callers...)
	return Finding{ID: hex.EncodeToString(h[:12]), Kind: kind, Severity: sev, Host: e.Host, Port: e.Port,
		Method: e.Method, Path: e.Path, Operation: e.Operation, FirstSeen: *e.FirstSeen, LastSeen: *e.LastSeen,
		Requests: e.Requests, Clients: clients, Spec: e.Spec, Summary: summary}, true
}

// OpenAPI builds the openapi.json document of everything observed, from
// the entries Entries returned. Sub-endpoints (GraphQL, SOAP, RPC
// operations) share one URL, which is one OpenAPI operation: they are
// merged into it.
func OpenAPI(title, version string, entries []Entry) ([]byte, error) {
	type urlKey struct {
		host   string
		port   uint16
		method string
		path   string
	}
	merged := map[urlKey]*Entry{}
	var order []urlKey
	for _, e := range entries {
		if e.ep == nil {
			continue // dormant, never seen: nothing observed to describe
		}
		k := urlKey{e.Host, e.Port, e.Method, e.Path}
		if m := merged[k]; m != nil {
			cp := &Endpoint{Class: m.ep.Class, FirstSeen: m.ep.FirstSeen, LastSeen: m.ep.LastSeen, Status: map[int]uint64{}}
			cp.Operation = ""
			cp.merge(m.ep)
			cp.merge(e.ep)
			ne := cp.entry(worse(m.State, e.State))
			merged[k] = &ne
			continue
		}
		e := e
		merged[k] = &e
		order = append(order, k)
	}
	var ops []openapi.Operation
	for _, k := range order {
		e := merged[k]
		ep := e.ep
		op := openapi.Operation{Host: e.Host, Port: int(e.Port), Method: e.Method, Path: e.Path, State: e.State,
			RequestContentTypes: e.RequestTypes, Auth: openapiAuth(ep), Requests: e.Requests,
			FirstSeen: *e.FirstSeen, LastSeen: *e.LastSeen}
		for _, q := range e.QueryParams {
			op.Params = append(op.Params, openapi.Param{Name: q, In: "query", Required: ep.query[q] == ep.Requests})
		}
		for _, h := range e.HeaderParams {
			if slices.ContainsFunc(op.Auth, func(a string) bool { return strings.EqualFold(a, "apikey:"+h) }) {
				continue // an API key header is a security scheme, not a parameter
			}
			op.Params = append(op.Params, openapi.Param{Name: h, In: "header", Required: ep.headers[h] == ep.Requests})
		}
		if ep.reqBody.Count() > 0 {
			op.RequestBody = &ep.reqBody
		}
		statuses := make([]int, 0, len(ep.Status))
		for s := range ep.Status {
			if s > 0 {
				statuses = append(statuses, s)
			}
		}
		slices.Sort(statuses)
		for _, s := range statuses {
			r := openapi.Response{Status: s, Body: ep.respBody[s]}
			if r.Body == nil {
				r.Body = ep.respBody[s/100*100]
			}
			if r.Body != nil {
				r.ContentTypes = e.ResponseTypes
			}
			op.Responses = append(op.Responses, r)
		}
		ops = append(ops, op)
	}
	return openapi.Build(title, version, ops)
}

// openapiAuth names the schemes for the export, with the credential's
// carrier (header, query parameter, cookie) where the sensor saw it.
func openapiAuth(ep *Endpoint) []string {
	var out []string
	for _, a := range authList(ep.auth) {
		switch a {
		case "apikey", "cookie":
			found := false
			for _, c := range ep.carriers.sorted() {
				if strings.HasPrefix(c, a+":") || a == "apikey" && strings.HasPrefix(c, "apikey:") {
					out = append(out, c)
					found = true
				}
			}
			if !found {
				out = append(out, a)
			}
		case "other":
		default:
			out = append(out, a)
		}
	}
	return slices.Compact(out)
}

// worse is the state a merged URL reports: a zombie or shadow part wins.
func worse(a, b string) string {
	rank := map[string]int{Zombie: 3, Shadow: 2, Documented: 1}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// MarshalState serialises an endpoint's mergeable state for storage, so
// that a restarted analyzer (or the one that takes the host over) carries
// the inventory on (docs/inventory.md, "Scale and state").
func (e Entry) MarshalState() []byte {
	if e.ep == nil {
		return nil
	}
	st := e.ep.state()
	if e.hook.Save != nil {
		st.Baseline = e.hook.Save(e.ep.Key)
	}
	b, _ := json.Marshal(st)
	return b
}

func sortProbes(p []Probe) {
	slices.SortFunc(p, func(a, b Probe) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Path, b.Path))
	})
}

// Exposures returns the entry's sensitive-data findings (kind "pii" and
// "exposure"), sorted. With dueOnly, only those due for a report (new, or
// changed since the last report; exposure.Config.ReportEvery) are
// returned and they are marked reported.
func (e Entry) Exposures(dueOnly bool) []exposure.Finding {
	if e.ep == nil {
		return nil
	}
	return e.ep.exp.Findings(exposure.Endpoint{Host: e.Host, Port: e.Port, Method: e.Method, Path: e.Path,
		Operation: e.Operation}, dueOnly)
}
