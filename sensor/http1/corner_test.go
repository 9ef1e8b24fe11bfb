package http1

import (
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

func TestCornerPaths(t *testing.T) {
	small := Limits{MaxStartLine: 64, MaxHeaderBytes: 32, MaxHeaders: 4, MaxBodyBytes: 8}
	tests := []struct {
		name      string
		request   bool
		midstream bool
		lim       Limits
		ops       []op
		want      []string
		check     func(t *testing.T, r result)
	}{
		// (after "x": the resync point itself gets Detect's rules, TestLooseStartLines)
		{name: "strict resync rejects implausible targets", request: true, midstream: true,
			ops:  []op{d("x\r\nGET example.com:443 HTTP/1.1\r\nGET httpbin HTTP/1.1\r\nGET  / HTTP/1.1\r\nGET / HTTP/1.1\rX\r\nGET / HTTP/1.1x\r\nCONNECT a.b:99 HTTP/1.1\r\n\r\n")},
			want: []string{"CONNECT a.b:99"}},
		{name: "folded line overflowing the buffer drops the field", lim: small,
			ops:  []op{d("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n " + strings.Repeat("9", 5000) + "\r\nX: y\r\n\r\nabc")},
			want: []string{"200 3"},
			check: func(t *testing.T, r result) {
				m := r.msgs[0]
				if m.ContentLength != -1 || m.Flags != flow.FlagMalformed|flow.FlagHeadersTruncated|flow.FlagCloseDelimited {
					t.Errorf("%v", m)
				}
			}},
		{name: "overflowing line without colon is a bad line", lim: small,
			ops:  []op{d("HTTP/1.1 204 No Content\r\n" + strings.Repeat("z", 5000) + "\r\nContent-Length: 5\r\nUpgrade: " + strings.Repeat("u", 5000) + "\r\n\r\n")},
			want: []string{"204 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagMalformed|flow.FlagHeadersTruncated || r.stats.LimitHeaderBytes != 1 {
					t.Errorf("%v %+v", r.msgs[0], r.stats)
				}
			}},
		{name: "too many invalid names", request: true,
			ops:  []op{d("GET / HTTP/1.1\r\n" + strings.Repeat("Bad Name: x\r\n", 9) + "\r\n" + smuggled)},
			want: []string{"GET /smuggled"}},
		{name: "too many junk trailer lines",
			ops:  []op{d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n1\r\na\r\n0\r\n" + strings.Repeat("junk\r\n", 9) + "HTTP/1.1 304 Not Modified\r\n\r\n")},
			want: []string{"200 1", "304 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagMalformed|flow.FlagIncomplete {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "chunk-size junk after digits and bad CR",
			ops: []op{d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\na\r\n" +
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\rx" + "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")},
			want: []string{"200 0", "200 0", "201 0"}},
		{name: "gap and feed after opaque and close", ops: []op{
			d("HTTP/1.1 101 Switching Protocols\r\n\r\nxx"), g(0), g(10), d("yy")},
			want: []string{"101 0"},
			check: func(t *testing.T, r result) {
				if r.stats.GapBytesOther != 10 || r.skipped != 4 {
					t.Errorf("%+v", r.stats)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runOps(t, tc.request, tc.lim, tc.midstream, nil, tc.ops...)
			if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q want %q\n%s%+v", got, tc.want, dump(r.msgs), r.stats)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestMiscAPI(t *testing.T) {
	var got *Message
	var host string
	h := &recorder{onMsg: func(m *Message) { got = m; host = string(m.Header("HOST")) }}
	p := NewParser(true, Limits{}, h)
	p.Feed([]byte("GET / HTTP/1.1\r\nhost: a.example\r\n\r\n"), 1)
	if got == nil || host != "a.example" || got.Header("X-None") != nil {
		t.Fatalf("Header: %q", host)
	}
	// Reset keeps small buffers and drops big ones.
	p.Feed([]byte("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("b", 100000)), 2)
	p.Reset(false, Limits{}, nil, true)
	if p.buf != nil && cap(p.buf) > releaseAbove || p.body != nil || p.Stats() != (Stats{}) {
		t.Fatalf("Reset: buf %d body %d", cap(p.buf), cap(p.body))
	}
	p.Feed([]byte("junk HTTP/1.1 200 OK\r\n\r\n"), 3)
	p.Close(4)
	p.Feed([]byte("late"), 5)
	if st := p.Stats(); st.Messages != 1 || st.SkippedBytes != 9 {
		t.Fatalf("%+v", st)
	}
	for k, s := range map[Kind]string{KindUnknown: "unknown", KindRequest: "request", KindResponse: "response", KindNotHTTP: "not_http"} {
		if k.String() != s {
			t.Errorf("%d: %s", k, k)
		}
	}
}
