package exchange

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/h2"
	"github.com/apitap/apitap/sensor/tcp"
)

// h2side writes one direction's frames with x/net/http2 (an independent
// implementation of the framing and of HPACK).
type h2side struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newH2Side(preface bool) *h2side {
	s := &h2side{}
	if preface {
		s.buf.WriteString(h2.Preface)
	}
	s.fr = http2.NewFramer(&s.buf, nil)
	s.enc = hpack.NewEncoder(&s.hb)
	return s
}

func (s *h2side) headers(id uint32, end bool, kv ...string) {
	s.hb.Reset()
	for i := 0; i < len(kv); i += 2 {
		s.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: s.hb.Bytes(), EndHeaders: true, EndStream: end})
}

// take returns the bytes written since the last take.
func (s *h2side) take() []byte {
	b := append([]byte(nil), s.buf.Bytes()...)
	s.buf.Reset()
	return b
}

// Two multiplexed streams answered out of order: each record pairs the
// request and response of one stream; :authority is the host, the bearer
// token is fingerprinted, the gzip body decoded.
func TestH2Multiplexed(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	cl.fr.WriteSettings()
	cl.headers(1, false, ":method", "POST", ":path", "/api/v1/orders?src=web", ":authority", "shop.example:8443", ":scheme", "http",
		"authorization", "Bearer s3cr3t-t0ken", "content-type", "application/json")
	cl.fr.WriteData(1, true, []byte(`{"item":42}`))
	cl.headers(3, true, ":method", "GET", ":path", "/api/v1/users/7", ":authority", "shop.example:8443", ":scheme", "http",
		"authorization", "Bearer s3cr3t-t0ken")
	c.Data(c2s, cl.take(), ms(1))

	sv.fr.WriteSettings()
	sv.headers(3, false, ":status", "200", "content-type", "application/json", "content-encoding", "gzip")
	sv.fr.WriteData(3, true, gzipped([]byte(`{"id":7,"name":"Ann"}`)))
	sv.headers(1, false, ":status", "201", "content-type", "application/json")
	sv.fr.WriteData(1, false, []byte(`{"order":`))
	sv.fr.WriteData(1, true, []byte(`99}`))
	c.Data(s2c, sv.take(), ms(5))

	out := h.take()
	if len(out) != 2 {
		t.Fatalf("%d records: %s", len(out), dump(out))
	}
	get, post := out[0], out[1]
	if get.Method != "GET" || get.Target != "/api/v1/users/7" || get.Status != 200 || string(get.Response.Data) != `{"id":7,"name":"Ann"}` ||
		get.Response.ContentEncoding != "gzip" || get.Proto != "HTTP/2.0" {
		t.Fatalf("GET record: %s", dump(out[:1]))
	}
	if post.Method != "POST" || post.Path != "/api/v1/orders" || post.Query != "src=web" || post.Status != 201 ||
		string(post.Request.Data) != `{"item":42}` || post.Request.WireBytes != 11 || string(post.Response.Data) != `{"order":99}` ||
		post.Response.WireBytes != 12 || post.Request.ContentType != "application/json" {
		t.Fatalf("POST record: %s", dump(out[1:]))
	}
	for _, e := range out {
		if e.Host != "shop.example" || e.HostPort != 8443 || e.Client.Port() != 50000 || e.Server.Port() != 80 {
			t.Fatalf("addressing: %s", dump([]*flow.Exchange{e}))
		}
		wantFlags(t, e, flow.FlagRedacted, ^flow.FlagRedacted)
		if strings.Contains(string(flow.AppendJSON(nil, e)), "s3cr3t") || len(e.Credentials) != 1 || e.Credentials[0].Fingerprint == "" {
			t.Fatalf("credential not redacted: %s", dump([]*flow.Exchange{e}))
		}
		for _, hd := range e.RequestHeaders {
			if strings.HasPrefix(hd.Name, ":") {
				t.Fatalf("pseudo-header %s in the headers", hd.Name)
			}
		}
	}
	c.End(0, ms(10))
	if len(h.take()) != 0 {
		t.Fatal("records after the end")
	}
	if st := h.f.Stats(); st.HTTP2Connections != 1 || st.HTTPConnections != 1 || st.Requests != 2 || st.Responses != 2 || st.Exchanges != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// The server's SETTINGS may come before the client's preface, split from
// the frames after it: held until the preface decides, not lost. The
// preface itself may be split too.
func TestH2ServerFirst(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	sv.fr.WriteWindowUpdate(0, 1<<16)
	first := sv.take()
	c.Data(s2c, first[:len(first)-5], ms(1)) // ends inside WINDOW_UPDATE

	cl.fr.WriteSettings()
	cl.headers(1, true, ":method", "GET", ":path", "/", ":authority", "a.example", ":scheme", "http")
	req := cl.take()
	c.Data(c2s, req[:7], ms(2))
	c.Data(c2s, req[7:], ms(3))

	sv.headers(1, true, ":status", "204")
	c.Data(s2c, append(first[len(first)-5:], sv.take()...), ms(4))
	e := h.one()
	if e.Method != "GET" || e.Status != 204 || e.Host != "a.example" || e.Flags != 0 {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	if st := h.f.Stats(); st.HTTP2Lost != 0 || st.SkippedBytes != 0 || st.NonHTTPConnections != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A stream never answered times out alone; its late response is a
// no_request record; a stream still open at the end is no_response; a
// reset stream is emitted at once, incomplete.
func TestH2Timeouts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResponseTimeout = time.Second })
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	cl.headers(1, true, ":method", "GET", ":path", "/slow", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(0))
	cl.headers(3, true, ":method", "GET", ":path", "/fast", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(900))
	h.f.Advance(ms(1100))
	e := h.one()
	if e.Target != "/slow" || !e.Flags.Has(flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	sv.headers(3, true, ":status", "200")
	sv.headers(1, true, ":status", "200")
	c.Data(s2c, sv.take(), ms(1200))
	out := h.take()
	if len(out) != 2 || out[0].Target != "/fast" || out[0].Status != 200 || out[0].Flags != 0 || !out[1].Flags.Has(flow.FlagNoRequest) {
		t.Fatalf("%s", dump(out))
	}

	cl.headers(5, true, ":method", "GET", ":path", "/reset", ":authority", "a.example", ":scheme", "http")
	cl.headers(7, true, ":method", "GET", ":path", "/open", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(1300))
	sv.fr.WriteRSTStream(5, http2.ErrCodeRefusedStream)
	c.Data(s2c, sv.take(), ms(1301))
	e = h.one()
	if e.Target != "/reset" || !e.Flags.Has(flow.FlagNoResponse|flow.FlagIncomplete) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	c.End(0, ms(1400))
	e = h.one()
	if e.Target != "/open" || !e.Flags.Has(flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	if st := h.f.Stats(); st.ResponseTimeouts != 1 || st.NoRequest != 1 || st.LateResponses != 1 || st.EndedPending != 1 || st.NoResponse != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// Bytes lost inside a DATA payload flag that message only; lost anywhere
// else, the connection is given up: its open streams are emitted, flagged
// gap, and the rest is counted as opaque.
func TestH2Gaps(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	cl.headers(1, true, ":method", "GET", ":path", "/a", ":authority", "a.example", ":scheme", "http")
	cl.headers(3, true, ":method", "GET", ":path", "/b", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(1))
	sv.headers(1, false, ":status", "200")
	sv.fr.WriteData(1, true, []byte("0123456789"))
	resp := sv.take()
	c.Data(s2c, resp[:len(resp)-6], ms(2))
	c.Gap(s2c, 3, ms(3))
	c.Data(s2c, resp[len(resp)-3:], ms(4))
	e := h.one()
	if e.Target != "/a" || e.Response.WireBytes != 10 || string(e.Response.Data) != "0123789" || !e.Flags.Has(flow.FlagGap) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	sv.headers(3, true, ":status", "200")
	c.Gap(s2c, 4, ms(5)) // inside a frame header: the connection is lost
	c.Data(s2c, sv.take(), ms(6))
	e = h.one()
	if e.Target != "/b" || !e.Flags.Has(flow.FlagGap|flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	// The requests are still read: each is a record at once, its answer
	// unreadable.
	cl.headers(5, true, ":method", "GET", ":path", "/c", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(7))
	e = h.one()
	if e.Target != "/c" || e.Proto != "HTTP/2.0" || !e.Flags.Has(flow.FlagGap|flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	// A request cut by a gap on the other side too: nothing more to read.
	cl.headers(7, false, ":method", "POST", ":path", "/d", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(8))
	c.Gap(c2s, 2, ms(9))
	e = h.one()
	if e.Target != "/d" || !e.Flags.Has(flow.FlagGap|flow.FlagIncomplete|flow.FlagNoResponse) {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	c.Data(c2s, []byte("more"), ms(10))
	c.End(0, ms(11))
	if st := h.f.Stats(); st.HTTP2Lost != 2 || st.OpaqueBytes == 0 || st.HTTP2LostBytes < 4 || len(h.take()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Without the preface, or midstream, a binary stream is not HTTP.
func TestH2NotWithoutPreface(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(true))
	cl := newH2Side(true)
	cl.headers(1, true, ":method", "GET", ":path", "/", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(1))
	c.End(0, ms(2))
	if st := h.f.Stats(); st.HTTP2Connections != 0 || len(h.take()) != 0 {
		t.Fatalf("midstream: stats %+v", st)
	}
}

// BenchmarkExchangeH2 is BenchmarkExchange's keep-alive exchange over
// HTTP/2: the same request and response (bearer token, ~1 KB JSON body),
// one stream each, HPACK-encoded by x/net/http2 as a client and server
// would (repeated fields hit the dynamic table); a new connection every
// 1,000 streams.
func BenchmarkExchangeH2(b *testing.B) {
	const streams = 1000
	clStart, svStart, reqs, resps := h2KeepAlive(streams)
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("0123456789abcdef")
	f := NewFactory(cfg, func(*flow.Exchange) {})
	var s interface {
		Data(tcp.Dir, []byte, int64)
		End(tcp.EndReason, int64)
	}
	ts := ms(0)
	b.SetBytes(int64(len(reqs[1]) + len(resps[1])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % streams
		i++
		ts += 1000
		if k == 0 {
			if s != nil {
				s.End(tcp.EndFIN, ts)
			}
			s = f.New(connInfo(false))
			s.Data(c2s, clStart, ts)
			s.Data(s2c, svStart, ts)
		}
		s.Data(c2s, reqs[k], ts)
		s.Data(s2c, resps[k], ts+500)
	}
	s.End(tcp.EndFIN, ts+1)
	b.ReportMetric(float64(f.Stats().Exchanges)/float64(b.N), "exchanges/op")
}

// h2KeepAlive is one connection's bytes for n streams of the keep-alive
// exchange: the client's preface and SETTINGS, the server's SETTINGS,
// then each stream's request and response.
func h2KeepAlive(n int) (clStart, svStart []byte, reqs, resps [][]byte) {
	cl, sv := newH2Side(true), newH2Side(false)
	cl.fr.WriteSettings()
	sv.fr.WriteSettings()
	clStart, svStart = cl.take(), sv.take()
	reqs, resps = make([][]byte, n), make([][]byte, n)
	for i := range n {
		id := uint32(2*i + 1)
		cl.headers(id, true, ":method", "GET", ":path", "/api/v1/orders/12345?expand=items", ":authority", "api.example.com",
			":scheme", "http", "user-agent", "test-client/1.0", "accept", "application/json",
			"authorization", "Bearer opaque-access-token-0123456789abcdef")
		reqs[i] = cl.take()
		sv.headers(id, false, ":status", "200", "content-type", "application/json; charset=utf-8",
			"date", "Tue, 02 Jan 2024 03:04:05 GMT", "cache-control", "no-store", "content-length", itoa(len(kaBody)))
		sv.fr.WriteData(id, true, []byte(kaBody))
		resps[i] = sv.take()
	}
	return clStart, svStart, reqs, resps
}

// TestAllocsPerExchangeH2: an HTTP/2 stream allocates only its record,
// as an HTTP/1.x exchange does (4 with one bearer token); the streams,
// their buffers and the message handed to the fill functions are reused.
func TestAllocsPerExchangeH2(t *testing.T) {
	clStart, svStart, reqs, resps := h2KeepAlive(1100)
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("0123456789abcdef")
	var last *flow.Exchange
	n := 0
	f := NewFactory(cfg, func(e *flow.Exchange) { last = e; n++ })
	s := f.New(connInfo(false))
	s.Data(c2s, clStart, ms(0))
	s.Data(s2c, svStart, ms(0))
	i := 0
	run := func() {
		s.Data(c2s, reqs[i], ms(i))
		s.Data(s2c, resps[i], ms(i))
		i++
	}
	for range 10 {
		run()
	}
	allocs := testing.AllocsPerRun(1000, run)
	if last == nil || last.Status != 200 || len(last.Response.Data) != len(kaBody) || n != 1011 || len(last.Credentials) != 1 {
		t.Fatalf("exchange not produced: %d %s", n, dump([]*flow.Exchange{last}))
	}
	s.End(tcp.EndFIN, ms(2000))
	t.Logf("allocations per HTTP/2 exchange: %.1f", allocs)
	if allocs > 4 {
		t.Errorf("%.1f allocations per exchange, budget 4", allocs)
	}
}

// An `Upgrade: h2c` request answered by 101: the connection is HTTP/2 from
// the byte after the 101 (here in the same segment as the server's first
// frames). The request's answer comes on stream 1; later streams are
// HTTP/2 records. A server that ignores the upgrade keeps HTTP/1.1.
func TestH2cUpgrade(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(false))
	c.Data(c2s, []byte(crlf("GET /first HTTP/1.1\nHost: a.example\nConnection: Upgrade, HTTP2-Settings\nUpgrade: h2c\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\n\n")), ms(1))
	sv, cl := newH2Side(false), newH2Side(true)
	sv.fr.WriteSettings()
	sv.headers(1, false, ":status", "200", "content-type", "text/plain")
	sv.fr.WriteData(1, true, []byte("first"))
	c.Data(s2c, append([]byte(crlf("HTTP/1.1 101 Switching Protocols\nConnection: Upgrade\nUpgrade: h2c\n\n")), sv.take()...), ms(2))
	e := h.one()
	if e.Proto != "HTTP/1.1" || e.Target != "/first" || e.Status != 200 || string(e.Response.Data) != "first" ||
		len(e.Informational) != 1 || e.Informational[0] != 101 || e.Flags != flow.FlagUpgrade {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	cl.fr.WriteSettings()
	cl.headers(3, true, ":method", "GET", ":path", "/second", ":authority", "a.example", ":scheme", "http")
	c.Data(c2s, cl.take(), ms(3))
	sv.headers(3, true, ":status", "204")
	c.Data(s2c, sv.take(), ms(4))
	e = h.one()
	if e.Proto != "HTTP/2.0" || e.Target != "/second" || e.Status != 204 || e.Flags != 0 {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
	c.End(0, ms(5))
	if st := h.f.Stats(); st.HTTP2Connections != 1 || st.Upgrades != 1 || st.OpaqueBytes != 0 || st.SkippedBytes != 0 || len(h.take()) != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Declined: the answer is a plain 200 and HTTP/1.1 goes on.
	c = h.f.New(connInfo(false))
	c.Data(c2s, []byte(crlf("GET /a HTTP/1.1\nHost: a.example\nConnection: Upgrade\nUpgrade: h2c\n\n")), ms(10))
	c.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")), ms(11))
	c.Data(c2s, []byte(crlf("GET /b HTTP/1.1\nHost: a.example\n\n")), ms(12))
	c.Data(s2c, []byte(crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\n")), ms(13))
	out := h.take()
	if len(out) != 2 || out[0].Target != "/a" || out[1].Target != "/b" || out[0].Flags != 0 || out[1].Flags != 0 {
		t.Fatalf("%s", dump(out))
	}
	// A WebSocket upgrade stays opaque.
	c = h.f.New(connInfo(false))
	c.Data(c2s, []byte(crlf("GET /ws HTTP/1.1\nHost: a.example\nConnection: Upgrade\nUpgrade: websocket\n\n")), ms(20))
	c.Data(s2c, append([]byte(crlf("HTTP/1.1 101 Switching Protocols\nConnection: Upgrade\nUpgrade: websocket\n\n")), 0x81, 0x02, 'h', 'i'), ms(21))
	e = h.one()
	if e.Status != 101 || e.Flags != flow.FlagUpgrade || h.f.Stats().HTTP2Connections != 1 {
		t.Fatalf("%s", dump([]*flow.Exchange{e}))
	}
}

// gRPC over HTTP/2: the status travels in the trailers (a second header
// block ending the stream), recorded after the headers, so that
// flow.EffectiveStatus sees it; or, for a call that fails at once, in a
// trailers-only response.
func TestH2GRPC(t *testing.T) {
	h := newHarness(t, nil)
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	msg := []byte{0, 0, 0, 0, 5, 0x0a, 0x03, 'b', 'o', 'b'} // one length-prefixed protobuf message
	for _, id := range []uint32{1, 3} {
		cl.headers(id, false, ":method", "POST", ":path", "/auth.v1.Login/Authenticate", ":authority", "auth:50051",
			":scheme", "http", "content-type", "application/grpc", "te", "trailers")
		cl.fr.WriteData(id, true, msg)
	}
	c.Data(c2s, cl.take(), ms(1))
	sv.headers(1, false, ":status", "200", "content-type", "application/grpc")
	sv.fr.WriteData(1, false, []byte{0, 0, 0, 0, 0})
	sv.headers(1, true, "grpc-status", "16", "grpc-message", "invalid credentials")
	sv.headers(3, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "12")
	c.Data(s2c, sv.take(), ms(2))
	out := h.take()
	if len(out) != 2 {
		t.Fatalf("%s", dump(out))
	}
	e := out[0]
	names := []string{}
	for _, hd := range e.ResponseHeaders {
		names = append(names, hd.Name+"="+hd.Value)
	}
	if strings.Join(names, ",") != "content-type=application/grpc,grpc-status=16,grpc-message=invalid credentials" ||
		e.Status != 200 || flow.EffectiveStatus(e) != 401 || e.Response.WireBytes != 5 || e.Flags != 0 || e.Request.WireBytes != 10 {
		t.Fatalf("%s", dump(out[:1]))
	}
	if e := out[1]; flow.EffectiveStatus(e) != 501 || e.Flags != 0 {
		t.Fatalf("%s", dump(out[1:]))
	}
}

// HTTP/2 messages still arriving count against max_pending_bytes: past
// it, new streams are not followed (PendingDrops) and bodies are cut
// (truncated); the budget comes back as streams end.
func TestH2MemoryBudget(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPendingBytes = 64 << 10; c.Limits.MaxBodyBytes = 48 << 10 })
	c := h.f.New(connInfo(false))
	cl, sv := newH2Side(true), newH2Side(false)
	big := bytes.Repeat([]byte("x"), 16<<10)
	for id := uint32(1); id <= 9; id += 2 { // 5 uploads still arriving: 5 × 3 × 16 KiB
		cl.headers(id, false, ":method", "POST", ":path", "/up", ":authority", "a.example", ":scheme", "http")
		for range 3 {
			cl.fr.WriteData(id, false, big)
		}
	}
	c.Data(c2s, cl.take(), ms(1))
	if got := h.f.h2Bytes; got > 64<<10+16<<10+1<<10 {
		t.Fatalf("%d bytes held over a 64 KiB budget", got)
	}
	if st := h.f.Stats(); st.PendingDrops == 0 {
		t.Fatalf("no stream dropped: %+v", st)
	}
	for id := uint32(1); id <= 9; id += 2 {
		cl.fr.WriteData(id, true, nil)
		sv.headers(id, true, ":status", "201")
	}
	c.Data(c2s, cl.take(), ms(2))
	c.Data(s2c, sv.take(), ms(3))
	out := h.take()
	var truncated int
	for _, e := range out {
		if e.Flags.Has(flow.FlagNoRequest) {
			continue // the answer to a stream that was not followed
		}
		if len(e.Request.Data) > 48<<10 || e.Request.WireBytes != 48<<10 {
			t.Fatalf("request body %d of %d bytes", len(e.Request.Data), e.Request.WireBytes)
		}
		if e.Flags.Has(flow.FlagTruncated) {
			truncated++
		}
	}
	if len(out) == 0 || len(out) == 5 || truncated == 0 {
		t.Fatalf("%d records, %d truncated", len(out), truncated)
	}
	c.End(0, ms(4))
	if h.f.h2Bytes != 0 || h.f.pendingBytes != 0 {
		t.Fatalf("budget not returned: %d %d", h.f.h2Bytes, h.f.pendingBytes)
	}
}

// Frames that still come for a stream after it ended (a reset after the
// answer, late DATA, late trailers) are ignored: no record, and no stream
// left open that would never end and would fill the stream table.
func TestH2ClosedStreams(t *testing.T) {
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	c := s.(*conn)
	cl, sv := newH2Side(true), newH2Side(false)
	for id := uint32(1); id < 600; id += 2 { // more than the stream table holds
		cl.headers(id, true, ":method", "GET", ":path", "/x", ":authority", "a.example", ":scheme", "http")
		s.Data(c2s, cl.take(), ms(int(id)))
		sv.headers(id, false, ":status", "200")
		sv.fr.WriteData(id, true, []byte("ok"))
		sv.fr.WriteRSTStream(id, http2.ErrCodeNo)
		sv.fr.WriteData(id, true, []byte("late"))
		sv.headers(id, true, "grpc-status", "0")
		s.Data(s2c, sv.take(), ms(int(id)))
		cl.fr.WriteData(id, true, []byte("late too"))
		s.Data(c2s, cl.take(), ms(int(id)))
	}
	out := h.take()
	if len(out) != 300 || len(c.h2.streams) != 0 || h.f.h2Bytes != 0 {
		t.Fatalf("%d records, %d streams open, %d bytes held", len(out), len(c.h2.streams), h.f.h2Bytes)
	}
	for _, e := range out {
		if e.Flags != 0 || e.Status != 200 || string(e.Response.Data) != "ok" {
			t.Fatalf("%s", dump([]*flow.Exchange{e}))
		}
	}
	if st := h.f.Stats(); st.PendingDrops != 0 || st.NoRequest != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// h2Traffic is both directions of n gRPC-like calls on one connection,
// without the client's preface.
func h2Traffic(n int) (client, server []byte) {
	cl, sv := newH2Side(false), newH2Side(false)
	cl.fr.WriteSettings()
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	for i := range n {
		id := uint32(2*i + 1)
		cl.headers(id, false, ":method", "POST", ":path", "/shop.Orders/Get", ":authority", "orders:50051", ":scheme", "http",
			"content-type", "application/grpc", "te", "trailers")
		cl.fr.WriteData(id, true, append([]byte{0, 0, 0, 0, 3}, 0x08, 0x96, byte(i)))
		sv.headers(id, false, ":status", "200", "content-type", "application/grpc")
		sv.fr.WriteData(id, false, []byte{0, 0, 0, 0, 2, 0x08, byte(i)})
		sv.headers(id, true, "grpc-status", "0")
		if i%5 == 4 {
			cl.fr.WriteWindowUpdate(0, 40)
			sv.fr.WritePing(true, [8]byte{1})
		}
	}
	return cl.take(), sv.take()
}

// An HTTP/2 connection seen without its start (the sensor started later,
// or bytes were lost before anything was recognised) cannot be read: the
// HPACK tables are gone. It is recognised by its framing (h2.Sync) and
// every byte of it is counted as lost (http2_midstream), not as non-HTTP,
// so the analyzer knows the sensor was blind. A connection whose start was
// seen without a preface is not HTTP/2, whatever follows.
func TestH2Midstream(t *testing.T) {
	cb, sb := h2Traffic(30)
	for _, tc := range []struct {
		name           string
		midstream, gap bool
		want           bool
	}{
		{"joined midstream", true, false, true},
		{"gap before anything was recognised", false, true, true},
		{"start seen, no preface", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.f.New(connInfo(tc.midstream))
			client, server := cb, sb
			if tc.midstream {
				client, server = cb[37:], sb[11:] // joined inside frames
			}
			if tc.gap {
				c.Data(c2s, []byte("\x16\x03\x01"), ms(0))
				c.Gap(c2s, 500, ms(1))
				c.Gap(s2c, 300, ms(1))
			}
			var fed uint64
			for i := 0; len(client) > 0 || len(server) > 0; i++ {
				n := min(1448, len(client))
				c.Data(c2s, client[:n], ms(2+i))
				m := min(1448, len(server))
				c.Data(s2c, server[:m], ms(2+i))
				client, server = client[n:], server[m:]
				fed += uint64(n + m)
			}
			c.End(0, ms(100))
			st := h.f.Stats()
			if len(h.take()) != 0 {
				t.Fatal("records from an unreadable connection")
			}
			if !tc.want {
				if st.HTTP2Midstream != 0 || st.NonHTTPConnections != 1 {
					t.Fatalf("taken for HTTP/2 joined midstream: %+v", st)
				}
				return
			}
			if tc.gap {
				fed += 3 // the bytes before the gap
			}
			if st.HTTP2Midstream != 1 || st.HTTP2MidstreamBytes != fed || st.NonHTTPConnections != 0 || st.NonHTTPBytes != 0 {
				t.Fatalf("fed %d bytes; stats %+v", fed, st)
			}
			// Each call is counted at most once. After a gap both
			// directions start at a frame: every call. Joined inside
			// frames, the first call's frames may be cut in both
			// directions or passed over by a false chain start (here:
			// the server's SETTINGS payload reads as a DATA header).
			if n := st.HTTP2MidstreamStreams; n > 30 || tc.gap && n != 30 || n < 28 {
				t.Fatalf("%d requests counted, 30 made", n)
			}
		})
	}
}

// A midstream connection that is neither HTTP/1 nor HTTP/2 (ciphertext)
// is declared non-HTTP once both directions spent their scan budget, also
// when one of them was following what looked like a frame chain and a gap
// broke it; every byte is counted once.
func TestMidstreamNotHTTP(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MidstreamScanBytes = 16 << 10 })
	c := h.f.New(connInfo(true))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(1 + (i*131+i>>7)%255) // no zero byte: no frame header
	}
	// A plausible DATA frame header (16,000 bytes, stream 1) at 10,000:
	// the client direction is following it when its budget runs out.
	client := append([]byte(nil), noise[:40000]...)
	copy(client[10000:], []byte{0x00, 0x3e, 0x80, 0x0, 0x0, 0, 0, 0, 1})
	var fed uint64
	feed := func(dir tcp.Dir, b []byte) {
		c.Data(dir, b, ms(1))
		fed += uint64(len(b))
	}
	for i := 0; i < 20; i++ {
		feed(c2s, client[i*1000:i*1000+1000])
	}
	for i := 0; i < 20; i++ {
		feed(s2c, noise[i*1000:i*1000+1000])
	}
	if m := c.(*conn).mode; m != modeDetect {
		t.Fatalf("mode %d while the client direction follows a chain, want detect", m)
	}
	c.Gap(c2s, 700, ms(2))
	feed(c2s, client[30000:31000])
	if m := c.(*conn).mode; m != modeNonHTTP {
		t.Fatalf("mode %d once the chain was broken, want non-HTTP", m)
	}
	feed(c2s, client[31000:32000])
	c.End(0, ms(100))
	if st := h.f.Stats(); st.NonHTTPConnections != 1 || st.NonHTTPBytes != fed || st.HTTP2Midstream != 0 {
		t.Fatalf("fed %d bytes; stats %+v", fed, st)
	}
}
