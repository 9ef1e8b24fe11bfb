package codec

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/apitap/apitap/flow"
)

// sampleExchange is a realistic record: a keep-alive JSON API call with a
// ~1 KB response body, typical headers and a redacted bearer JWT.
func sampleExchange() *flow.Exchange {
	start := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var body strings.Builder
	body.WriteString(`{"orders":[`)
	for i := 0; body.Len() < 1000; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"id":"ord_`)
		body.WriteString(strings.Repeat("7", 12))
		body.WriteString(`","status":"shipped","total":1299,"currency":"EUR"}`)
	}
	body.WriteString(`]}`)
	data := []byte(body.String())
	return &flow.Exchange{
		Start:       start,
		End:         start.Add(3200 * time.Microsecond),
		Client:      netip.MustParseAddrPort("10.0.3.17:50123"),
		Server:      netip.MustParseAddrPort("10.0.9.2:8080"),
		Outer:       flow.Outer{VLAN: 7},
		Proto:       "HTTP/1.1",
		Method:      "GET",
		Host:        "api.example.com",
		Target:      "/v1/orders?limit=10&cursor=abc",
		Path:        "/v1/orders",
		PathDecoded: "/v1/orders",
		Query:       "limit=10&cursor=abc",
		RequestHeaders: []flow.Header{
			{Name: "Host", Value: "api.example.com"},
			{Name: "User-Agent", Value: "okhttp/4.12.0"},
			{Name: "Accept", Value: "application/json"},
			{Name: "Accept-Encoding", Value: "gzip"},
			{Name: "Authorization", Value: "Bearer fp:5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"},
			{Name: "X-Request-Id", Value: "3f2a9c1e-8b7d-4e6f-a5c4-d3b2a1908f7e"},
			{Name: "Traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			{Name: "Connection", Value: "keep-alive"},
		},
		ResponseHeaders: []flow.Header{
			{Name: "Date", Value: "Tue, 02 Jan 2024 03:04:05 GMT"},
			{Name: "Content-Type", Value: "application/json; charset=utf-8"},
			{Name: "Content-Length", Value: "1034"},
			{Name: "Cache-Control", Value: "no-store"},
			{Name: "X-Request-Id", Value: "3f2a9c1e-8b7d-4e6f-a5c4-d3b2a1908f7e"},
			{Name: "Strict-Transport-Security", Value: "max-age=63072000"},
			{Name: "Vary", Value: "Accept-Encoding"},
		},
		Status: 200,
		Reason: "OK",
		Response: flow.Body{
			WireBytes:    int64(len(data)),
			DecodedBytes: int64(len(data)),
			ContentType:  "application/json",
			Data:         data,
		},
		Credentials: []flow.Credential{{
			Location:    "header",
			Name:        "Authorization",
			Scheme:      "bearer",
			Fingerprint: "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
			JWT: &flow.JWTClaims{
				Sub: "user-123", Iss: "https://issuer.example", Aud: []string{"api"},
				Exp: 1700000000, Alg: "RS256",
			},
		}},
		Flags: flow.FlagRedacted,
	}
}

func sampleLoss() *flow.Loss {
	t := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return &flow.Loss{
		Stage: flow.StageReassembly, Reason: "gap_bytes", Unit: "bytes", Count: 4096,
		First: t, Last: t.Add(2 * time.Second),
	}
}

var sampleMeta = Meta{SensorID: "sensor-eu-1", SensorVersion: "v0.4.1", SchemaVersion: SchemaVersion, Sequence: 42}

// gen builds random records that exercise every field and every edge the
// codec must keep: zero and extreme times, IPv4/IPv6/IPv4-mapped/absent
// addresses, invalid UTF-8 in traffic text, nil and empty slices, a JWT with
// no claims, unknown flag bits.
type gen struct{ r *rand.Rand }

func (g gen) n(k int) int { return g.r.IntN(k) }

func (g gen) time() time.Time {
	switch g.n(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, 0)
	case 2:
		return time.Unix(0, math.MinInt64)
	case 3:
		return time.Unix(0, math.MaxInt64)
	case 4: // a zone other than UTC: the instant must survive
		return time.Unix(0, g.r.Int64()).In(time.FixedZone("X", 3600*(g.n(25)-12)))
	default:
		return time.Unix(0, g.r.Int64()-g.r.Int64())
	}
}

func (g gen) addrPort() netip.AddrPort {
	port := uint16(g.r.Uint32())
	switch g.n(5) {
	case 0:
		if g.n(2) == 0 {
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.Addr{}, port)
	case 1:
		var b [4]byte
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return netip.AddrPortFrom(netip.AddrFrom4(b), port)
	case 2: // IPv4-mapped IPv6 stays 16 bytes
		var b [4]byte
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return netip.AddrPortFrom(netip.AddrFrom16(netip.AddrFrom4(b).As16()), port)
	default:
		var b [16]byte
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return netip.AddrPortFrom(netip.AddrFrom16(b), port)
	}
}

// bytes returns raw traffic text: may be empty, invalid UTF-8, contain NULs.
func (g gen) bytes(max int) []byte {
	switch g.n(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, g.n(max+1))
	for i := range b {
		if g.n(4) == 0 {
			b[i] = byte(g.r.Uint32())
		} else {
			b[i] = byte('a' + g.n(26))
		}
	}
	return b
}

func (g gen) str(max int) string { return string(g.bytes(max)) }

// utf8 returns sensor-produced text (a string field in the schema).
func (g gen) utf8(max int) string {
	rs := []rune{'a', 'z', '0', '_', 'é', '€', '😀', 0}
	var sb strings.Builder
	for i, n := 0, g.n(max+1); i < n; i++ {
		sb.WriteRune(rs[g.n(len(rs))])
	}
	return sb.String()
}

func (g gen) headers() []flow.Header {
	switch g.n(4) {
	case 0:
		return nil
	case 1:
		return []flow.Header{}
	}
	hs := make([]flow.Header, 1+g.n(12))
	for i := range hs {
		hs[i] = flow.Header{Name: g.str(20), Value: g.str(60)}
	}
	return hs
}

func (g gen) body() flow.Body {
	if g.n(4) == 0 {
		return flow.Body{}
	}
	return flow.Body{
		WireBytes:       g.r.Int64() - g.r.Int64(),
		DecodedBytes:    g.r.Int64N(1 << 40),
		ContentType:     g.str(20),
		ContentEncoding: g.str(8),
		Data:            g.bytes(2000),
	}
}

func (g gen) exchange() *flow.Exchange {
	e := &flow.Exchange{
		Start:       g.time(),
		End:         g.time(),
		Client:      g.addrPort(),
		Server:      g.addrPort(),
		Proto:       g.str(10),
		Method:      g.str(8),
		Host:        g.str(30),
		HostPort:    uint16(g.r.Uint32()),
		Target:      g.str(80),
		Path:        g.str(40),
		PathDecoded: g.str(40),
		Query:       g.str(40),
		Status:      int(int32(g.r.Uint32())),
		Reason:      g.str(20),
		Request:     g.body(),
		Response:    g.body(),
		Flags:       flow.Flags(g.r.Uint32()),
	}
	if g.n(2) == 0 {
		e.Outer = flow.Outer{
			VLAN: uint16(g.r.Uint32()), InnerVLAN: uint16(g.r.Uint32()),
			VNI: g.r.Uint32(), Session: g.r.Uint32(), Tunnel: flow.Tunnel(g.r.Uint32()),
		}
	}
	e.RequestHeaders = g.headers()
	e.ResponseHeaders = g.headers()
	switch g.n(3) {
	case 0:
		e.Informational = []int{}
	case 1:
		for i := g.n(4); i >= 0; i-- {
			e.Informational = append(e.Informational, int(int32(g.r.Uint32())))
		}
	}
	switch g.n(3) {
	case 0:
		e.Credentials = []flow.Credential{}
	case 1:
		for i := g.n(4); i >= 0; i-- {
			c := flow.Credential{
				Location: g.utf8(8), Name: g.str(16), Scheme: g.str(10),
				Fingerprint: g.utf8(32), User: g.str(12),
			}
			switch g.n(3) {
			case 0:
				c.JWT = &flow.JWTClaims{} // a JWT with none of the claims
			case 1:
				c.JWT = &flow.JWTClaims{Sub: g.str(20), Iss: g.str(20), Exp: g.r.Int64() - g.r.Int64(), Alg: g.str(6)}
				for k := g.n(4) - 1; k >= 0; k-- {
					c.JWT.Aud = append(c.JWT.Aud, g.str(10))
				}
				if g.n(4) == 0 {
					c.JWT.Aud = []string{}
				}
			}
			e.Credentials = append(e.Credentials, c)
		}
	}
	return e
}

func (g gen) loss() *flow.Loss {
	return &flow.Loss{
		Stage: flow.Stage(g.utf8(12)), Reason: g.utf8(16), Unit: g.utf8(8),
		Count: g.r.Uint64(), First: g.time(), Last: g.time(),
	}
}

func (g gen) meta() Meta {
	return Meta{SensorID: g.utf8(20), SensorVersion: g.utf8(12), SchemaVersion: SchemaVersion, Sequence: g.r.Uint64()}
}

// canonical returns what a lossless round trip gives back for e: times in
// UTC, empty slices nil. Everything else is identical.
func canonical(e *flow.Exchange) *flow.Exchange {
	c := *e
	c.Start, c.End = utc(e.Start), utc(e.End)
	c.RequestHeaders = nilEmpty(e.RequestHeaders)
	c.ResponseHeaders = nilEmpty(e.ResponseHeaders)
	c.Informational = nilEmpty(e.Informational)
	c.Request.Data = nilEmpty(e.Request.Data)
	c.Response.Data = nilEmpty(e.Response.Data)
	c.Credentials = nil
	for _, cr := range nilEmpty(e.Credentials) {
		if cr.JWT != nil {
			j := *cr.JWT
			j.Aud = nilEmpty(j.Aud)
			cr.JWT = &j
		}
		c.Credentials = append(c.Credentials, cr)
	}
	return &c
}

func canonicalLoss(l *flow.Loss) *flow.Loss {
	c := *l
	c.First, c.Last = utc(l.First), utc(l.Last)
	return &c
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func nilEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
