package http1

import (
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// runOpsCut is runOps (all at ts 1) with each data op cut at the offsets
// cuts(i, len) returns for it.
func runOpsCut(t testing.TB, request, midstream bool, methods []string, ops []op, cuts func(i, n int) []int) result {
	t.Helper()
	r := &recorder{request: request, methods: methods}
	p := &Parser{}
	p.Reset(request, Limits{}, r, midstream)
	for i, o := range ops {
		if o.data == nil {
			p.Gap(o.gap, 1)
			continue
		}
		prev := 0
		for _, c := range cuts(i, len(o.data)) {
			p.Feed(o.data[prev:c], 1)
			checkBounds(t, p)
			prev = c
		}
		p.Feed(o.data[prev:], 1)
		checkBounds(t, p)
	}
	p.Close(1)
	st := p.Stats()
	checkAccounting(t, st, r)
	return result{msgs: r.msgs, stats: st, skipped: r.skipped}
}

// opsSplits is feedSplits for a sequence with gaps: every data op is cut
// at every offset (one at a time), then all of them byte by byte; the
// messages and counters must not change.
func opsSplits(t *testing.T, request, midstream bool, methods []string, ops ...op) result {
	t.Helper()
	none := func(int, int) []int { return nil }
	whole := runOpsCut(t, request, midstream, methods, ops, none)
	check := func(what string, got result) {
		t.Helper()
		if !sameRecs(whole.msgs, got.msgs, true) || whole.stats != got.stats {
			t.Fatalf("%s differs:\nwhole:\n%s%+v\nsplit:\n%s%+v", what, dump(whole.msgs), whole.stats, dump(got.msgs), got.stats)
		}
	}
	for i, o := range ops {
		for k := 1; k < len(o.data); k++ {
			check("split of op "+itoa(i)+" at "+itoa(k), runOpsCut(t, request, midstream, methods, ops, func(j, n int) []int {
				if j == i {
					return []int{k}
				}
				return nil
			}))
		}
	}
	check("byte by byte", runOpsCut(t, request, midstream, methods, ops, func(_, n int) []int {
		var c []int
		for k := 1; k < n; k++ {
			c = append(c, k)
		}
		return c
	}))
	return whole
}

// A lost request head: its body is followed, on the same "line", by the
// next request line.
func TestResyncMidLine(t *testing.T) {
	get := "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
	body := `{"name":"report.csv","size":17,"note":"x"}`
	patch := "PATCH /api/v1/users/5 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
	tests := []struct {
		name      string
		midstream bool
		ops       []op
		want      []string
		check     func(t *testing.T, r result)
	}{
		{
			name: "lost head, JSON body glued to the next requests",
			ops:  []op{d(get), g(180), d(body + patch + "GET /api/v1/items HTTP/1.1\r\nHost: h\r\n\r\n")},
			want: []string{"GET /next", "PATCH /api/v1/users/5", "GET /api/v1/items"},
			check: func(t *testing.T, r result) {
				if r.skipped != len(body) || r.msgs[1].Flags != 0 || r.msgs[1].Body != "{}" || r.stats.Resyncs != 1 {
					t.Errorf("%s%+v skipped %d", dump(r.msgs), r.stats, r.skipped)
				}
			},
		},
		{
			name: "body and next request in separate segments",
			ops:  []op{g(180), d(body), d(patch)},
			want: []string{"PATCH /api/v1/users/5"},
		},
		{
			name: "method is the longest known suffix of the token run",
			ops: []op{g(10), d(`{"id":12GET /a HTTP/1.1` + "\r\n\r\n" + `"x":"yPROPPATCH /b HTTP/1.1` + "\r\n\r\n" +
				"\x00\x01UNLOCK /c HTTP/1.1\r\n\r\n")},
			want: []string{"GET /a", "PROPPATCH /b", "UNLOCK /c"},
		},
		{
			name: "unknown all-caps method only after a non-token byte",
			ops: []op{g(10), d(`"}CUSTOM_M /a HTTP/1.1` + "\r\n\r\n"), g(10), d(`abcCUSTOM /b HTTP/1.1` + "\r\n\r\n" +
				"}" + strings.Repeat("A", 21) + " /c HTTP/1.1\r\n\r\n" + "}" + strings.Repeat("A", 20) + " /d HTTP/1.1\r\n\r\n")},
			want: []string{"CUSTOM_M /a", "AAAAAAAAAAAAAAAAAAAA /d"},
		},
		{
			name: "a failed candidate's target holds the next method",
			ops:  []op{g(10), d("GET /GET /a HTTP/1.1\r\n\r\nx /POST /b HTTP/1.0\r\n\r\n")},
			want: []string{"GET /a", "POST /b"},
		},
		{
			name: "strict rules still apply mid-line",
			ops: []op{g(10), d("}GET  /a HTTP/1.1\r\n" + "}GET a HTTP/1.1\r\n" + "}GET /a HTTP/2.0\r\n" + "}get /a HTTP/1.1\r\n" +
				"}GET /a HTTP/1.1 \r\n" + "}CONNECT h:443 HTTP/1.1\r\n\r\n" + "}GET h:443 HTTP/1.1\r\n" + "}OPTIONS * HTTP/1.1\n\n")},
			want: []string{"CONNECT h:443", "OPTIONS *"},
		},
		{
			name: "in sync: rejected bytes are rescanned",
			ops:  []op{d("x /GET /a HTTP/1.1\r\n\r\n" + `{"a":1}` + get)},
			want: []string{"GET /a", "GET /next"},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 2 || r.stats.Malformed != 2 || r.skipped != 3+7 {
					t.Errorf("%+v skipped %d", r.stats, r.skipped)
				}
			},
		},
		{
			name:      "midstream join inside a body",
			midstream: true,
			ops:       []op{d(`te":"x"}` + patch)},
			want:      []string{"PATCH /api/v1/users/5"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagMidstream {
					t.Errorf("%v", r.msgs[0])
				}
			},
		},
		{
			name: "gap drops a candidate",
			ops:  []op{g(10), d("}GET /a HTT"), g(3), d(".1\r\n\r\n}GET /b HTTP/1.1\r\n\r\n")},
			want: []string{"GET /b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := opsSplits(t, true, tc.midstream, nil, tc.ops...)
			if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q want %q\n%s%+v", got, tc.want, dump(r.msgs), r.stats)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// The start time of a request found mid-line is that of its method's
// first byte, even when the method was split across segments.
func TestResyncTimestamps(t *testing.T) {
	r := runOps(t, true, Limits{}, false, nil,
		g(10), d(`{"a":1}PA`), d("TCH /x HT"), d("TP/1.1\r\n\r\n"), d(`{"b":2} G`), d("ET /y HTTP/1.1\r\n\r\n"))
	if len(r.msgs) != 2 || r.msgs[0].Start != 2 || r.msgs[0].End != 4 || r.msgs[1].Start != 5 || r.msgs[1].End != 6 {
		t.Fatalf("%s", dump(r.msgs))
	}
}

// The carry-over is bounded: a long body without any SP keeps at most
// maxStrictMethod bytes, whatever the segmentation; long candidates at
// most MaxStartLine.
func TestResyncCarryBounded(t *testing.T) {
	r := &recorder{request: true}
	p := NewParser(true, Limits{}, r)
	p.Gap(5, 1)
	body := []byte(strings.Repeat(`{"k":"ABCDEFGHIJKLMNOPQRSTUVWXYZ"},`, 3000))
	for i := 0; i < len(body); i += 7 {
		p.Feed(body[i:min(i+7, len(body))], 1)
		if len(p.buf) > maxStrictMethod {
			t.Fatalf("carry %d bytes at %d", len(p.buf), i)
		}
	}
	long := []byte("}GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\n\r\n}GET /ok HTTP/1.1\r\n\r\n")
	for i := 0; i < len(long); i += 3 {
		p.Feed(long[i:min(i+3, len(long))], 1)
		if len(p.buf) > p.lim.MaxStartLine {
			t.Fatalf("carry %d bytes at %d", len(p.buf), i)
		}
	}
	p.Close(2)
	if len(r.msgs) != 1 || r.msgs[0].Target != "/ok" || p.Stats().LimitStartLine != 1 {
		t.Fatalf("%s%+v", dump(r.msgs), p.Stats())
	}
	checkAccounting(t, p.Stats(), r)
}

// Resynchronisation is linear in the skipped bytes: hostile inputs full
// of candidates, fed byte by byte (a rescan of the carry-over per Feed
// would take minutes here), and zero allocations once warm.
func TestResyncLinear(t *testing.T) {
	inputs := []string{
		strings.Repeat("GET /"+strings.Repeat("a", 7000)+" HTTP/1.1 ", 40),
		strings.Repeat("GET /GET /GET ", 20000),
		strings.Repeat("ABCDEFGHIJKLMNOPQRSTUVWXYZ ", 10000),
		strings.Repeat("x"+strings.Repeat("GET", 30)+" /"+strings.Repeat("b", 8000), 30),
	}
	for k, in := range inputs {
		r := &recorder{request: true}
		p := NewParser(true, Limits{}, r)
		p.Gap(1, 1)
		b := []byte(in)
		for i := range b {
			p.Feed(b[i:i+1], 1)
		}
		p.Close(1)
		checkAccounting(t, p.Stats(), r)
		if len(r.msgs) != 0 {
			t.Errorf("input %d: %s", k, dump(r.msgs))
		}
	}
	data := []byte(`{"name":"x","note":"y"}` + "PATCH /api/v1/users/5 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}")
	h := &countHandler{}
	p := NewParser(true, Limits{}, h)
	run := func() {
		p.Gap(100, 1)
		p.Feed(data[:30], 1)
		p.Feed(data[30:], 1)
	}
	run()
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 || h.n == 0 {
		t.Fatalf("%v allocs per run, %d messages", allocs, h.n)
	}
}

// A response to a lost request (RequestMethod nil) that declares a body
// but is followed by a status line had none (it answered a HEAD).
func TestUnknownMethodBodyless(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 399\r\n\r\n"
	next := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name    string
		methods []string
		ops     []op
		want    []string
		check   func(t *testing.T, r result)
	}{
		{
			name: "lost HEAD",
			ops:  []op{d(head + next + head + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")},
			want: []string{"200 0", "200 2", "200 0", "404 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].ContentLength != 399 || r.msgs[0].Flags != 0 || !r.msgs[0].KeepAlive || r.stats.Resyncs != 0 {
					t.Errorf("%s%+v", dump(r.msgs), r.stats)
				}
			},
		},
		{
			name:    "known method: today's behaviour",
			methods: []string{"GET"},
			ops:     []op{d("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nHTTP/1.1 200 OK\r\n" + next)},
			want:    []string{"200 17", "200 2"},
		},
		{
			name: "body present",
			ops:  []op{d("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 " + next)},
			want: []string{"200 9", "200 2"},
		},
		{
			name: "gap right after the head",
			ops:  []op{d(head), g(410), d(next)},
			want: []string{"200 0", "200 2"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagGap || r.msgs[1].Flags != flow.FlagGap || r.stats.Resyncs != 1 ||
					r.stats.GapBytesOther != 410 || r.stats.GapBytesBody != 0 {
					t.Errorf("%s%+v", dump(r.msgs), r.stats)
				}
			},
		},
		{
			name: "gap in the next status line",
			ops:  []op{d(head + "HTTP/1"), g(30), d(next)},
			want: []string{"200 0", "200 2"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != 0 || r.msgs[1].Flags != flow.FlagGap || r.stats.Dropped != 1 {
					t.Errorf("%s%+v", dump(r.msgs), r.stats)
				}
			},
		},
		{
			name: "close right after the head",
			ops:  []op{d(head)},
			want: []string{"200 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagIncomplete {
					t.Errorf("%s", dump(r.msgs))
				}
			},
		},
		{
			name: "close after a few bytes",
			ops:  []op{d(head + "HTTP/")},
			want: []string{"200 5"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagIncomplete || r.msgs[0].Body != "HTTP/" {
					t.Errorf("%s", dump(r.msgs))
				}
			},
		},
		{
			name: "chunked and 1xx",
			ops: []op{d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" +
				"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")},
			want: []string{"200 0", "100 0", "201 2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := opsSplits(t, false, false, tc.methods, tc.ops...)
			if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q want %q\n%s%+v", got, tc.want, dump(r.msgs), r.stats)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	// The handler may make the stream opaque while the head is delivered
	// on a gap: that must stick.
	rr := &recorder{}
	p := NewParser(false, Limits{}, rr)
	rr.onMsg = func(*Message) { p.SetOpaque() }
	p.Feed([]byte(head), 1)
	p.Gap(10, 2)
	p.Feed([]byte(next), 3)
	p.Close(4)
	if st := p.Stats(); len(rr.msgs) != 1 || st.SkippedBytes != uint64(len(next)) || st.Resyncs != 0 {
		t.Fatalf("opaque: %s%+v", dump(rr.msgs), st)
	}
	checkAccounting(t, p.Stats(), rr)
	// Timestamps: the bodyless response ends with its head, the next
	// one starts when its bytes came, even though they were held back.
	r := runOps(t, false, Limits{}, false, nil, d(head), d("HTTP/1.1 2"), d("00 OK\r\nContent-Length: 0\r\n\r\n"))
	if len(r.msgs) != 2 || r.msgs[0].End != 1 || r.msgs[1].Start != 2 || r.msgs[1].End != 3 {
		t.Fatalf("%s", dump(r.msgs))
	}
}

// After a gap outside any body in the response direction (a lost
// "100 Continue" segment, say), the next response carries FlagGap.
func TestGapBeforeResponse(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name    string
		request bool
		ops     []op
		flags   []flow.Flags
	}{
		{name: "lost 100 Continue", ops: []op{d(ok), g(25), d(ok), d(ok)}, flags: []flow.Flags{0, flow.FlagGap, 0}},
		{name: "in a head", ops: []op{d(ok + "HTTP/1.1 100 Con"), g(9), d(ok)}, flags: []flow.Flags{0, flow.FlagGap}},
		{name: "past the end of a body", ops: []op{d("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok"), g(30), d(ok)},
			flags: []flow.Flags{flow.FlagGap, flow.FlagGap}},
		{name: "inside a body", ops: []op{d("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok"), g(2), d(ok)},
			flags: []flow.Flags{flow.FlagGap, 0}},
		{name: "requests are not flagged", request: true,
			ops: []op{d("GET / HTTP/1.1\r\n\r\n"), g(20), d("GET / HTTP/1.1\r\n\r\n")}, flags: []flow.Flags{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := opsSplits(t, tc.request, false, []string{"GET", "GET", "GET"}, tc.ops...)
			if len(r.msgs) != len(tc.flags) {
				t.Fatalf("%s", dump(r.msgs))
			}
			for i, f := range tc.flags {
				if r.msgs[i].Flags != f {
					t.Errorf("message %d: flags %v want %v", i, r.msgs[i].Flags, f)
				}
			}
		})
	}
}
