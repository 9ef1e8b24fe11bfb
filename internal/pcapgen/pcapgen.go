// Package pcapgen writes deterministic synthetic captures of keep-alive JSON
// API traffic: the bundled sample, the benchmarks' input and the memory
// tests' floods. The mix follows docs/performance.md (users, items, orders,
// 404s); every exchange is one request segment and one response segment
// (split at MSS when larger), as a keep-alive client and server produce.
package pcapgen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"time"
)

// Options shape the capture. Zero values take the defaults noted.
type Options struct {
	Conns     int       // concurrent keep-alive connections; default 50
	Exchanges int       // total request/response pairs; default 1000
	Seed      int64     // PRNG seed; default 1
	Start     time.Time // first packet time; default 2024-05-01T12:00:00Z
	// Gap is the capture time between exchanges; default 50µs.
	Gap time.Duration
	// MSS splits larger payloads into several segments; default 1448.
	MSS int
	// Host is the Host header; default "api.example.com".
	Host string
	// Hosts > 1 spreads the exchanges over that many hosts,
	// svc0.example.com, svc1.example.com, ... (exchange i goes to i mod
	// Hosts), instead of Host: Kafka keys by host, so this spreads a
	// replay over partitions.
	Hosts int
	// GzipShare is the share of item responses sent gzip-encoded (0..1).
	GzipShare float64
	// SYNFlood adds this many half-open connections (a SYN each, never
	// answered) interleaved with the traffic.
	SYNFlood int
	// Close sends FIN/ACK on every connection at the end; default true via !NoClose.
	NoClose bool
	// Build, when set, writes exchange i's request and response (whole
	// HTTP messages) instead of the built-in mix; host is the Host the
	// options give it.
	Build func(i int, host string) (req, resp []byte)
}

// Result tells what was written.
type Result struct {
	Packets   int
	Exchanges int
	Bytes     int64
}

type conn struct {
	cport      uint16
	cseq, sseq uint32
	cip, sip   [4]byte
}

// Write writes a classic pcap (Ethernet, IPv4, TCP, microsecond timestamps).
func Write(w io.Writer, o Options) (Result, error) {
	if o.Conns <= 0 {
		o.Conns = 50
	}
	if o.Exchanges <= 0 {
		o.Exchanges = 1000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	}
	if o.Gap == 0 {
		o.Gap = 50 * time.Microsecond
	}
	if o.MSS == 0 {
		o.MSS = 1448
	}
	if o.Host == "" {
		o.Host = "api.example.com"
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{w: bw, ts: o.Start, gap: o.Gap, mss: o.MSS, rnd: rand.New(rand.NewSource(o.Seed))}
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	bw.Write(hdr[:])
	g.res.Bytes += 24

	conns := make([]*conn, o.Conns)
	for i := range conns {
		c := &conn{cport: uint16(40000 + i), cseq: g.rnd.Uint32(), sseq: g.rnd.Uint32(),
			cip: [4]byte{10, 1, byte(i >> 8), byte(i)}, sip: [4]byte{10, 0, 0, 80}}
		conns[i] = c
		g.seg(c, true, 0x02, nil) // SYN
		c.cseq++
		g.seg(c, false, 0x12, nil) // SYN-ACK
		c.sseq++
		g.seg(c, true, 0x10, nil) // ACK
	}
	floodEvery := 0
	if o.SYNFlood > 0 {
		floodEvery = o.Exchanges/o.SYNFlood + 1
	}
	flooded := 0
	for i := 0; i < o.Exchanges; i++ {
		c := conns[i%len(conns)]
		req, resp := g.exchange(i, o)
		g.seg(c, true, 0x18, req)
		g.seg(c, false, 0x18, resp)
		g.res.Exchanges++
		for floodEvery > 0 && i%floodEvery == 0 && flooded < o.SYNFlood {
			n := flooded
			fc := &conn{cport: uint16(1024 + n%60000), cseq: g.rnd.Uint32(),
				cip: [4]byte{172, 16 + byte(n>>24&0x0f), byte(n >> 16), byte(n >> 8)}, sip: [4]byte{10, 0, 0, 80}}
			fc.cip[3] ^= byte(n)
			g.seg(fc, true, 0x02, nil)
			flooded++
		}
	}
	if !o.NoClose {
		for _, c := range conns {
			g.seg(c, true, 0x11, nil)
			c.cseq++
			g.seg(c, false, 0x11, nil)
			c.sseq++
			g.seg(c, true, 0x10, nil)
		}
	}
	if g.err != nil {
		return g.res, g.err
	}
	return g.res, bw.Flush()
}

type gen struct {
	w   *bufio.Writer
	ts  time.Time
	gap time.Duration
	mss int
	rnd *rand.Rand
	res Result
	err error
	buf []byte
}

func (g *gen) exchange(i int, o Options) (req, resp []byte) {
	if o.Hosts > 1 {
		o.Host = fmt.Sprintf("svc%d.example.com", i%o.Hosts)
	}
	if o.Build != nil {
		return o.Build(i, o.Host)
	}
	r := g.rnd.Intn(10)
	var body []byte
	status, reason := 200, "OK"
	var extra string
	switch {
	case r < 4:
		id := g.rnd.Intn(100000)
		req = fmt.Appendf(nil, "GET /api/v1/users/%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: apitap-gen/1\r\nAccept: application/json\r\nAuthorization: Bearer tok-%d\r\n\r\n", id, o.Host, i%97)
		body = fmt.Appendf(nil, `{"id":%d,"name":"User %d","email":"user%d@example.com","created":"2024-01-%02dT10:00:00Z","roles":["reader"],"active":true,"address":{"city":"Springfield","zip":"%05d"},"plan":"pro","tags":["a","b","c"],"score":%d,"locale":"en-US","timezone":"Europe/Berlin","avatar":"https://cdn.example.com/avatars/%d.png","last_login":"2024-04-%02dT08:15:00Z"}`, id, id, id, id%28+1, id%99999, id%1000, id, id%28+1)
	case r < 7:
		page := g.rnd.Intn(50)
		req = fmt.Appendf(nil, "GET /api/v1/items?page=%d&limit=10 HTTP/1.1\r\nHost: %s\r\nUser-Agent: apitap-gen/1\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\n\r\n", page, o.Host)
		n := 5 + g.rnd.Intn(21) // 0.4–1.8 KB pages, as in docs/performance.md
		var b bytes.Buffer
		b.WriteString(`{"page":`)
		fmt.Fprint(&b, page)
		b.WriteString(`,"items":[`)
		for k := 0; k < n; k++ {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"sku":"SKU-%05d-B","title":"Item %d","price":%d.%02d,"stock":%d}`, page*100+k, k, k*3+1, k, k*7)
		}
		b.WriteString(`]}`)
		body = b.Bytes()
		if o.GzipShare > 0 && g.rnd.Float64() < o.GzipShare {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(body)
			zw.Close()
			body = z.Bytes()
			extra = "Content-Encoding: gzip\r\n"
		}
	case r < 9:
		payload := fmt.Appendf(nil, `{"item":"SKU-%05d-B","qty":%d,"note":"%s"}`, g.rnd.Intn(99999), 1+g.rnd.Intn(5), bytes.Repeat([]byte("x"), g.rnd.Intn(200)))
		req = fmt.Appendf(nil, "POST /api/v1/orders HTTP/1.1\r\nHost: %s\r\nUser-Agent: apitap-gen/1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", o.Host, len(payload), payload)
		status, reason = 201, "Created"
		body = payload
	default:
		req = fmt.Appendf(nil, "GET /api/v1/missing HTTP/1.1\r\nHost: %s\r\nUser-Agent: apitap-gen/1\r\n\r\n", o.Host)
		status, reason = 404, "Not Found"
		body = []byte(`{"error":"not found"}`)
	}
	resp = fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\nDate: Wed, 01 May 2024 12:00:00 GMT\r\n\r\n%s", status, reason, extra, len(body), body)
	return req, resp
}

// seg writes payload as one or more segments from client (fromClient) or server.
func (g *gen) seg(c *conn, fromClient bool, flags byte, payload []byte) {
	for {
		n := len(payload)
		if n > g.mss {
			n = g.mss
		}
		g.packet(c, fromClient, flags, payload[:n])
		if fromClient {
			c.cseq += uint32(n)
		} else {
			c.sseq += uint32(n)
		}
		payload = payload[n:]
		if len(payload) == 0 {
			return
		}
	}
}

func (g *gen) packet(c *conn, fromClient bool, flags byte, payload []byte) {
	g.ts = g.ts.Add(g.gap)
	frameLen := 14 + 20 + 20 + len(payload)
	b := g.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(g.ts.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(g.ts.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint32(b, uint32(frameLen))
	b = binary.LittleEndian.AppendUint32(b, uint32(frameLen))
	// Ethernet
	b = append(b, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00)
	src, dst := c.cip, c.sip
	sport, dport := c.cport, uint16(80)
	seq, ack := c.cseq, c.sseq
	if !fromClient {
		src, dst, sport, dport, seq, ack = dst, src, dport, sport, c.sseq, c.cseq
	}
	ip := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(20+20+len(payload)))
	b = append(b, 0, 0, 0x40, 0, 64, 6, 0, 0)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	var sum uint32
	for k := ip; k < ip+20; k += 2 {
		sum += uint32(b[k])<<8 | uint32(b[k+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[ip+10:], ^uint16(sum))
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	if flags&0x10 == 0 {
		ack = 0
	}
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	b = append(b, payload...)
	g.buf = b
	if _, err := g.w.Write(b); err != nil && g.err == nil {
		g.err = err
	}
	g.res.Packets++
	g.res.Bytes += int64(len(b))
}
