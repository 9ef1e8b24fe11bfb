package exchange

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/tcp"
)

const (
	c2s = tcp.ClientToServer
	s2c = tcp.ServerToClient
)

// ms is a capture timestamp: t0 plus n milliseconds.
func ms(n int) int64 { return t0 + int64(n)*int64(time.Millisecond) }

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

var (
	clientIP = netip.MustParseAddr("10.0.0.1")
	serverIP = netip.MustParseAddr("10.0.0.2")
)

func addr16(a netip.Addr) decode.Addr { return decode.Addr(netip.AddrFrom16(a.As16()).As16()) }

// connInfo is a connection 10.0.0.1:50000 -> 10.0.0.2:80 as the TCP layer
// would describe it.
func connInfo(midstream bool) *tcp.ConnInfo {
	return &tcp.ConnInfo{
		Key: tcp.Key{
			LoAddr: addr16(clientIP), HiAddr: addr16(serverIP), LoPort: 80, HiPort: 50000,
			Outer: flow.Outer{VLAN: 7},
		},
		ClientAddr: addr16(clientIP), ServerAddr: addr16(serverIP),
		ClientPort: 50000, ServerPort: 80,
		Midstream: midstream,
		Start:     t0,
	}
}

// harness drives one Factory and collects what it emits.
type harness struct {
	t   testing.TB
	f   *Factory
	out []*flow.Exchange
}

func newHarness(t testing.TB, mod func(*Config)) *harness {
	h := &harness{t: t}
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("0123456789abcdef-test-key")
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.f = NewFactory(cfg, func(e *flow.Exchange) { h.out = append(h.out, e) })
	return h
}

// take returns and clears what was emitted.
func (h *harness) take() []*flow.Exchange {
	out := h.out
	h.out = nil
	return out
}

// one expects exactly one record.
func (h *harness) one() *flow.Exchange {
	h.t.Helper()
	out := h.take()
	if len(out) != 1 {
		h.t.Fatalf("got %d records, want 1: %s", len(out), dump(out))
	}
	return out[0]
}

func dump(es []*flow.Exchange) string {
	var b strings.Builder
	for _, e := range es {
		b.Write(flow.AppendJSON(nil, e))
		b.WriteByte('\n')
	}
	return b.String()
}

// crlf turns "\n" into "\r\n" so test messages stay readable.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func wantFlags(t testing.TB, e *flow.Exchange, want, not flow.Flags) {
	t.Helper()
	if !e.Flags.Has(want) {
		t.Errorf("flags %v, want %v set", e.Flags, want)
	}
	if e.Flags&not != 0 {
		t.Errorf("flags %v, want %v clear", e.Flags, not)
	}
}
