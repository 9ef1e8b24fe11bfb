package anomaly

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

type episodeKey struct {
	typ       string
	client    netip.Addr
	principal string
	ep        epKey
}

// episode is one stretch of one anomaly: it lasts while the behaviour
// keeps crossing its threshold with gaps shorter than EpisodeGap.
type episode struct {
	id          string
	key         episodeKey
	start, last time.Time
	count       uint64
	evidence    map[string]any
	evAt        time.Time  // when evidence was built
	client      netip.Addr // endpoint-level episodes: the client behind it, when one dominates
	dirty       bool
	repAt       time.Time
}

// raise opens or extends the episode of typ for ev. Endpoint-level types
// (bursts) have no client; host-wide ones (recon) have no endpoint.
// since is when the state that crossed the threshold began (its window).
func (d *Detector) raise(typ string, ev *Event, ek epKey, actorLevel bool, since time.Time, count uint64) *episode {
	k := episodeKey{typ: typ, ep: ek}
	switch {
	case actorLevel:
		k.client, k.principal = ev.Client, ev.Principal
	case typ != AuthFailureBurst && typ != ErrorBurst:
		k.client = ev.Client
	}
	e := d.episodes[k]
	if e != nil && ev.Time.Sub(e.last) > d.cfg.EpisodeGap {
		d.retire(e)
		e = nil // a new episode
	}
	if e == nil {
		if len(d.episodes) >= d.cfg.MaxEpisodes {
			d.sweep()
			if len(d.episodes) >= d.cfg.MaxEpisodes {
				d.st.EpisodeOverflow++
				return nil
			}
		}
		if since.IsZero() || since.After(ev.Time) {
			since = ev.Time
		}
		k.principal, k.ep = strings.Clone(k.principal), k.ep.clone()
		e = &episode{key: k, start: since, count: max(count, 1)}
		e.id = episodeID(k, since)
		d.episodes[k] = e
		d.st.Episodes++
	} else {
		e.count = max(e.count+1, count)
	}
	if ev.Time.After(e.last) {
		e.last = ev.Time
	}
	e.dirty = true
	return e
}

// evidenceEvery is how often (capture time) an open episode's evidence is
// rebuilt: building it costs allocations, and an attack raises on every
// request.
const evidenceEvery = 10 * time.Second

// refresh reports whether the caller should (re)build e's evidence now:
// a new episode, evidenceEvery since the last time, or force (a change
// that matters, such as one that raises the severity). It is false for
// nil (an episode that could not be tracked).
func (e *episode) refresh(t time.Time, force bool) bool {
	if e == nil {
		return false
	}
	if force || e.evidence == nil || t.Sub(e.evAt) >= evidenceEvery || t.Before(e.evAt) {
		e.evAt = t
		return true
	}
	return false
}

// retire ends an episode: it leaves the live set; its last state is
// reported by the next Findings(true) if it changed since, and it stays
// listed by Findings(false) (bounded by MaxEpisodes, oldest dropped).
func (d *Detector) retire(e *episode) {
	if e.dirty {
		d.closed = append(d.closed, e)
	}
	if len(d.ended) >= d.cfg.MaxEpisodes {
		d.ended = d.ended[1:]
		d.st.EndedDropped++
	}
	d.ended = append(d.ended, e)
}

// Finding is one anomaly episode: a line of findings.jsonl (a contract:
// names are kept, fields only added) and a row of the findings table.
type Finding struct {
	ID          string         `json:"id"`
	Kind        string         `json:"kind"` // "anomaly"
	Type        string         `json:"type"`
	Severity    string         `json:"severity"`
	ClientIP    string         `json:"client_ip"`
	Principal   string         `json:"principal"`
	Host        string         `json:"host"`
	Method      string         `json:"method"`
	Path        string         `json:"path"`
	Operation   string         `json:"operation,omitempty"`
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"`
	Count       uint64         `json:"count"`
	Evidence    map[string]any `json:"evidence"`
	Summary     string         `json:"summary"`
}

var severity = map[string]string{
	BOLAEnumeration: "high", CredentialStuffing: "high", BruteForce: "high", RateAbuse: "medium",
	InjectionAttempt: "high", UnauthenticatedAccess: "high", DataExfiltration: "high", ReconScan: "medium",
	PrivilegeEscalation: "high", AuthFailureBurst: "medium", ErrorBurst: "medium",
}

// Findings returns the episodes as findings, sorted by start. With
// dueOnly, only episodes that changed and were not reported within
// ReportEvery (capture time) — or never — are returned, and they are
// marked reported; without, every episode still held.
func (d *Detector) Findings(dueOnly bool) []Finding {
	var out []Finding
	if dueOnly {
		for _, e := range d.closed {
			if d.reportable(e) {
				out = append(out, d.finding(e))
			}
		}
		d.closed = d.closed[:0]
	} else {
		for _, e := range d.ended {
			if d.reportable(e) {
				out = append(out, d.finding(e))
			}
		}
	}
	for _, e := range d.episodes {
		if !d.reportable(e) || dueOnly && (!e.dirty || !e.repAt.IsZero() && e.last.Sub(e.repAt) < d.cfg.ReportEvery) {
			continue
		}
		e.dirty, e.repAt = false, e.last
		out = append(out, d.finding(e))
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// reportable: an episode held back until it has enough events (an
// unauthenticated_access episode needs UnauthMinEvents; it stays dirty, so
// it is reported once it has them).
//
// An endpoint that answered the unauthenticated requests of
// unauth_public_clients distinct clients is public (a catalogue, a
// search most visitors use logged in): its unauthenticated_access
// episodes are not reported. Broken access control is one caller getting
// what everybody else needs credentials for.
func (d *Detector) reportable(e *episode) bool {
	if e.key.typ != UnauthenticatedAccess {
		return true
	}
	if ep := d.eps[e.key.ep]; ep != nil && len(ep.anon) >= d.cfg.UnauthPublicClients {
		return false
	}
	return e.count >= uint64(d.cfg.UnauthMinEvents)
}

func (d *Detector) finding(e *episode) Finding {
	k := e.key
	f := Finding{ID: e.id, Kind: Kind, Type: k.typ, Severity: severity[k.typ], Principal: k.principal,
		Host: k.ep.host, Method: k.ep.method, Path: k.ep.path, Operation: k.ep.op, WindowStart: e.start,
		WindowEnd: e.last, Count: e.count, Evidence: e.evidence}
	if k.client.IsValid() {
		f.ClientIP = k.client.String()
	} else if e.client.IsValid() {
		f.ClientIP = e.client.String()
	}
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	if k.typ == InjectionAttempt {
		if leak, _ := f.Evidence["leaked_internals"].(bool); leak {
			f.Severity = "critical"
		}
	}
	who := f.ClientIP
	if f.Principal != "" {
		who += " (" + f.Principal + ")"
	}
	where := f.Method + " " + f.Host + f.Path
	switch k.typ {
	case ReconScan:
		where = f.Host
	case AuthFailureBurst, ErrorBurst:
		if f.ClientIP == "" {
			who = "clients"
		}
	}
	f.Summary = fmt.Sprintf("%s: %s on %s, %d events %s .. %s", k.typ, who, where, f.Count,
		f.WindowStart.UTC().Format(time.RFC3339), f.WindowEnd.UTC().Format(time.RFC3339))
	return f
}
