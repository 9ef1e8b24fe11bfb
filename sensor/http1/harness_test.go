package http1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// rec is a deep copy of a Message, comparable with ==-like helpers.
type rec struct {
	Request       bool
	Method        string
	Target        string
	Proto         string
	Status        int
	Reason        string
	Headers       []string // "Name: value"
	Trailers      []string
	ContentLength int64
	Chunked       bool
	KeepAlive     bool
	Upgrade       bool
	Expect100     bool
	Body          string
	BodyWireBytes int64
	Flags         flow.Flags
	Start, End    int64
}

func fieldsOf(fs []Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Name)+": "+string(f.Value))
	}
	return out
}

func recOf(m *Message) rec {
	return rec{
		Request: m.Request, Method: string(m.Method), Target: string(m.Target), Proto: string(m.Proto),
		Status: m.Status, Reason: string(m.Reason),
		Headers: fieldsOf(m.Headers), Trailers: fieldsOf(m.Trailers),
		ContentLength: m.ContentLength, Chunked: m.Chunked, KeepAlive: m.KeepAlive,
		Upgrade: m.Upgrade, Expect100: m.Expect100,
		Body: string(m.Body), BodyWireBytes: m.BodyWireBytes, Flags: m.Flags,
		Start: m.Start, End: m.End,
	}
}

func (r rec) String() string {
	var b strings.Builder
	if r.Request {
		fmt.Fprintf(&b, "REQ %q %q %q", r.Method, r.Target, r.Proto)
	} else {
		fmt.Fprintf(&b, "RESP %q %d %q", r.Proto, r.Status, r.Reason)
	}
	fmt.Fprintf(&b, " hdrs=%q trl=%q cl=%d chunked=%v ka=%v up=%v e100=%v body=%d/%d %q flags=[%v] t=%d..%d",
		r.Headers, r.Trailers, r.ContentLength, r.Chunked, r.KeepAlive, r.Upgrade, r.Expect100,
		len(r.Body), r.BodyWireBytes, trunc(r.Body, 40), r.Flags, r.Start, r.End)
	return b.String()
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func sameRecs(a, b []rec, withTime bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !withTime {
			x.Start, x.End, y.Start, y.End = 0, 0, 0, 0
		}
		if x.String() != y.String() {
			return false
		}
	}
	return true
}

func dump(rs []rec) string {
	var b strings.Builder
	for i, r := range rs {
		fmt.Fprintf(&b, "  [%d] %s\n", i, r)
	}
	return b.String()
}

// recorder is a Handler that copies everything it is given.
type recorder struct {
	request  bool
	msgs     []rec
	skipped  int
	skips    int
	methods  []string // request methods, oldest first, for RequestMethod
	answered int
	onMsg    func(m *Message)
}

func (r *recorder) Message(m *Message) {
	r.msgs = append(r.msgs, recOf(m))
	if !m.Request && m.Status >= 200 {
		r.answered++
	}
	if r.onMsg != nil {
		r.onMsg(m)
	}
}

func (r *recorder) RequestMethod() []byte {
	if r.answered < len(r.methods) {
		return []byte(r.methods[r.answered])
	}
	return nil
}

func (r *recorder) Skipped(n int) {
	if n <= 0 {
		panic("Skipped with n <= 0")
	}
	r.skipped += n
	r.skips++
}

// op is one step fed to a parser: data, or a gap of n bytes.
type op struct {
	data []byte
	gap  int
}

func d(s string) op { return op{data: []byte(s)} }
func g(n int) op    { return op{gap: n} }

type result struct {
	msgs    []rec
	stats   Stats
	skipped int
}

// runOps feeds ops (each at ts = index+1) then closes at ts = len+1, and
// checks the accounting invariants.
func runOps(t testing.TB, request bool, lim Limits, midstream bool, methods []string, ops ...op) result {
	t.Helper()
	r := &recorder{request: request, methods: methods}
	p := &Parser{}
	p.Reset(request, lim, r, midstream)
	for i, o := range ops {
		if o.data != nil {
			p.Feed(o.data, int64(i+1))
		} else {
			p.Gap(o.gap, int64(i+1))
		}
		checkBounds(t, p)
	}
	p.Close(int64(len(ops) + 1))
	st := p.Stats()
	checkAccounting(t, st, r)
	return result{msgs: r.msgs, stats: st, skipped: r.skipped}
}

func checkBounds(t testing.TB, p *Parser) {
	t.Helper()
	if len(p.buf) > p.bufMax {
		t.Fatalf("head buffer %d > bound %d", len(p.buf), p.bufMax)
	}
	if len(p.body) > p.lim.MaxBodyBytes {
		t.Fatalf("body buffer %d > MaxBodyBytes %d", len(p.body), p.lim.MaxBodyBytes)
	}
	if cap(p.buf) > 2*p.bufMax+64 || cap(p.body) > 2*p.lim.MaxBodyBytes+64 {
		t.Fatalf("buffer capacity unbounded: head %d body %d", cap(p.buf), cap(p.body))
	}
}

func checkAccounting(t testing.TB, st Stats, r *recorder) {
	t.Helper()
	if st.Bytes != st.MessageBytes+st.SkippedBytes+st.BlankBytes {
		t.Fatalf("accounting: bytes %d != message %d + skipped %d + blank %d",
			st.Bytes, st.MessageBytes, st.SkippedBytes, st.BlankBytes)
	}
	if uint64(r.skipped) != st.SkippedBytes {
		t.Fatalf("Handler.Skipped total %d != Stats.SkippedBytes %d", r.skipped, st.SkippedBytes)
	}
	if int(st.Messages) != len(r.msgs) {
		t.Fatalf("Stats.Messages %d != delivered %d", st.Messages, len(r.msgs))
	}
}

// feedSplits feeds data whole, split in two at every offset, and byte by
// byte, and requires identical messages (timestamps excluded: all pieces
// get ts 1).
func feedSplits(t *testing.T, request bool, methods []string, data []byte) []rec {
	t.Helper()
	whole := runSplit(t, request, methods, data, nil)
	for k := 1; k < len(data); k++ {
		got := runSplit(t, request, methods, data, []int{k})
		if !sameRecs(whole.msgs, got.msgs, true) || whole.stats != got.stats {
			t.Fatalf("split at %d differs:\nwhole:\n%s%+v\nsplit:\n%s%+v", k, dump(whole.msgs), whole.stats, dump(got.msgs), got.stats)
		}
	}
	cuts := make([]int, 0, len(data))
	for k := 1; k < len(data); k++ {
		cuts = append(cuts, k)
	}
	got := runSplit(t, request, methods, data, cuts)
	if !sameRecs(whole.msgs, got.msgs, true) || whole.stats != got.stats {
		t.Fatalf("byte-by-byte differs:\nwhole:\n%s%+v\nbytewise:\n%s%+v", dump(whole.msgs), whole.stats, dump(got.msgs), got.stats)
	}
	return whole.msgs
}

func runSplit(t testing.TB, request bool, methods []string, data []byte, cuts []int) result {
	r := &recorder{request: request, methods: methods}
	p := NewParser(request, Limits{}, r)
	prev := 0
	for _, c := range cuts {
		p.Feed(data[prev:c], 1)
		prev = c
	}
	p.Feed(data[prev:], 1)
	p.Close(1)
	st := p.Stats()
	checkAccounting(t, st, r)
	return result{msgs: r.msgs, stats: st, skipped: r.skipped}
}
