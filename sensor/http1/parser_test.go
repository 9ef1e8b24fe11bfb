package http1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// conversation is one connection: the client's bytes and the server's.
type conversation struct {
	name string
	req  string
	resp string
	// Expected summaries: "METHOD target" per request and "status bodylen"
	// per response, plus extra checks.
	wantReq  []string
	wantResp []string
	check    func(t *testing.T, reqs, resps []rec)
}

func summaries(rs []rec) []string {
	var out []string
	for _, r := range rs {
		if r.Request {
			out = append(out, r.Method+" "+r.Target)
		} else {
			out = append(out, itoa(r.Status)+" "+itoa(len(r.Body)))
		}
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func methodsOf(rs []rec) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Method)
	}
	return out
}

var conversations = []conversation{
	{
		name: "keep-alive",
		req: "GET /api/v1/users?limit=10 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n" +
			"GET /api/v1/users/42 HTTP/1.1\r\nHost: api.example.com\r\nAccept: application/json\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n[{\"id\":42,\"name\":\"Arthur\"}]" +
			"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"error\":\"not found\"}",
		wantReq:  []string{"GET /api/v1/users?limit=10", "GET /api/v1/users/42"},
		wantResp: []string{"200 27", "404 21"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].KeepAlive || !resps[1].KeepAlive || resps[1].Reason != "Not Found" || resps[0].ContentLength != 27 {
				t.Errorf("keep-alive/reason/cl: %v %v", reqs[0], resps[1])
			}
			if got := strings.Join(reqs[0].Headers, "|"); got != "Host: api.example.com|User-Agent: curl/8.5.0|Accept: */*" {
				t.Errorf("headers %q", got)
			}
		},
	},
	{
		name: "pipelined",
		req: "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
			"DELETE /c/1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA" +
			"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nBB" +
			"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		wantReq:  []string{"GET /a", "POST /b", "DELETE /c/1"},
		wantResp: []string{"200 1", "201 2", "204 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if reqs[1].Body != "hello" || reqs[2].KeepAlive || resps[2].KeepAlive {
				t.Errorf("pipelined: %v %v %v", reqs[1], reqs[2], resps[2])
			}
		},
	},
	{
		name: "chunked-trailers-extensions",
		req:  "GET /stream HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
			"5;name=value\r\nhello\r\n" +
			"1A ; ext=\"quoted;val\"\r\nabcdefghijklmnopqrstuvwxyz\r\n" +
			"0\r\nX-Checksum: abc123\r\nX-Other:  v \r\n\r\n",
		wantReq:  []string{"GET /stream"},
		wantResp: []string{"200 31"},
		check: func(t *testing.T, reqs, resps []rec) {
			r := resps[0]
			if !r.Chunked || r.Body != "helloabcdefghijklmnopqrstuvwxyz" || r.BodyWireBytes != 31 ||
				strings.Join(r.Trailers, "|") != "X-Checksum: abc123|X-Other: v" || r.Flags != 0 || r.ContentLength != -1 {
				t.Errorf("chunked: %v", r)
			}
		},
	},
	{
		name: "chunked-request",
		req: "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
			"GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
		resp:     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		wantReq:  []string{"POST /upload", "GET /next"},
		wantResp: []string{"200 0", "200 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].Chunked || reqs[0].Body != "abc" || reqs[0].Flags != 0 {
				t.Errorf("chunked request: %v", reqs[0])
			}
		},
	},
	{
		name: "1xx-then-final",
		req:  "GET /page HTTP/1.1\r\nHost: h\r\n\r\n",
		resp: "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 102 Processing\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody",
		wantReq:  []string{"GET /page"},
		wantResp: []string{"103 0", "102 0", "200 4"},
	},
	{
		name: "expect-100-continue",
		req:  "PUT /obj HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n0123456789",
		resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",

		wantReq:  []string{"PUT /obj"},
		wantResp: []string{"100 0", "201 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].Expect100 || reqs[0].Body != "0123456789" {
				t.Errorf("expect: %v", reqs[0])
			}
		},
	},
	{
		name: "head",
		req:  "HEAD /big HTTP/1.1\r\nHost: h\r\n\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 123456\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		wantReq:  []string{"HEAD /big", "GET /small"},
		wantResp: []string{"200 0", "200 3"},
		check: func(t *testing.T, reqs, resps []rec) {
			if resps[0].ContentLength != 123456 || resps[0].BodyWireBytes != 0 {
				t.Errorf("head: %v", resps[0])
			}
		},
	},
	{
		name: "204-304",
		req:  "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"e\"\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n",
		resp: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" +
			"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 999\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		wantReq:  []string{"DELETE /x", "GET /y", "GET /z"},
		wantResp: []string{"204 0", "304 0", "200 2"},
	},
	{
		name: "connect",
		req:  "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n",
		resp: "HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfcHTTP/1.1 200 OK\r\n\r\n",

		wantReq:  []string{"CONNECT api.example.com:443"},
		wantResp: []string{"200 0"},
	},
	{
		name: "websocket-upgrade",
		req: "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05Hello\x82\x03GET / HTTP/1.1\r\n",
		wantReq:  []string{"GET /chat"},
		wantResp: []string{"101 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].Upgrade || !resps[0].Upgrade {
				t.Errorf("upgrade: %v %v", reqs[0], resps[0])
			}
		},
	},
	{
		name: "http10-until-close",
		req:  "GET /old HTTP/1.0\r\nUser-Agent: Lynx\r\n\r\n",
		resp: "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>until close\r\nHTTP/1.1 200 OK\r\n</html>",

		wantReq:  []string{"GET /old"},
		wantResp: []string{"200 43"},
		check: func(t *testing.T, reqs, resps []rec) {
			if reqs[0].KeepAlive || resps[0].KeepAlive || !resps[0].Flags.Has(flow.FlagCloseDelimited) || resps[0].ContentLength != -1 {
				t.Errorf("http/1.0: %v %v", reqs[0], resps[0])
			}
		},
	},
	{
		name: "http10-keepalive-and-odd-methods",
		req: "PROPFIND /dav/ HTTP/1.0\r\nConnection: keep-alive\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n" +
			"CCM_POST /ccm HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi" +
			"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n" +
			"GET http://proxy.example/x?y HTTP/1.1\r\nHost: proxy.example\r\n\r\n",
		resp: "HTTP/1.0 207 Multi-Status\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n<>" +
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n" +
			"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
		wantReq:  []string{"PROPFIND /dav/", "CCM_POST /ccm", "OPTIONS *", "GET http://proxy.example/x?y"},
		wantResp: []string{"207 2", "200 0", "200 0", "502 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].KeepAlive || !resps[0].KeepAlive || reqs[0].Proto != "HTTP/1.0" {
				t.Errorf("1.0 keep-alive: %v %v", reqs[0], resps[0])
			}
		},
	},
	{
		name: "bare-lf-and-blank-lines",
		req:  "\r\n\r\nGET /lf HTTP/1.1\nHost: h\nX-A:  spaced value\t \n\nGET /crlf HTTP/1.1\r\nHost: h\r\n\r\n\r\n",
		resp: "HTTP/1.1 200 OK\nContent-Length: 2\n\nokHTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",

		wantReq:  []string{"GET /lf", "GET /crlf"},
		wantResp: []string{"200 2", "200 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if strings.Join(reqs[0].Headers, "|") != "Host: h|X-A: spaced value" || resps[1].Reason != "" {
				t.Errorf("lf: %v %v", reqs[0], resps[1])
			}
		},
	},
	{
		// A request body sent without framing headers (so the parser
		// cannot know it is there) is glued to the next request line,
		// as after a lost head: request lines are found mid-line.
		name: "body-glued-to-next-request",
		req: "POST /api/v1/uploads HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n" +
			`{"cmd":"GET /x","note":"a b","n":12}` +
			"PATCH /api/v1/users/5 HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\n\r\n" + `{"role":"ro"}` +
			"GET /api/v1/items?page=2 HTTP/1.1\r\nHost: h\r\n\r\n",
		resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		wantReq:  []string{"POST /api/v1/uploads", "PATCH /api/v1/users/5", "GET /api/v1/items?page=2"},
		wantResp: []string{"100 0", "201 2", "200 2", "200 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if !reqs[0].Expect100 || reqs[1].Body != `{"role":"ro"}` {
				t.Errorf("glued: %v %v", reqs[0], reqs[1])
			}
		},
	},
	{
		// The requests after the first were lost (RequestMethod is
		// nil): a response declaring a body followed directly by a
		// status line answered a HEAD and has no body.
		name: "unknown-method-bodyless-responses",
		req:  "GET /api/v1/items HTTP/1.1\r\nHost: h\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" +
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 399\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"HTTP/1.1 100 Continue\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHello" +
			"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHTTP/1.1 20x" +
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nHTTP/1.0 204 No Content\r\n\r\n",
		wantReq:  []string{"GET /api/v1/items"},
		wantResp: []string{"200 3", "200 0", "200 0", "100 0", "200 5", "200 12", "200 0", "200 0", "204 0"},
		check: func(t *testing.T, reqs, resps []rec) {
			if resps[1].ContentLength != 399 || resps[1].BodyWireBytes != 0 || !resps[2].Chunked ||
				resps[5].Body != "HTTP/1.1 20x" {
				t.Errorf("bodyless: %s", dump(resps))
			}
		},
	},
}

func TestConversations(t *testing.T) {
	for _, c := range conversations {
		t.Run(c.name, func(t *testing.T) {
			reqs := feedSplits(t, true, nil, []byte(c.req))
			resps := feedSplits(t, false, methodsOf(reqs), []byte(c.resp))
			if got := summaries(reqs); strings.Join(got, ",") != strings.Join(c.wantReq, ",") {
				t.Errorf("requests: got %q want %q\n%s", got, c.wantReq, dump(reqs))
			}
			if got := summaries(resps); strings.Join(got, ",") != strings.Join(c.wantResp, ",") {
				t.Errorf("responses: got %q want %q\n%s", got, c.wantResp, dump(resps))
			}
			for _, r := range append(reqs, resps...) {
				if r.Flags&^(flow.FlagCloseDelimited) != 0 {
					t.Errorf("unexpected flags on %v", r)
				}
			}
			if c.check != nil && len(reqs) == len(c.wantReq) && len(resps) == len(c.wantResp) {
				c.check(t, reqs, resps)
			}
		})
	}
}

// The tunnel and upgrade cases: after the switch, nothing more is parsed
// and every byte is reported as skipped.
func TestOpaqueAfterSwitch(t *testing.T) {
	for _, name := range []string{"connect", "websocket-upgrade"} {
		var c conversation
		for _, x := range conversations {
			if x.name == name {
				c = x
			}
		}
		reqs := runOps(t, true, Limits{}, false, nil, d(c.req)).msgs
		res := runOps(t, false, Limits{}, false, methodsOf(reqs), d(c.resp))
		head := strings.Index(c.resp, "\r\n\r\n") + 4
		if res.skipped != len(c.resp)-head || len(res.msgs) != 1 {
			t.Errorf("%s: skipped %d want %d, msgs %d", name, res.skipped, len(c.resp)-head, len(res.msgs))
		}
	}
	// SetOpaque from inside Message, on both parsers, as the exchange
	// layer does.
	req := NewParser(true, Limits{}, nil)
	r := &recorder{methods: []string{"GET"}}
	resp := NewParser(false, Limits{}, r)
	r.onMsg = func(m *Message) {
		if m.Status == 101 {
			req.SetOpaque()
			resp.SetOpaque()
		}
	}
	resp.Feed([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 1)
	req.Feed([]byte("\x00\x00\x12\x04\x00\x00\x00\x00\x00"), 2)
	if len(r.msgs) != 1 || resp.Stats().SkippedBytes != 24 || req.Stats().SkippedBytes != 9 {
		t.Errorf("opaque: msgs=%d resp=%+v req=%+v", len(r.msgs), resp.Stats(), req.Stats())
	}

	// SetPassthrough: the bytes after the 101, in the same call and
	// later, go to the function with their timestamps, uncounted; Reset
	// and SetOpaque end it.
	var got []string
	pass := func(data []byte, ts int64) { got = append(got, fmt.Sprintf("%d:%s", ts, data)) }
	r = &recorder{methods: []string{"GET"}}
	resp = NewParser(false, Limits{}, r)
	r.onMsg = func(m *Message) { resp.SetPassthrough(pass) }
	resp.Feed([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nframes"), 5)
	resp.Feed([]byte("more"), 6)
	if strings.Join(got, ",") != "5:frames,6:more" || resp.Stats().SkippedBytes != 0 || len(r.msgs) != 1 {
		t.Errorf("passthrough: %q %+v", got, resp.Stats())
	}
	resp.SetOpaque()
	resp.Feed([]byte("x"), 7)
	resp.SetPassthrough(pass)
	resp.Reset(false, Limits{}, r, false)
	resp.Feed([]byte("HTTP/1.1 204 No Content\r\n\r\n"), 8)
	if len(got) != 2 || resp.Stats().SkippedBytes != 0 || len(r.msgs) != 2 {
		t.Errorf("after passthrough: %q %+v", got, resp.Stats())
	}
}

func TestTimestamps(t *testing.T) {
	res := runOps(t, false, Limits{}, false, nil,
		d("HTTP/1.1 200 OK\r\nContent-Le"), d("ngth: 4\r\n\r\nab"), d("cdHTTP/1.1 2"), d("04 No Content\r\n\r\n"))
	if len(res.msgs) != 2 || res.msgs[0].Start != 1 || res.msgs[0].End != 3 || res.msgs[1].Start != 3 || res.msgs[1].End != 4 {
		t.Fatalf("timestamps:\n%s", dump(res.msgs))
	}
}

// TestPartial: a message is partial from its start line until it is
// delivered, with the time its first byte came.
func TestPartial(t *testing.T) {
	var p Parser
	p.Reset(true, Limits{}, &recorder{request: true}, false)
	if _, ok := p.Partial(); ok {
		t.Fatal("partial before any byte")
	}
	p.Feed([]byte("POST /up HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345"), 7)
	if start, ok := p.Partial(); !ok || start != 7 {
		t.Fatalf("reading a body: %d %v", start, ok)
	}
	p.Feed([]byte("67890"), 9)
	if _, ok := p.Partial(); ok {
		t.Fatal("partial after the message was delivered")
	}
	p.Feed([]byte("GET /x HTTP/1.1\r\nHo"), 11)
	if start, ok := p.Partial(); !ok || start != 11 {
		t.Fatalf("reading headers: %d %v", start, ok)
	}
}

func TestGaps(t *testing.T) {
	get := "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
	tests := []struct {
		name      string
		request   bool
		midstream bool
		ops       []op
		want      []string // summaries
		check     func(t *testing.T, r result)
	}{
		{
			name: "content-length body", ops: []op{
				d("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234"), g(10), d("56789"),
				d("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
			},
			want: []string{"200 10", "200 1"},
			check: func(t *testing.T, r result) {
				m := r.msgs[0]
				if m.Body != "0123456789" || m.BodyWireBytes != 20 || m.Flags != flow.FlagGap || r.msgs[1].Flags != 0 ||
					r.stats.GapBytesBody != 10 || r.stats.GapBytesOther != 0 || r.stats.Resyncs != 0 {
					t.Errorf("%v %+v", m, r.stats)
				}
			},
		},
		{
			name: "gap ends the body exactly", request: true, ops: []op{
				d("POST /p HTTP/1.1\r\nContent-Length: 8\r\n\r\nab"), g(6), d(get),
			},
			want: []string{"POST /p", "GET /next"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].BodyWireBytes != 8 || r.msgs[0].Flags != flow.FlagGap || r.stats.Resyncs != 0 {
					t.Errorf("%v %+v", r.msgs[0], r.stats)
				}
			},
		},
		{
			name: "gap past the body end resyncs", request: true, ops: []op{
				d("POST /p HTTP/1.1\r\nContent-Length: 8\r\n\r\nab"), g(20), d("xt HTTP/1.1\r\nHost: h\r\n\r\n" + get),
			},
			want: []string{"POST /p", "GET /next"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].BodyWireBytes != 8 || r.stats.GapBytesBody != 6 || r.stats.GapBytesOther != 14 ||
					r.stats.Resyncs != 1 || r.skipped != 24 {
					t.Errorf("%v %+v skipped %d", r.msgs[0], r.stats, r.skipped)
				}
			},
		},
		{
			name: "in chunk data", ops: []op{
				d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"), g(10), d("xyz\r\n2\r\nOK\r\n0\r\n\r\n"),
				d("HTTP/1.1 304 Not Modified\r\n\r\n"),
			},
			want: []string{"200 8", "304 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Body != "abcxyzOK" || r.msgs[0].BodyWireBytes != 18 || r.msgs[0].Flags != flow.FlagGap {
					t.Errorf("%v", r.msgs[0])
				}
			},
		},
		{
			name: "across a chunk boundary", ops: []op{
				d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab"), g(30), d("ata\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []string{"200 2", "200 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagGap|flow.FlagIncomplete || r.stats.Resyncs != 1 {
					t.Errorf("%v %+v", r.msgs[0], r.stats)
				}
			},
		},
		{
			name: "in chunk-size line", ops: []op{
				d("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n1"), g(5), d("\r\n0\r\n\r\nHTTP/1.1 201 Created\r\n\r\n"),
			},
			want: []string{"200 4", "201 0"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagGap|flow.FlagIncomplete || r.msgs[1].Flags != flow.FlagCloseDelimited {
					t.Errorf("%s", dump(r.msgs))
				}
			},
		},
		{
			name: "in headers", request: true, ops: []op{
				d("GET /lost HTTP/1.1\r\nHost: h\r\nAcc"), g(50), d("ept: */*\r\nUser-Agent: x\r\n\r\n" + get),
			},
			want: []string{"GET /next"},
			check: func(t *testing.T, r result) {
				if r.stats.Dropped != 1 || r.stats.Resyncs != 1 || r.msgs[0].Flags != 0 {
					t.Errorf("%+v %v", r.stats, r.msgs[0])
				}
			},
		},
		{
			name: "between messages, next starts right after", request: true, ops: []op{
				d(get), g(100), d(get),
			},
			want: []string{"GET /next", "GET /next"},
		},
		{
			name: "close-delimited body", ops: []op{
				d("HTTP/1.0 200 OK\r\n\r\nabc"), g(7), d("def"),
			},
			want: []string{"200 6"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].BodyWireBytes != 13 || r.msgs[0].Flags != flow.FlagGap|flow.FlagCloseDelimited {
					t.Errorf("%v", r.msgs[0])
				}
			},
		},
		{
			name: "midstream request stream", request: true, midstream: true, ops: []op{
				d("y\": 1} GET /not-at-line-start HTTP/1.1\r\n" + "\r\n" + "PATCH /items/7 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" + get),
			},
			want: []string{"GET /not-at-line-start", "PATCH /items/7", "GET /next"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagMidstream || r.msgs[1].Flags != 0 || r.stats.Resyncs != 0 || r.skipped != 7 {
					t.Errorf("%s %+v", dump(r.msgs), r.stats)
				}
			},
		},
		{
			name: "midstream response stream glued after a body", midstream: true, ops: []op{
				d("ody of an earlier response}HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
			},
			want: []string{"200 3"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Flags != flow.FlagMidstream || r.skipped != 27 {
					t.Errorf("%v skipped %d", r.msgs[0], r.skipped)
				}
			},
		},
		{
			name: "gap before the first message", midstream: true, ops: []op{
				g(1000), d("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []string{"200 0"},
			check: func(t *testing.T, r result) {
				// A gap outside any body: a lost 1xx may belong to it.
				if r.msgs[0].Flags != flow.FlagMidstream|flow.FlagGap {
					t.Errorf("%v", r.msgs[0])
				}
			},
		},
		{
			name: "huge gap in a huge body", ops: []op{
				d("HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nab"), g(1 << 30), g(1 << 30), d("cd"),
			},
			want: []string{"200 4"},
			check: func(t *testing.T, r result) {
				if r.msgs[0].BodyWireBytes != 4+2<<30 || r.msgs[0].Flags != flow.FlagGap|flow.FlagIncomplete {
					t.Errorf("%v", r.msgs[0])
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runOps(t, tc.request, Limits{}, tc.midstream, nil, tc.ops...)
			if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q want %q\n%s%+v", got, tc.want, dump(r.msgs), r.stats)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
