package exchange

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/tcp"
)

// The pairing tests drive the Factory exactly as tcp.Assembler does:
// in-order Data per direction, Gap for lost bytes, one End.

func TestPairing(t *testing.T) {
	get := func(path string) string { return crlf("GET " + path + " HTTP/1.1\nHost: api.example.com\n\n") }
	ok := func(body string) string {
		return crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: ") +
			itoa(len(body)) + "\r\n\r\n" + body
	}
	cases := []struct {
		name  string
		mod   func(*Config)
		info  *tcp.ConnInfo
		run   func(h *harness, s tcp.Stream)
		check func(t *testing.T, out []*flow.Exchange, st Stats)
	}{{
		name: "keep-alive",
		run: func(h *harness, s tcp.Stream) {
			for i := 0; i < 3; i++ {
				s.Data(c2s, []byte(get("/items/"+itoa(i))), ms(10*i))
				s.Data(s2c, []byte(ok(`{"i":`+itoa(i)+`}`)), ms(10*i+3))
			}
			s.End(tcp.EndFIN, ms(100))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 3 {
				t.Fatalf("%d records", len(out))
			}
			for i, e := range out {
				if e.Path != "/items/"+itoa(i) || e.Status != 200 || string(e.Response.Data) != `{"i":`+itoa(i)+`}` {
					t.Errorf("record %d: %s", i, dump(out[i:i+1]))
				}
				if e.Start.UnixNano() != ms(10*i) || e.End.UnixNano() != ms(10*i+3) {
					t.Errorf("record %d: start %v end %v", i, e.Start, e.End)
				}
				if e.Client != netip.MustParseAddrPort("10.0.0.1:50000") || e.Server != netip.MustParseAddrPort("10.0.0.2:80") {
					t.Errorf("endpoints %v -> %v", e.Client, e.Server)
				}
				if e.Outer.VLAN != 7 || e.Host != "api.example.com" || e.Method != "GET" || e.Proto != "HTTP/1.1" {
					t.Errorf("record %d: %s", i, dump(out[i:i+1]))
				}
				wantFlags(t, e, 0, flow.FlagPipelined|flow.FlagNoResponse|flow.FlagNoRequest)
			}
			if st.Exchanges != 3 || st.HTTPConnections != 1 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "pipelining",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/1")+get("/2")+get("/3")), ms(0))
			s.Data(s2c, []byte(ok("a")+ok("bb")), ms(5))
			s.Data(s2c, []byte(ok("ccc")), ms(6))
			s.End(tcp.EndFIN, ms(10))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 3 {
				t.Fatalf("%d records", len(out))
			}
			for i, e := range out {
				if e.Path != "/"+itoa(i+1) || len(e.Response.Data) != i+1 {
					t.Errorf("record %d mispaired: %s", i, dump(out[i:i+1]))
				}
				if got := e.Flags.Has(flow.FlagPipelined); got != (i > 0) {
					t.Errorf("record %d pipelined=%v", i, got)
				}
			}
		},
	}, {
		name: "100-continue",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("POST /upload HTTP/1.1\nHost: h\nExpect: 100-continue\nContent-Length: 5\n\n")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 100 Continue\n\n")), ms(1))
			s.Data(c2s, []byte("hello"), ms(2))
			s.Data(s2c, []byte(crlf("HTTP/1.1 201 Created\nContent-Length: 0\n\n")), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 {
				t.Fatalf("%d records: %s", len(out), dump(out))
			}
			e := out[0]
			if e.Status != 201 || len(e.Informational) != 1 || e.Informational[0] != 100 || string(e.Request.Data) != "hello" {
				t.Errorf("%s", dump(out))
			}
			if st.Informational != 1 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "1xx before final",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 103 Early Hints\nLink: </s.css>; rel=preload\n\nHTTP/1.1 102 Processing\n\n")+ok("x")), ms(1))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 || out[0].Status != 200 || len(out[0].Informational) != 2 ||
				out[0].Informational[0] != 103 || out[0].Informational[1] != 102 {
				t.Fatalf("%s", dump(out))
			}
		},
	}, {
		name: "HEAD",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("HEAD /big HTTP/1.1\nHost: h\n\n")+get("/next")), ms(0))
			// The HEAD response announces a length but has no body: the
			// next response must not be swallowed as its body.
			s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1000\n\n")+ok("n")), ms(1))
			s.End(tcp.EndFIN, ms(2))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 || out[0].Method != "HEAD" || out[0].Response.WireBytes != 0 ||
				out[1].Path != "/next" || string(out[1].Response.Data) != "n" {
				t.Fatalf("%s", dump(out))
			}
		},
	}, {
		name: "204 and 304",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/a")+get("/b")+get("/c")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 204 No Content\n\nHTTP/1.1 304 Not Modified\nETag: \"x\"\n\n")+ok("c")), ms(1))
			s.End(tcp.EndFIN, ms(2))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 3 || out[0].Status != 204 || out[1].Status != 304 || out[2].Status != 200 || string(out[2].Response.Data) != "c" {
				t.Fatalf("%s", dump(out))
			}
		},
	}, {
		name: "CONNECT",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("CONNECT db.internal:443 HTTP/1.1\nHost: db.internal:443\n\n")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 200 Connection Established\n\n")), ms(1))
			s.Data(c2s, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n"), ms(2))
			s.Data(s2c, []byte("\x16\x03\x03\x00\x5aHTTP/1.1 200 OK\r\n\r\n"), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 {
				t.Fatalf("tunnel bytes parsed: %s", dump(out))
			}
			e := out[0]
			wantFlags(t, e, flow.FlagConnect, flow.FlagUpgrade)
			if e.Method != "CONNECT" || e.Host != "db.internal" || e.HostPort != 443 || e.Path != "" || e.Target != "db.internal:443" {
				t.Errorf("%s", dump(out))
			}
			if st.Connects != 1 || st.OpaqueBytes == 0 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "websocket upgrade",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("GET /ws HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n")), ms(0))
			// The 101 and the first frame in one segment.
			s.Data(s2c, []byte(crlf("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n")+"\x81\x05hello"), ms(1))
			// Frames that happen to contain HTTP-looking text.
			s.Data(c2s, []byte("\x81\x90GET / HTTP/1.1\r\n\r\n"), ms(2))
			s.Data(s2c, []byte("\x81\x13HTTP/1.1 200 OK\r\n\r\n"), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 {
				t.Fatalf("frames parsed as HTTP: %s", dump(out))
			}
			wantFlags(t, out[0], flow.FlagUpgrade, flow.FlagConnect|flow.FlagNoResponse)
			if out[0].Status != 101 || len(out[0].Informational) != 0 {
				t.Errorf("%s", dump(out))
			}
			if st.Upgrades != 1 || st.OpaqueBytes < 20 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "upgrade refused continues as HTTP",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("GET /ws HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n\n")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 426 Upgrade Required\nContent-Length: 0\n\n")), ms(1))
			s.Data(c2s, []byte(get("/after")), ms(2))
			s.Data(s2c, []byte(ok("z")), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 || out[0].Status != 426 || out[1].Path != "/after" || out[1].Status != 200 {
				t.Fatalf("%s", dump(out))
			}
			wantFlags(t, out[0], 0, flow.FlagUpgrade)
		},
	}, {
		name: "HTTP/1.0 close-delimited",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(crlf("GET /old HTTP/1.0\n\n")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.0 200 OK\nContent-Type: text/html\n\n<html>")), ms(1))
			s.Data(s2c, []byte("</html>"), ms(2))
			s.End(tcp.EndFIN, ms(3))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 || string(out[0].Response.Data) != "<html></html>" || out[0].Proto != "HTTP/1.0" {
				t.Fatalf("%s", dump(out))
			}
			wantFlags(t, out[0], flow.FlagCloseDelimited, flow.FlagNoResponse)
			if out[0].End.UnixNano() != ms(3) {
				t.Errorf("end %v", out[0].End)
			}
		},
	}, {
		name: "end with pending requests",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/1")), ms(0))
			s.Data(s2c, []byte(ok("1")), ms(1))
			s.Data(c2s, []byte(get("/2")+get("/3")), ms(2))
			s.End(tcp.EndRST, ms(9))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 3 || out[0].Status != 200 {
				t.Fatalf("%s", dump(out))
			}
			for _, e := range out[1:] {
				wantFlags(t, e, flow.FlagNoResponse, flow.FlagNoRequest)
				if e.Status != 0 || e.End.UnixNano() != ms(9) {
					t.Errorf("%s", dump(out))
				}
			}
			wantFlags(t, out[2], flow.FlagPipelined, 0)
			if st.NoResponse != 2 || st.EndedPending != 2 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "one-sided: requests only",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/1")), ms(0))
			s.Data(c2s, []byte(get("/2")), ms(1000))
			s.End(tcp.EndFlush, ms(2000))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 {
				t.Fatalf("%s", dump(out))
			}
			for _, e := range out {
				// Without any response seen, "pipelined" would be noise.
				wantFlags(t, e, flow.FlagNoResponse, flow.FlagPipelined|flow.FlagNoRequest)
			}
		},
	}, {
		name: "one-sided: responses only",
		run: func(h *harness, s tcp.Stream) {
			s.Data(s2c, []byte(ok("a")), ms(0))
			s.Data(s2c, []byte(ok("b")), ms(1))
			s.End(tcp.EndFlush, ms(2))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 {
				t.Fatalf("%s", dump(out))
			}
			for i, e := range out {
				wantFlags(t, e, flow.FlagNoRequest, flow.FlagNoResponse)
				if e.Status != 200 || e.Method != "" || e.Start.UnixNano() != ms(i) || e.Proto != "HTTP/1.1" {
					t.Errorf("%s", dump(out))
				}
			}
			if st.NoRequest != 2 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "swapped directions (midstream, wrong port guess)",
		info: func() *tcp.ConnInfo {
			// The TCP layer guessed the server (port 80) was the client.
			i := connInfo(true)
			i.ClientAddr, i.ServerAddr = i.ServerAddr, i.ClientAddr
			i.ClientPort, i.ServerPort = i.ServerPort, i.ClientPort
			return i
		}(),
		run: func(h *harness, s tcp.Stream) {
			// "ServerToClient" carries the requests.
			s.Data(s2c, []byte(get("/x")), ms(0))
			s.Data(c2s, []byte(ok("y")), ms(1))
			s.End(tcp.EndFIN, ms(2))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 1 || out[0].Path != "/x" || out[0].Status != 200 {
				t.Fatalf("%s", dump(out))
			}
			if out[0].Client != netip.MustParseAddrPort("10.0.0.1:50000") || out[0].Server != netip.MustParseAddrPort("10.0.0.2:80") {
				t.Errorf("endpoints %v -> %v", out[0].Client, out[0].Server)
			}
			wantFlags(t, out[0], flow.FlagMidstream, 0)
			if st.DirectionSwaps != 1 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "swapped, responses first",
		info: func() *tcp.ConnInfo {
			i := connInfo(true)
			i.ClientAddr, i.ServerAddr = i.ServerAddr, i.ClientAddr
			i.ClientPort, i.ServerPort = i.ServerPort, i.ClientPort
			return i
		}(),
		run: func(h *harness, s tcp.Stream) {
			// The capture starts with the tail of a response body, then a
			// full response, on the "client" side.
			s.Data(c2s, []byte("tail of a body\r\n"+ok("first")), ms(0))
			s.Data(s2c, []byte(get("/x")), ms(1))
			s.Data(c2s, []byte(ok("y")), ms(2))
			s.End(tcp.EndFIN, ms(3))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 || !out[0].Flags.Has(flow.FlagNoRequest) || string(out[0].Response.Data) != "first" ||
				out[1].Path != "/x" || string(out[1].Response.Data) != "y" {
				t.Fatalf("%s", dump(out))
			}
			if out[1].Client.Port() != 50000 || st.DirectionSwaps != 1 {
				t.Errorf("client %v, stats %+v", out[1].Client, st)
			}
		},
	}, {
		name: "midstream: joined inside a body",
		info: connInfo(true),
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte("..rest of an upload body.."), ms(0))
			s.Data(s2c, []byte("ody of a response\nwith lines\n"+ok("1")), ms(1))
			s.Data(c2s, []byte(get("/2")), ms(2))
			s.Data(s2c, []byte(ok("2")), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 || !out[0].Flags.Has(flow.FlagNoRequest|flow.FlagMidstream) || out[1].Path != "/2" || string(out[1].Response.Data) != "2" {
				t.Fatalf("%s", dump(out))
			}
			if st.SkippedBytes == 0 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "non-HTTP: binary garbage",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte{0, 1, 2, 3, 0xff, 0xfe, 'G', 'E', 'T', ' '}, ms(0))
			s.Data(s2c, []byte{0x80, 0, 0, 0x10, 9, 9, 9}, ms(1))
			s.Data(c2s, []byte(get("/late")), ms(2))
			s.End(tcp.EndFIN, ms(3))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 0 {
				t.Fatalf("%s", dump(out))
			}
			if st.NonHTTPConnections != 1 || st.NonHTTPBytes != uint64(10+7+len(get("/late"))) || st.HTTPConnections != 0 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "non-HTTP: TLS",
		run: func(h *harness, s tcp.Stream) {
			// A TLS 1.2 ClientHello record header and the start of the
			// handshake, then a ServerHello.
			s.Data(c2s, []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"+strings.Repeat("\x42", 32)), ms(0))
			s.Data(s2c, []byte("\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03"+strings.Repeat("\x17", 32)), ms(1))
			s.Data(c2s, bytes.Repeat([]byte("\x17\x03\x03\x00\x20GET / HTTP/1.1\r\n"), 10), ms(2))
			s.End(tcp.EndFIN, ms(3))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 0 || st.NonHTTPConnections != 1 || st.NonHTTPBytes == 0 {
				t.Fatalf("stats %+v: %s", st, dump(out))
			}
		},
	}, {
		name: "gap in a body",
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/g")), ms(0))
			s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 100\n\n")+strings.Repeat("a", 50)), ms(1))
			s.Gap(s2c, 30, ms(2))
			s.Data(s2c, []byte(strings.Repeat("b", 20)), ms(3))
			s.Data(c2s, []byte(get("/after")), ms(4))
			s.Data(s2c, []byte(ok("ok")), ms(5))
			s.End(tcp.EndFIN, ms(6))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 {
				t.Fatalf("%s", dump(out))
			}
			wantFlags(t, out[0], flow.FlagGap, flow.FlagNoResponse)
			if out[0].Response.WireBytes != 100 {
				t.Errorf("wire bytes %d", out[0].Response.WireBytes)
			}
			wantFlags(t, out[1], 0, flow.FlagGap)
			if st.GapBytes != 30 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "MaxPending overflow",
		mod:  func(c *Config) { c.MaxPending = 2 },
		run: func(h *harness, s tcp.Stream) {
			s.Data(c2s, []byte(get("/1")+get("/2")+get("/3")), ms(0))
			if len(h.out) != 1 || h.out[0].Path != "/1" || !h.out[0].Flags.Has(flow.FlagNoResponse) {
				h.t.Fatalf("overflow not emitted at once: %s", dump(h.out))
			}
			s.Data(s2c, []byte(ok("x")), ms(1))
			s.End(tcp.EndFIN, ms(2))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			// The response pairs with /2: the oldest pending one.
			if len(out) != 3 || out[1].Path != "/2" || out[1].Status != 200 || out[2].Path != "/3" || out[2].Status != 0 {
				t.Fatalf("%s", dump(out))
			}
			if st.PendingDrops != 1 || st.NoResponse != 2 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		name: "response before its request cannot answer it",
		run: func(h *harness, s tcp.Stream) {
			s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 5\n\nab")), ms(0))
			s.Data(c2s, []byte(get("/q")), ms(1))
			s.Data(s2c, []byte("cde"), ms(2))
			s.Data(s2c, []byte(ok("q")), ms(3))
			s.End(tcp.EndFIN, ms(4))
		},
		check: func(t *testing.T, out []*flow.Exchange, st Stats) {
			if len(out) != 2 || !out[0].Flags.Has(flow.FlagNoRequest) || out[1].Path != "/q" || string(out[1].Response.Data) != "q" {
				t.Fatalf("%s", dump(out))
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.mod)
			info := c.info
			if info == nil {
				info = connInfo(false)
			}
			s := h.f.New(info)
			c.run(h, s)
			out := h.take()
			c.check(t, out, h.f.Stats())
			for _, e := range out {
				if e.Start.IsZero() || e.End.Before(e.Start) {
					t.Errorf("times: %s", dump([]*flow.Exchange{e}))
				}
			}
		})
	}
}

func TestResponseTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResponseTimeout = 60 * time.Second })
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET /slow HTTP/1.1\nHost: h\n\n")), ms(0))
	h.f.Advance(ms(59_999))
	if len(h.out) != 0 {
		t.Fatalf("expired early: %s", dump(h.out))
	}
	h.f.Advance(ms(60_000))
	e := h.one()
	wantFlags(t, e, flow.FlagNoResponse, 0)
	if e.Status != 0 || e.Path != "/slow" || e.End.UnixNano() != ms(60_000) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	// The late answer belongs to the expired request (HTTP/1.x answers in
	// order): it must not be paired with the next request.
	s.Data(c2s, []byte(crlf("GET /next HTTP/1.1\nHost: h\n\n")), ms(61_000))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 4\n\nslow")), ms(61_001))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 4\n\nnext")), ms(61_002))
	out := h.take()
	if len(out) != 2 || !out[0].Flags.Has(flow.FlagNoRequest) || string(out[0].Response.Data) != "slow" ||
		out[1].Path != "/next" || string(out[1].Response.Data) != "next" {
		t.Fatalf("%s", dump(out))
	}
	// Data on any connection also runs due timeouts.
	s.Data(c2s, []byte(crlf("GET /third HTTP/1.1\nHost: h\n\n")), ms(62_000))
	s2 := h.f.New(connInfo(false))
	s2.Data(c2s, []byte(crlf("GET /other HTTP/1.1\nHost: h\n\n")), ms(122_000))
	e = h.one()
	if e.Path != "/third" || !e.Flags.Has(flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	s.End(tcp.EndFIN, ms(122_001))
	s2.End(tcp.EndFIN, ms(122_002))
	out = h.take()
	if len(out) != 1 || out[0].Path != "/other" {
		t.Fatalf("%s", dump(out))
	}
	st := h.f.Stats()
	if st.ResponseTimeouts != 2 || st.LateResponses != 1 || st.NoResponse != 3 || st.EndedPending != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTimeoutQueueOrder: expiring the oldest request of one connection does
// not disturb the others, and Advance never scans (the queue head decides).
func TestTimeoutQueueOrder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResponseTimeout = time.Second })
	var ss []tcp.Stream
	for i := 0; i < 100; i++ {
		s := h.f.New(connInfo(false))
		ss = append(ss, s)
		s.Data(c2s, []byte(crlf("GET /"+itoa(i)+" HTTP/1.1\nHost: h\n\n")), ms(10*i))
	}
	// Answer the even ones.
	for i := 0; i < 100; i += 2 {
		ss[i].Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n")), ms(10*i+1))
	}
	h.take()
	h.f.Advance(ms(1000 + 495))
	out := h.take()
	if len(out) != 25 {
		t.Fatalf("expired %d, want 25", len(out))
	}
	for i, e := range out {
		if e.Path != "/"+itoa(2*i+1) {
			t.Fatalf("expired out of order: %d is %s", i, e.Path)
		}
	}
	for _, s := range ss {
		s.End(tcp.EndFIN, ms(5000))
	}
	if out := h.take(); len(out) != 25 {
		t.Fatalf("ended %d, want 25", len(out))
	}
	if h.f.tqHead != nil || h.f.tqTail != nil {
		t.Fatal("timeout queue not empty")
	}
}

// TestPooling: a conn reused after End starts clean.
func TestPooling(t *testing.T) {
	h := newHarness(t, nil)
	for i := 0; i < 5; i++ {
		s := h.f.New(connInfo(i%2 == 1))
		s.Data(c2s, []byte(crlf("GET /p HTTP/1.1\nHost: h\n\n")), ms(i*10))
		if i != 3 {
			s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\nx")), ms(i*10+1))
		}
		s.End(tcp.EndFIN, ms(i*10+2))
		// Calls after End are ignored.
		s.Data(c2s, []byte("GET / HTTP/1.1\r\n\r\n"), ms(i*10+3))
	}
	out := h.take()
	if len(out) != 5 {
		t.Fatalf("%s", dump(out))
	}
	for i, e := range out {
		if (i == 3) != e.Flags.Has(flow.FlagNoResponse) {
			t.Errorf("%d: %s", i, dump(out[i:i+1]))
		}
	}
	if len(h.f.freeConns) != 1 {
		t.Errorf("free conns %d", len(h.f.freeConns))
	}
}

// TestSplitEverywhere feeds an exchange one byte at a time, and split at
// every offset, in both detection and parsing states.
func TestSplitEverywhere(t *testing.T) {
	req := crlf("POST /v1/orders?limit=10 HTTP/1.1\nHost: api.example.com\nContent-Type: application/json\nContent-Length: 11\n\n{\"a\":\"b\"}\n\n")
	resp := crlf("HTTP/1.1 201 Created\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n")
	for cut := 0; cut <= len(req); cut++ {
		h := newHarness(t, nil)
		s := h.f.New(connInfo(cut%2 == 0))
		if cut > 0 {
			s.Data(c2s, []byte(req[:cut]), ms(0))
		}
		if cut < len(req) {
			s.Data(c2s, []byte(req[cut:]), ms(1))
		}
		for i := 0; i < len(resp); i++ {
			s.Data(s2c, []byte{resp[i]}, ms(2))
		}
		s.End(tcp.EndFIN, ms(3))
		e := h.one()
		if e.Path != "/v1/orders" || e.Query != "limit=10" || e.Status != 201 || string(e.Response.Data) != "hello" || e.Request.WireBytes != 11 {
			t.Fatalf("cut %d: %s", cut, dump([]*flow.Exchange{e}))
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// TestPendingBytesBudget: the copies of pending requests are bounded per
// Factory; over the budget the oldest pending request is given up on.
func TestPendingBytesBudget(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPendingBytes = 64 << 10 })
	body := strings.Repeat("x", 8000)
	var ss []tcp.Stream
	for i := 0; i < 40; i++ {
		s := h.f.New(connInfo(false))
		ss = append(ss, s)
		s.Data(c2s, []byte(crlf("POST /"+itoa(i)+" HTTP/1.1\nHost: h\nContent-Length: 8000\n\n")+body), ms(i))
		if h.f.pendingBytes > 64<<10+20000 {
			t.Fatalf("pending bytes %d over budget", h.f.pendingBytes)
		}
	}
	dropped := h.take()
	if len(dropped) < 25 || dropped[0].Path != "/0" || !dropped[0].Flags.Has(flow.FlagNoResponse) {
		t.Fatalf("dropped %d: %s", len(dropped), dump(dropped[:1]))
	}
	// The newest requests are still pending and pair normally.
	ss[39].Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n")), ms(100))
	if e := h.one(); e.Path != "/39" || e.Status != 200 {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	for _, s := range ss {
		s.End(tcp.EndFIN, ms(200))
	}
	st := h.f.Stats()
	if st.PendingDrops != uint64(len(dropped)) || st.Requests != 40 || st.Exchanges != 40 || h.f.pendingBytes != 0 {
		t.Fatalf("stats %+v, pending bytes %d", st, h.f.pendingBytes)
	}
}

// TestGhostKeepsMethod: a HEAD request given up on still frames its late
// response (no body), so the next response is not swallowed.
func TestGhostKeepsMethod(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResponseTimeout = time.Second })
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("HEAD /h HTTP/1.1\nHost: h\n\n")), ms(0))
	h.f.Advance(ms(1000))
	if e := h.one(); e.Method != "HEAD" || !e.Flags.Has(flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	s.Data(c2s, []byte(crlf("GET /g HTTP/1.1\nHost: h\n\n")), ms(1500))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 50\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok")), ms(1501))
	out := h.take()
	if len(out) != 2 || !out[0].Flags.Has(flow.FlagNoRequest) || out[0].Response.WireBytes != 0 || out[1].Path != "/g" || string(out[1].Response.Data) != "ok" {
		t.Fatalf("%s", dump(out))
	}
	s.End(tcp.EndFIN, ms(2000))
}

// TestLostResponse: a whole response lost in a gap must not shift the
// pairing of every later exchange (see conn.realign).
func TestLostResponse(t *testing.T) {
	req := func(p string) []byte { return []byte(crlf("GET " + p + " HTTP/1.1\nHost: h\n\n")) }
	resp := func(body string) string {
		return crlf("HTTP/1.1 200 OK\nContent-Length: "+itoa(len(body))+"\n\n") + body
	}
	t.Run("whole response lost", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		s.Data(s2c, []byte(resp("a")), ms(1))
		s.Data(c2s, req("/b"), ms(2))
		s.Gap(s2c, len(resp("b")), ms(4)) // /b's response never captured
		s.Data(c2s, req("/c"), ms(5))
		s.Data(s2c, []byte(resp("c")), ms(6))
		s.Data(c2s, req("/d"), ms(7))
		s.Data(s2c, []byte(resp("d")), ms(8))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		if len(out) != 4 {
			t.Fatalf("%s", dump(out))
		}
		for i, want := range []string{"a", "", "c", "d"} {
			e := out[i]
			if string(e.Response.Data) != want || e.Flags.Has(flow.FlagPipelined) {
				t.Errorf("record %d: %s", i, dump(out[i:i+1]))
			}
		}
		wantFlags(t, out[1], flow.FlagNoResponse|flow.FlagGap, 0)
		// The first response after the lost bytes is flagged, not the next.
		wantFlags(t, out[2], flow.FlagGap, 0)
		wantFlags(t, out[3], 0, flow.FlagGap)
		if out[1].Path != "/b" {
			t.Errorf("%s", dump(out))
		}
		if st := h.f.Stats(); st.LostResponses != 1 || st.NoResponse != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("tail of one and the next lost", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		ra := resp(strings.Repeat("a", 100))
		s.Data(s2c, []byte(ra[:len(ra)-50]), ms(1))
		s.Data(c2s, req("/b"), ms(2))
		s.Gap(s2c, 50+len(resp("b")), ms(4))
		s.Data(c2s, req("/c"), ms(5))
		s.Data(s2c, []byte(resp("c")), ms(6))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		if len(out) != 3 || out[0].Path != "/a" || !out[0].Flags.Has(flow.FlagGap) || out[0].Status != 200 ||
			out[1].Path != "/b" || !out[1].Flags.Has(flow.FlagNoResponse|flow.FlagGap) ||
			out[2].Path != "/c" || string(out[2].Response.Data) != "c" {
			t.Fatalf("%s", dump(out))
		}
	})
	t.Run("midstream: first response lost while syncing", func(t *testing.T) {
		// ndpi/1kxun.pcap: a connection captured without its handshake.
		// The head of /a's response was lost (the hole is declared from
		// the client's ACK) while the response parser was still looking
		// for its first status line, so the parser did not count a new
		// resync; the response after the hole answers /b, not /a.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(true))
		s.Data(c2s, req("/a"), ms(0))
		s.Gap(s2c, 4320, ms(1))
		s.Data(s2c, []byte(strings.Repeat("x", 2795)), ms(1)) // the rest of /a's body
		s.Data(c2s, req("/b"), ms(2))
		s.Data(s2c, []byte(resp("b")), ms(3))
		s.Data(c2s, req("/c"), ms(4))
		s.Data(s2c, []byte(resp("c")), ms(5))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		if len(out) != 3 || out[0].Path != "/a" || !out[0].Flags.Has(flow.FlagNoResponse|flow.FlagGap) ||
			out[1].Path != "/b" || string(out[1].Response.Data) != "b" ||
			out[2].Path != "/c" || string(out[2].Response.Data) != "c" {
			t.Fatalf("%s", dump(out))
		}
	})
	// A lost HEAD request: its response declares a length it does not
	// carry. Paired by guess with an older GET, it would read the next
	// responses as its body (TestNamespaceCapture's drops, 1 run in ~40).
	head := crlf("HTTP/1.1 200 OK\nContent-Length: 399\n\n")
	check := func(t *testing.T, out []*flow.Exchange, want []string) {
		t.Helper()
		if len(out) != len(want) {
			t.Fatalf("%d records, want %d:\n%s", len(out), len(want), dump(out))
		}
		for i, w := range want {
			e := out[i]
			got := e.Path + " " + itoa(e.Status) + " " + string(e.Response.Data)
			if got != w {
				t.Errorf("record %d: %q, want %q\n%s", i, got, w, dump(out))
			}
		}
	}
	t.Run("HEAD request and the response before it lost", func(t *testing.T) {
		// As captured: the response to /a is lost, then the HEAD
		// request; the request hole is declared when /c arrives.
		for _, sameMs := range []bool{false, true} {
			h := newHarness(t, nil)
			s := h.f.New(connInfo(false))
			at := func(n int) int64 {
				if sameMs && n == 3 {
					n = 2 // /c stamped like the HEAD's answer, as in the capture
				}
				return ms(n)
			}
			s.Data(c2s, req("/a"), at(0))
			s.Gap(s2c, len(resp("a")), at(2))
			s.Data(s2c, []byte(head), at(2)) // answers the lost HEAD /h
			s.Gap(c2s, len("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"), at(3))
			s.Data(c2s, req("/c"), at(3))
			s.Data(s2c, []byte(resp("c")), at(4))
			s.Data(c2s, req("/d"), at(5))
			s.Data(s2c, []byte(resp("d")), at(6))
			s.End(tcp.EndFIN, ms(9))
			out := h.take()
			// Before, the HEAD's answer read /c's response and half of
			// /d's as its body, and /d lost its response, unflagged.
			if !sameMs {
				check(t, out, []string{"/a 200 ", "/c 200 c", "/d 200 d"})
				wantFlags(t, out[0], flow.FlagGap, 0)
				// /c may carry gap: it followed lost request bytes,
				// and the answer to those was paired with /a.
			} else {
				// Equal times cannot tell whether /c was sent before
				// the answer: whatever is not exact is flagged.
				check(t, out[len(out)-1:], []string{"/d 200 d"})
				for _, e := range out[:len(out)-1] {
					if e.Flags&(flow.FlagGap|flow.FlagNoRequest) == 0 {
						t.Errorf("unflagged: %s", dump([]*flow.Exchange{e}))
					}
				}
			}
			wantFlags(t, out[len(out)-1], 0, flow.FlagGap)
		}
	})
	t.Run("HEAD request lost, pipelined", func(t *testing.T) {
		// The request hole is declared before the HEAD's answer is
		// parsed, and /c was sent before that answer came: /c may get
		// the HEAD's answer, but not unflagged, and the framing holds.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		s.Data(s2c, []byte(resp("a")), ms(1))
		s.Gap(c2s, len("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"), ms(2))
		s.Data(c2s, req("/c"), ms(2))
		s.Data(s2c, []byte(head+resp("c")), ms(3))
		s.Data(c2s, req("/d"), ms(4))
		s.Data(s2c, []byte(resp("d")), ms(5))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		check(t, out, []string{"/a 200 a", "/c 200 ", " 200 c", "/d 200 d"})
		wantFlags(t, out[1], flow.FlagGap, 0)
		wantFlags(t, out[2], flow.FlagNoRequest, 0)
		wantFlags(t, out[3], 0, flow.FlagGap)
	})
	t.Run("request lost, its answer seen first", func(t *testing.T) {
		// A client that waits: the lost request's answer finds no
		// request (no_request), and the next exchange is exact.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		s.Data(s2c, []byte(resp("a")), ms(1))
		s.Data(s2c, []byte(head), ms(3))
		s.Gap(c2s, len("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"), ms(4))
		s.Data(c2s, req("/c"), ms(4))
		s.Data(s2c, []byte(resp("c")), ms(5))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		check(t, out, []string{"/a 200 a", " 200 ", "/c 200 c"})
		wantFlags(t, out[2], 0, flow.FlagGap)
	})
	t.Run("response lost, the next request completes after its answer", func(t *testing.T) {
		// As captured: /del's 204 is lost; the tail of the upload's
		// body is lost too, so the upload completes only when that hole
		// is declared, after its 201 was parsed. The 201 must wait for
		// it (nextStart sees the request being read), not answer /del;
		// before, every later pair of the connection was shifted by one.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, []byte(crlf("DELETE /del HTTP/1.1\nHost: h\n\n")), ms(0))
		s.Data(c2s, []byte(crlf("POST /up HTTP/1.1\nHost: h\nContent-Length: 10\n\n")+"12345"), ms(2))
		s.Gap(s2c, len(crlf("HTTP/1.1 204 No Content\n\n")), ms(3))
		s.Data(s2c, []byte(crlf("HTTP/1.1 201 Created\nContent-Length: 2\n\nok")), ms(4))
		s.Gap(c2s, 5, ms(5)) // declared when the next request arrives
		s.Data(c2s, req("/p"), ms(5))
		s.Data(s2c, []byte(resp("p")), ms(6))
		s.Data(c2s, req("/q"), ms(7))
		s.Data(s2c, []byte(resp("q")), ms(8))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		check(t, out, []string{"/del 0 ", "/up 201 ok", "/p 200 p", "/q 200 q"})
		wantFlags(t, out[0], flow.FlagNoResponse|flow.FlagGap, 0)
		for _, e := range out[2:] {
			wantFlags(t, e, 0, flow.FlagPipelined|flow.FlagGap)
		}
	})
	t.Run("request lost, the next one delivered after an answer", func(t *testing.T) {
		// /h is lost; /c started before /h's answer did but is delivered
		// after it (the reassembler held it), so the held answer pairs
		// with /c. It may be /h's: the record says gap.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		s.Data(s2c, []byte(resp("a")), ms(1))
		s.Data(s2c, []byte(resp("h")), ms(3))
		s.Gap(c2s, len(req("/h")), ms(2))
		s.Data(c2s, req("/c"), ms(2))
		s.Data(s2c, []byte(resp("c")), ms(4))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		if len(out) < 2 || out[1].Path != "/c" || !out[1].Flags.Has(flow.FlagGap) {
			t.Fatalf("%s", dump(out))
		}
	})
	t.Run("a body that looks like a response is kept when the method is certain", func(t *testing.T) {
		// Without lost bytes the GET is certain: a body starting with a
		// status line (message/http) is a body, so a server cannot make
		// the sensor lose its framing.
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		inner := crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n")
		s.Data(c2s, req("/a"), ms(0))
		s.Data(s2c, []byte(resp(inner)), ms(1))
		s.Data(c2s, req("/b"), ms(2))
		s.Data(s2c, []byte(resp("b")), ms(3))
		s.End(tcp.EndFIN, ms(9))
		check(t, h.take(), []string{"/a 200 " + inner, "/b 200 b"})
	})
	t.Run("gap without a lost response", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.f.New(connInfo(false))
		s.Data(c2s, req("/a"), ms(0))
		ra := resp(strings.Repeat("a", 100))
		s.Data(s2c, []byte(ra[:len(ra)-50]), ms(1))
		s.Gap(s2c, 20, ms(2))
		s.Data(s2c, []byte(ra[len(ra)-30:]), ms(3))
		// A pipelining client after the gap: two requests, then two responses.
		s.Data(c2s, append(req("/b"), req("/c")...), ms(4))
		s.Data(s2c, []byte(resp("b")+resp("c")), ms(5))
		s.End(tcp.EndFIN, ms(9))
		out := h.take()
		if len(out) != 3 || out[0].Path != "/a" || !out[0].Flags.Has(flow.FlagGap) ||
			string(out[1].Response.Data) != "b" || string(out[2].Response.Data) != "c" || !out[2].Flags.Has(flow.FlagPipelined) {
			t.Fatalf("%s", dump(out))
		}
	})
}

// TestCrossDirectionOrder: the reassembler orders each direction, not the
// two against each other. A request whose last bytes were lost completes
// (when the hole is declared) after its response was parsed: the held
// orphan response is paired with it.
func TestCrossDirectionOrder(t *testing.T) {
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("POST /up HTTP/1.1\nHost: h\nContent-Length: 10\n\n")+"12345"), ms(0))
	s.Data(s2c, []byte(crlf("HTTP/1.1 201 Created\nContent-Length: 2\n\nok")), ms(2))
	if len(h.out) != 0 {
		t.Fatalf("orphan emitted at once: %s", dump(h.out))
	}
	s.Gap(c2s, 5, ms(3)) // declared when the next request arrives
	s.Data(c2s, []byte(crlf("GET /next HTTP/1.1\nHost: h\n\n")), ms(3))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\nn")), ms(4))
	s.End(tcp.EndFIN, ms(5))
	out := h.take()
	if len(out) != 2 || out[0].Path != "/up" || out[0].Status != 201 || !out[0].Flags.Has(flow.FlagGap) ||
		out[1].Path != "/next" || out[1].Status != 200 || out[1].Flags&(flow.FlagPipelined|flow.FlagGap) != 0 {
		t.Fatalf("%s", dump(out))
	}
	if st := h.f.Stats(); st.OrphansPaired != 1 || st.NoRequest != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestContinueWithLostResponse: a 100 Continue arriving while an older
// request (whose response was lost) is pending belongs to the request that
// asked for it.
func TestContinueWithLostResponse(t *testing.T) {
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("DELETE /x HTTP/1.1\nHost: h\n\n")), ms(0))
	s.Gap(s2c, 40, ms(1)) // the 204 was not captured
	s.Data(c2s, []byte(crlf("POST /up HTTP/1.1\nHost: h\nExpect: 100-continue\nContent-Length: 3\n\n")), ms(2))
	s.Data(s2c, []byte(crlf("HTTP/1.1 100 Continue\n\n")), ms(3))
	s.Data(c2s, []byte("abc"), ms(4))
	s.Data(s2c, []byte(crlf("HTTP/1.1 201 Created\nContent-Length: 0\n\n")), ms(5))
	s.End(tcp.EndFIN, ms(6))
	out := h.take()
	if len(out) != 2 || out[0].Path != "/x" || !out[0].Flags.Has(flow.FlagNoResponse|flow.FlagGap) ||
		out[1].Path != "/up" || out[1].Status != 201 || len(out[1].Informational) != 1 || out[1].Flags.Has(flow.FlagPipelined) {
		t.Fatalf("%s", dump(out))
	}
	// A 1xx from before a request started is not given to it.
	h2 := newHarness(t, nil)
	s = h2.f.New(connInfo(false))
	s.Data(s2c, []byte(crlf("HTTP/1.1 103 Early Hints\n\n")), ms(0))
	s.Data(c2s, []byte(crlf("GET / HTTP/1.1\nHost: h\n\n")), ms(1))
	s.Data(s2c, []byte(crlf("HTTP/1.1 204 No Content\n\n")), ms(2))
	if e := h2.one(); len(e.Informational) != 0 {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
}

// TestDelayedResponseNotPipelining: a response held back by the reassembler
// (a hole filled late) makes the next request look pipelined by delivery
// order; by timing it is not.
func TestDelayedResponseNotPipelining(t *testing.T) {
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	resp := crlf("HTTP/1.1 200 OK\nContent-Length: 10\n\n0123456789")
	s.Data(c2s, []byte(crlf("GET /a HTTP/1.1\nHost: h\n\n")), ms(0))
	s.Data(s2c, []byte(resp[:20]), ms(1))
	// The client got the whole response and sent the next request; the
	// capture's copy of the response tail is delivered only later.
	s.Data(c2s, []byte(crlf("GET /b HTTP/1.1\nHost: h\n\n")), ms(3))
	s.Data(s2c, []byte(resp[20:]), ms(4))
	s.Data(s2c, []byte(resp), ms(5))
	s.End(tcp.EndFIN, ms(6))
	out := h.take()
	if len(out) != 2 || out[1].Path != "/b" || out[1].Flags.Has(flow.FlagPipelined) {
		t.Fatalf("%s", dump(out))
	}
}

// TestOrphans: the tail of a POST and the whole next request were lost;
// both responses are parsed before the POST completes.
func TestOrphans(t *testing.T) {
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("POST /up HTTP/1.1\nHost: h\nContent-Length: 10\n\n")+"12345"), ms(0))
	s.Data(s2c, []byte(crlf("HTTP/1.1 201 Created\nContent-Length: 0\n\n")), ms(2))
	// PATCH /p (sent at ms(3)) was not captured; its response was.
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\np")), ms(4))
	s.Gap(c2s, 5+60, ms(5))
	s.Data(c2s, []byte(crlf("GET /next HTTP/1.1\nHost: h\n\n")), ms(5))
	s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\nn")), ms(6))
	s.End(tcp.EndFIN, ms(7))
	out := h.take()
	if len(out) != 3 || out[0].Path != "/up" || out[0].Status != 201 ||
		!out[1].Flags.Has(flow.FlagNoRequest) || string(out[1].Response.Data) != "p" ||
		out[2].Path != "/next" || string(out[2].Response.Data) != "n" {
		t.Fatalf("%s", dump(out))
	}
	// One-sided response captures are held at most maxOrphans deep and
	// come out in order.
	h = newHarness(t, nil)
	s = h.f.New(connInfo(false))
	for i := 0; i < 10; i++ {
		s.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 1\n\n")+itoa(i)), ms(i))
		if len(h.out) < i+1-maxOrphans {
			t.Fatalf("%d responses, %d records", i+1, len(h.out))
		}
	}
	s.End(tcp.EndFIN, ms(20))
	out = h.take()
	for i, e := range out {
		if string(e.Response.Data) != itoa(i) || !e.Flags.Has(flow.FlagNoRequest) {
			t.Fatalf("%d: %s", i, dump(out))
		}
	}
	if len(out) != 10 {
		t.Fatalf("%d records", len(out))
	}
}
