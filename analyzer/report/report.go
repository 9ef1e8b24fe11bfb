// Package report is the analyzer's output folder for `apitap run --out DIR`:
// machine-readable files (endpoints.jsonl, openapi.json, findings.jsonl,
// probes.json, loss.json) and a readable summary (summary.txt, also printed
// on the terminal). It is an analyzer.Sink for the exchange totals and the
// loss records; the inventory files come from the analyzer's inventory.
package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/anomaly"
	"github.com/apitap/apitap/analyzer/exposure"
	"github.com/apitap/apitap/analyzer/inventory"
)

// File names written into the output folder (a contract: scripts read them).
const (
	EndpointsFile = "endpoints.jsonl"
	OpenAPIFile   = "openapi.json"
	FindingsFile  = "findings.jsonl"
	ProbesFile    = "probes.json"
	LossFile      = "loss.json"
	SummaryFile   = "summary.txt"
)

// Loss is one line of loss.json: a sensor's report that it was blind.
type Loss struct {
	SensorID    string    `json:"sensor_id"`
	Sequence    uint64    `json:"sequence"`
	Stage       string    `json:"stage"`
	Reason      string    `json:"reason"`
	Unit        string    `json:"unit"`
	Count       uint64    `json:"count"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
}

// Report collects rows. Replays are harmless: loss rows are keyed by
// sensor and sequence, and exchange counts
// skip sequence numbers at or below the highest one already counted per
// sensor (the in-memory bus delivers each sensor's records in order).
type Report struct {
	// MaxLoss bounds the loss rows kept (the rest are summed). Default 10000.
	MaxLoss int

	mu        sync.Mutex
	loss      map[lossKey]analyzer.LossRow
	lossOver  uint64
	seen      map[string]uint64 // sensor id -> highest sequence counted
	exchanges uint64
	status    [6]uint64 // none, 1xx..5xx
	reqBytes  uint64
	respBytes uint64
	first     time.Time
	last      time.Time
}

type lossKey struct {
	sensor string
	seq    uint64
}

// New returns an empty Report.
func New() *Report {
	return &Report{MaxLoss: 10000, loss: map[lossKey]analyzer.LossRow{}, seen: map[string]uint64{}}
}

// Write folds a batch's rows in (analyzer.Sink).
func (r *Report) Write(_ context.Context, res *analyzer.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	hw := map[string]uint64{}
	for i := range res.Exchanges {
		x := &res.Exchanges[i]
		if x.Sequence <= r.seen[x.SensorID] {
			continue // already counted (a replayed batch)
		}
		hw[x.SensorID] = max(hw[x.SensorID], x.Sequence)
		r.exchanges++
		r.status[min(int(x.Status)/100, 5)]++
		r.reqBytes += x.RequestBytes
		r.respBytes += x.ResponseBytes
		if r.first.IsZero() || x.Time.Before(r.first) {
			r.first = x.Time
		}
		if x.Time.After(r.last) {
			r.last = x.Time
		}
	}
	for id, s := range hw {
		r.seen[id] = max(r.seen[id], s)
	}
	for _, l := range res.Losses {
		k := lossKey{l.SensorID, l.Sequence}
		if _, ok := r.loss[k]; !ok && len(r.loss) >= r.MaxLoss {
			r.lossOver += l.Count
			continue
		}
		r.loss[k] = l
	}
	return nil
}

// Exchanges is the number of distinct exchanges counted.
func (r *Report) Exchanges() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exchanges
}

// Losses returns the loss rows sorted by sensor and sequence.
func (r *Report) Losses() []Loss {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Loss, 0, len(r.loss))
	for _, l := range r.loss {
		out = append(out, Loss{SensorID: l.SensorID, Sequence: l.Sequence, Stage: l.Stage, Reason: l.Reason,
			Unit: l.Unit, Count: l.Count, WindowStart: l.WindowStart.UTC(), WindowEnd: l.WindowEnd.UTC()})
	}
	slices.SortFunc(out, func(a, b Loss) int {
		return cmp.Or(cmp.Compare(a.SensorID, b.SensorID), cmp.Compare(a.Sequence, b.Sequence))
	})
	return out
}

// Inventory is the inventory as the output files show it, taken once at
// the end of a run (the files and the summary read the same snapshot).
type Inventory struct {
	Entries []inventory.Entry
	Probes  []inventory.Probe
	// Exposures are the sensitive-data findings of every entry, most
	// severe first.
	Exposures []exposure.Finding
	// Anomalies are the anomaly episodes (set by the caller:
	// analyzer.Anomalies).
	Anomalies []anomaly.Finding
}

// Snapshot takes the inventory's entries and probes; inv may be nil.
func Snapshot(inv *inventory.Inventory) *Inventory {
	if inv == nil {
		return nil
	}
	snap := &Inventory{Entries: inv.Entries(), Probes: inv.Probes()}
	for _, e := range snap.Entries {
		snap.Exposures = append(snap.Exposures, e.Exposures(false)...)
	}
	slices.SortStableFunc(snap.Exposures, func(a, b exposure.Finding) int {
		return cmp.Or(cmp.Compare(rank(b.Severity), rank(a.Severity)), cmp.Compare(b.Count, a.Count))
	})
	return snap
}

func rank(sev string) int {
	return slices.Index([]string{"info", "low", "medium", "high", "critical"}, sev)
}

// WriteDir writes the files into dir (created if missing). inv may be nil
// (no inventory files then).
func (r *Report) WriteDir(dir string, top int, inv *Inventory) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if inv != nil {
		entries := inv.Entries
		if err := writeLines(filepath.Join(dir, EndpointsFile), entries); err != nil {
			return err
		}
		var fs []inventory.Finding
		for _, e := range entries {
			if f, ok := inventory.FindingOf(e); ok {
				fs = append(fs, f)
			}
		}
		b, err := appendLines(nil, fs)
		if err != nil {
			return err
		}
		if b, err = appendLines(b, inv.Exposures); err != nil {
			return err
		}
		if b, err = appendLines(b, inv.Anomalies); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, FindingsFile), b); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, ProbesFile), inv.Probes); err != nil {
			return err
		}
		doc, err := inventory.OpenAPI("apitap: observed APIs", time.Now().UTC().Format("2006-01-02"), entries)
		if err != nil {
			return fmt.Errorf("openapi: %w", err)
		}
		if err := writeFile(filepath.Join(dir, OpenAPIFile), doc); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, LossFile), r.Losses()); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, SummaryFile))
	if err != nil {
		return err
	}
	r.Summary(f, top, inv)
	return f.Close()
}

// writeLines writes one JSON object per line.
func writeLines[T any](path string, items []T) error {
	b, err := appendLines(nil, items)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func appendLines[T any](b []byte, items []T) ([]byte, error) {
	for i := range items {
		line, err := json.Marshal(&items[i])
		if err != nil {
			return b, err
		}
		b = append(append(b, line...), '\n')
	}
	return b, nil
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path) // readers never see half a file
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

// Summary writes the readable report: totals, the busiest endpoints, and
// every loss the sensors reported.
func (r *Report) Summary(w io.Writer, top int, inv *Inventory) {
	var eps []inventory.Entry
	var probes []inventory.Probe
	var exps []exposure.Finding
	var anoms []anomaly.Finding
	if inv != nil {
		eps, probes, exps, anoms = inv.Entries, inv.Probes, inv.Exposures, inv.Anomalies
	}
	losses := r.Losses()
	r.mu.Lock()
	n, st, rq, rs, first, last, over := r.exchanges, r.status, r.reqBytes, r.respBytes, r.first, r.last, r.lossOver
	r.mu.Unlock()
	hosts := map[string]bool{}
	for _, e := range eps {
		hosts[e.Host] = true
	}
	states := map[string]int{}
	seen := 0
	for _, e := range eps {
		states[e.State]++
		if e.Requests > 0 {
			seen++
		}
	}
	fmt.Fprintf(w, "apitap: %d exchanges, %d endpoints seen on %d hosts", n, seen, len(hosts))
	if !first.IsZero() {
		fmt.Fprintf(w, ", %s .. %s", first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\nstatus: 2xx %d  3xx %d  4xx %d  5xx %d  1xx %d  no response %d\n", st[2], st[3], st[4], st[5], st[1], st[0])
	fmt.Fprintf(w, "bytes: requests %d, responses %d\n", rq, rs)
	fmt.Fprintf(w, "inventory: %d documented, %d shadow, %d zombie, %d dormant; %d probed paths (404 only)\n\n",
		states[inventory.Documented], states[inventory.Shadow], states[inventory.Zombie], states[inventory.Dormant], len(probes))
	if len(eps) > 0 {
		eps = slices.Clone(eps)
		slices.SortStableFunc(eps, func(a, b inventory.Entry) int { return cmp.Compare(b.Requests, a.Requests) })
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REQUESTS\tCLIENTS\tSTATE\tMETHOD\tHOST\tENDPOINT")
		for i, e := range eps {
			if i == top {
				fmt.Fprintf(tw, "...\t\t\t\t\t(%d more endpoints)\n", len(eps)-top)
				break
			}
			path := e.Path
			if e.Operation != "" {
				path += " [" + e.Operation + "]"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", e.Requests, e.Clients, e.State, e.Method, e.Host, path)
		}
		tw.Flush()
	}
	sensitiveSummary(w, top, exps)
	anomalySummary(w, top, anoms)
	if len(losses) > 0 || over > 0 {
		agg := map[[3]string]uint64{}
		for _, l := range losses {
			agg[[3]string{l.Stage, l.Reason, l.Unit}] += l.Count
		}
		keys := make([][3]string, 0, len(agg))
		for k := range agg {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b [3]string) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		})
		fmt.Fprintln(w, "\nsensor loss (the sensor was blind to part of the traffic):")
		for _, k := range keys {
			fmt.Fprintf(w, "  %-10s %-22s %d %s\n", k[0], k[1], agg[k], k[2])
		}
		if over > 0 {
			fmt.Fprintf(w, "  (more loss records than kept: %d units)\n", over)
		}
	} else {
		fmt.Fprintln(w, "\nsensor loss: none reported")
	}
}

// sensitiveSummary lists the sensitive-data findings worth a look (those
// marked for alerting), most severe first.
func sensitiveSummary(w io.Writer, top int, fs []exposure.Finding) {
	var alert []exposure.Finding
	counted := 0
	for _, f := range fs {
		if f.Alert {
			alert = append(alert, f)
		} else {
			counted++
		}
	}
	fmt.Fprintf(w, "\nsensitive data: %d findings to review, %d counted only (possible tier, examples, info)\n", len(alert), counted)
	if len(alert) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tTYPE\tMESSAGES\tMETHOD\tHOST\tENDPOINT\tWHERE\tSAMPLE")
	for i, f := range alert {
		if i == top {
			fmt.Fprintf(tw, "...\t\t\t\t\t\t(%d more)\t\n", len(alert)-top)
			break
		}
		typ := f.Type
		if f.Bulk {
			typ += " (bulk)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s %s\t%s\n", f.Severity, typ, f.Count, f.Method, f.Host, f.Path,
			f.Location, f.Field, f.MaskedSample)
	}
	tw.Flush()
}

// anomalySummary lists the anomaly episodes, most severe first.
func anomalySummary(w io.Writer, top int, fs []anomaly.Finding) {
	fmt.Fprintf(w, "\nanomalous access: %d episodes\n", len(fs))
	if len(fs) == 0 {
		return
	}
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b anomaly.Finding) int {
		return cmp.Or(cmp.Compare(rank(b.Severity), rank(a.Severity)), cmp.Compare(b.Count, a.Count))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tTYPE\tCOUNT\tCLIENT\tPRINCIPAL\tMETHOD\tHOST\tENDPOINT")
	for i, f := range fs {
		if i == top {
			fmt.Fprintf(tw, "...\t(%d more)\t\t\t\t\t\t\n", len(fs)-top)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Type, f.Count, f.ClientIP, f.Principal,
			f.Method, f.Host, f.Path)
	}
	tw.Flush()
}
