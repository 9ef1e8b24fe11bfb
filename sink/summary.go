package sink

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/apitap/apitap/flow"
)

// Summary aggregates exchanges into a short human-readable report: totals,
// status classes, flags, and the busiest (host, method, path) rows. Memory is
// bounded: at most MaxRows distinct rows are tracked, the rest are counted
// under "(other)".
type Summary struct {
	MaxRows int // default 10000

	mu      sync.Mutex
	total   uint64
	status  map[string]uint64
	flags   map[string]uint64
	rows    map[rowKey]*row
	other   uint64
	reqB    int64
	respB   int64
	losses  map[string]uint64
	first   time.Time
	last    time.Time
	hosts   map[string]struct{}
	clients map[string]struct{}
}

type rowKey struct{ host, method, path string }

type row struct {
	n      uint64
	status map[int]uint64
	bytes  int64
}

func NewSummary() *Summary {
	return &Summary{MaxRows: 10000, status: map[string]uint64{}, flags: map[string]uint64{},
		rows: map[rowKey]*row{}, losses: map[string]uint64{}, hosts: map[string]struct{}{},
		clients: map[string]struct{}{}}
}

func (s *Summary) Consume(_ context.Context, b flow.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range b.Exchanges {
		s.total++
		if s.first.IsZero() || e.Start.Before(s.first) {
			s.first = e.Start
		}
		if e.End.After(s.last) {
			s.last = e.End
		}
		s.status[statusClass(e.Status)]++
		for _, f := range e.Flags.Names() {
			s.flags[f]++
		}
		s.reqB += e.Request.WireBytes
		s.respB += e.Response.WireBytes
		if len(s.hosts) < s.MaxRows {
			s.hosts[e.Host] = struct{}{}
		}
		if len(s.clients) < s.MaxRows {
			s.clients[e.Client.Addr().String()] = struct{}{}
		}
		k := rowKey{e.Host, e.Method, foldIDs(e.Path)}
		r := s.rows[k]
		if r == nil {
			if len(s.rows) >= s.MaxRows {
				s.other++
				continue
			}
			r = &row{status: map[int]uint64{}}
			s.rows[k] = r
		}
		r.n++
		r.status[e.Status]++
		r.bytes += e.Response.WireBytes
	}
	for _, l := range b.Losses {
		s.losses[string(l.Stage)+"/"+l.Reason+" ("+l.Unit+")"] += l.Count
	}
	return nil
}

// foldIDs replaces path segments that look like identifiers (all digits,
// or long hex/UUID-like runs) by {id}, so the summary groups
// /users/1 and /users/2. The analyzer's templating is far richer; this is
// only to keep the report readable.
func foldIDs(p string) string {
	if !strings.ContainsAny(p, "0123456789") {
		return p
	}
	parts := strings.Split(p, "/")
	for i, seg := range parts {
		if looksLikeID(seg) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func looksLikeID(seg string) bool {
	if seg == "" {
		return false
	}
	digits, hex := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '-':
			hex++
		default:
			return false
		}
	}
	return digits == len(seg) || (len(seg) >= 16 && digits > 0)
}

func statusClass(c int) string {
	if c == 0 {
		return "none"
	}
	return fmt.Sprintf("%dxx", c/100)
}

// Write prints the report; top is the number of endpoint rows shown.
func (s *Summary) Write(w io.Writer, top int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "\napitap summary\n==============\n")
	fmt.Fprintf(w, "exchanges: %d   hosts: %d   clients: %d   request bytes: %d   response bytes: %d\n",
		s.total, len(s.hosts), len(s.clients), s.reqB, s.respB)
	if s.total > 0 {
		fmt.Fprintf(w, "capture time: %s .. %s (%s)\n", s.first.UTC().Format(time.RFC3339),
			s.last.UTC().Format(time.RFC3339), s.last.Sub(s.first).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "status: %s\n", joinCounts(s.status))
	if len(s.flags) > 0 {
		fmt.Fprintf(w, "flags:  %s\n", joinCounts(s.flags))
	}
	if len(s.losses) > 0 {
		fmt.Fprintf(w, "loss:   %s\n", joinCounts(s.losses))
	}
	type kv struct {
		k rowKey
		r *row
	}
	var rows []kv
	for k, r := range s.rows {
		rows = append(rows, kv{k, r})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].r.n != rows[j].r.n {
			return rows[i].r.n > rows[j].r.n
		}
		a, b := rows[i].k, rows[j].k
		if a.host != b.host {
			return a.host < b.host
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.method < b.method
	})
	if len(rows) > top {
		rows = rows[:top]
	}
	fmt.Fprintf(w, "\ntop endpoints (host, method, path; numeric and hex ids folded to {id}):\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tMETHOD\tHOST\tPATH\tSTATUS\tRESP BYTES")
	for _, x := range rows {
		codes := map[string]uint64{}
		for c, n := range x.r.status {
			codes[fmt.Sprint(c)] = n
		}
		p := x.k.path
		if len(p) > 60 {
			p = p[:57] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", x.r.n, x.k.method, x.k.host, p, joinCounts(codes), x.r.bytes)
	}
	tw.Flush()
	if s.other > 0 {
		fmt.Fprintf(w, "(%d exchanges on endpoints beyond the %d tracked rows)\n", s.other, s.MaxRows)
	}
}

func joinCounts(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
