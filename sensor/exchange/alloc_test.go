package exchange

import (
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/tcp"
)

// keepAlive is one keep-alive exchange: a GET with a bearer token and a
// ~1 KB JSON response.
var (
	kaRequest = []byte(crlf("GET /api/v1/orders/12345?expand=items HTTP/1.1\n" +
		"Host: api.example.com\n" +
		"User-Agent: test-client/1.0\n" +
		"Accept: application/json\n" +
		"Authorization: Bearer opaque-access-token-0123456789abcdef\n\n"))
	kaBody     = `{"orders":[` + strings.Repeat(`{"id":12345,"status":"shipped","total":"99.90"},`, 20) + `{"id":0}]}`
	kaResponse = []byte(crlf("HTTP/1.1 200 OK\n"+
		"Content-Type: application/json; charset=utf-8\n"+
		"Date: Tue, 02 Jan 2024 03:04:05 GMT\n"+
		"Cache-Control: no-store\n"+
		"Content-Length: "+itoa(len(kaBody))+"\n\n") + kaBody)
)

// allocsPerExchange measures a warmed-up keep-alive connection.
func allocsPerExchange(t *testing.T, redact bool) float64 {
	cfg := DefaultConfig()
	cfg.Redact = redact
	cfg.HMACKey = []byte("0123456789abcdef")
	var last *flow.Exchange
	n := 0
	f := NewFactory(cfg, func(e *flow.Exchange) { last = e; n++ })
	s := f.New(connInfo(false))
	ts := ms(0)
	run := func() {
		ts += 1000
		s.Data(c2s, kaRequest, ts)
		s.Data(s2c, kaResponse, ts+500)
	}
	for i := 0; i < 10; i++ {
		run()
	}
	allocs := testing.AllocsPerRun(1000, run)
	if last == nil || last.Status != 200 || len(last.Response.Data) != len(kaBody) || n < 1010 {
		t.Fatalf("exchange not produced: %d %s", n, dump([]*flow.Exchange{last}))
	}
	s.End(tcp.EndFIN, ts+1)
	return allocs
}

// TestAllocsPerExchange: the steady state allocates only the record: the
// Exchange, its string arena and its header slice (3), plus the
// Credentials slice when a credential was redacted (4 with one bearer
// token; a JWT adds its claims and audience list). The budget is 6.
func TestAllocsPerExchange(t *testing.T) {
	off := allocsPerExchange(t, false)
	on := allocsPerExchange(t, true)
	t.Logf("allocations per exchange: redaction off %.1f, redaction on (one bearer header) %.1f", off, on)
	if off > 6 {
		t.Errorf("redaction off: %.1f allocations per exchange, budget 6", off)
	}
	if on > 6 {
		t.Errorf("redaction on: %.1f allocations per exchange, budget 6", on)
	}
}

func BenchmarkExchange(b *testing.B) {
	for _, redact := range []bool{false, true} {
		name := "redact=off"
		if redact {
			name = "redact=on"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Redact = redact
			cfg.HMACKey = []byte("0123456789abcdef")
			f := NewFactory(cfg, func(*flow.Exchange) {})
			s := f.New(connInfo(false))
			ts := ms(0)
			b.SetBytes(int64(len(kaRequest) + len(kaResponse)))
			b.ReportAllocs()
			for b.Loop() {
				ts += 1000
				s.Data(c2s, kaRequest, ts)
				s.Data(s2c, kaResponse, ts+500)
			}
			s.End(tcp.EndFIN, ts+1)
			b.ReportMetric(float64(f.Stats().Exchanges)/float64(b.N), "exchanges/op")
		})
	}
}

// BenchmarkAppendJSON encodes a record as the Factory builds it.
func BenchmarkAppendJSON(b *testing.B) {
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("0123456789abcdef")
	var e *flow.Exchange
	f := NewFactory(cfg, func(x *flow.Exchange) { e = x })
	s := f.New(connInfo(false))
	s.Data(c2s, kaRequest, ms(0))
	s.Data(s2c, kaResponse, ms(1))
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = flow.AppendJSON(buf[:0], e)
	}
	b.SetBytes(int64(len(buf)))
}
