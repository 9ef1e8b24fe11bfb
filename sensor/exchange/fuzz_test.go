package exchange

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/http1"
	"github.com/apitap/apitap/sensor/tcp"
	"github.com/klauspost/compress/zstd"
)

var stacks = [][]coding{
	{codingGzip}, {codingDeflate}, {codingBrotli}, {codingZstd},
	{codingGzip, codingBrotli}, {codingZstd, codingDeflate}, {codingGzip, codingGzip, codingGzip, codingGzip},
}

// FuzzDecompress: any bytes under any coding stack decode with bounded
// output and without panicking; valid streams round-trip.
func FuzzDecompress(f *testing.F) {
	f.Add([]byte("hello, world"), uint8(0))
	f.Add(gzipped([]byte("hello")), uint8(0))
	f.Add(zlibbed([]byte("hello")), uint8(1))
	f.Add(brotlied([]byte("hello")), uint8(2))
	f.Add(zstded(bytes.Repeat([]byte("ab"), 100)), uint8(3))
	f.Add(gzipped(make([]byte, 100000)), uint8(0))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint8(6))
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	var d decoder
	const keep, max = 4096, 64 << 10
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		for i, st := range stacks {
			for _, truncated := range []bool{false, true} {
				out, res := d.decode(nil, data, st, keep, max, truncated)
				if len(out) > keep || res.decoded > max || res.decoded < 0 {
					t.Fatalf("stack %d: out %d decoded %d: caps not enforced", i, len(out), res.decoded)
				}
				if !res.err && res.decoded < int64(len(out)) {
					t.Fatalf("stack %d: decoded %d < kept %d", i, res.decoded, len(out))
				}
			}
		}
		// Round trip through one coding chosen by mode.
		if len(data) > max {
			return
		}
		var enc1 []byte
		c := stacks[int(mode)%4]
		switch c[0] {
		case codingGzip:
			enc1 = gzipped(data)
		case codingDeflate:
			if mode&0x10 != 0 {
				enc1 = rawDeflated(data)
			} else {
				enc1 = zlibbed(data)
			}
		case codingBrotli:
			enc1 = brotlied(data)
		case codingZstd:
			enc1 = enc.EncodeAll(data, nil)
		}
		out, res := d.decode(nil, enc1, c, max, max, false)
		if res.err || res.flags != 0 || !bytes.Equal(out, data) {
			t.Fatalf("round trip %v: err=%v flags=%v %d bytes, want %d", c, res.err, res.flags, len(out), len(data))
		}
	})
}

// runMessages feeds parsed messages straight to a connection's handlers
// (what the parser would deliver) and returns the records.
func runMessages(t testing.TB, f *Factory, out *[]*flow.Exchange, req, resp *http1.Message) []*flow.Exchange {
	s := f.New(connInfo(false))
	c := s.(*conn)
	c.hs[roleReq].Message(req)
	if resp != nil {
		c.hs[roleResp].Message(resp)
	}
	s.End(tcp.EndFIN, 10)
	got := *out
	*out = nil
	return got
}

func fields(kv ...string) []http1.Field {
	var fs []http1.Field
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, http1.Field{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return fs
}

func isSecretChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// FuzzRedact: arbitrary header values and targets never panic and give
// valid JSON; a secret placed in any credential position never appears in
// the output, whatever noise surrounds it.
func FuzzRedact(f *testing.F) {
	f.Add("noise", "s3cr3t-TOKEN-value")
	f.Add("Bearer x; a=b, c", "abcdefghijklmnop")
	f.Add("\x00\xff\"\\;=,@:/?#", "Zm9vYmFyYmF6cXV4")
	f.Add(`username="u", realm="r"`, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln")
	f.Add("a=b; c", "0123456789012")
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("fuzz-key-0123456789")
	var out []*flow.Exchange
	fac := NewFactory(cfg, func(e *flow.Exchange) { out = append(out, e) })

	f.Fuzz(func(t *testing.T, noise, secret string) {
		// 1. Arbitrary values in every credential position.
		req := &http1.Message{
			Request: true, Method: []byte("GET"), Proto: []byte("HTTP/1.1"), Target: []byte(noise),
			Headers: fields("Authorization", noise, "Proxy-Authorization", "Basic "+noise, "Cookie", noise,
				"X-Api-Key", noise, "Authorization", "Bearer "+noise, "Authorization", "Digest "+noise, "Host", noise),
			ContentLength: -1, Start: 1, End: 2,
		}
		resp := &http1.Message{Proto: []byte("HTTP/1.1"), Status: 200, Headers: fields("Set-Cookie", noise, "Content-Encoding", noise),
			Body: []byte(noise), BodyWireBytes: int64(len(noise)), ContentLength: -1, Start: 3, End: 4}
		for _, e := range runMessages(t, fac, &out, req, resp) {
			var m map[string]any
			if err := json.Unmarshal(flow.AppendJSON(nil, e), &m); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
		}

		// 2. A secret in each credential position.
		if len(secret) < 12 || len(secret) > 64 || strings.Contains(noise, secret) {
			return
		}
		for i := 0; i < len(secret); i++ {
			if !isSecretChar(secret[i]) {
				return
			}
		}
		// Control characters are dropped from the noise before it is placed,
		// so checks on what the record can contain look at the cleaned text.
		cleanNoise := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, noise)
		place := func(s string) ([]*flow.Exchange, bool) {
			basicTok := base64.StdEncoding.EncodeToString([]byte("u:" + s))
			req := &http1.Message{
				Request: true, Method: []byte("GET"), Proto: []byte("HTTP/1.1"),
				Target: []byte("http://user:" + s + "@h.example/p?" + cleanNoise + "&api_key=" + s + "&" + cleanNoise),
				Headers: fields(
					"Authorization", "Bearer "+s+cleanNoise,
					"Authorization", cleanNoise+" "+s,
					"Proxy-Authorization", "Basic "+basicTok,
					"Authorization", `Digest username="u", response="`+s+`", `+cleanNoise,
					"Cookie", cleanNoise+"; sess="+s+"; "+cleanNoise,
					"X-Api-Key", cleanNoise+s,
					"x-vault-token", s),
				ContentLength: -1, Start: 1, End: 2,
			}
			resp := &http1.Message{Proto: []byte("HTTP/1.1"), Status: 200,
				Headers: fields("Set-Cookie", "sid="+s+"; "+cleanNoise), ContentLength: -1, Start: 3, End: 4}
			es := runMessages(t, fac, &out, req, resp)
			return es, len(es) == 1
		}
		base, ok := place(strings.Repeat("\x01", len(secret)))
		if !ok {
			t.Fatal("no record")
		}
		if strings.Contains(string(flow.AppendJSON(nil, base[0])), secret) {
			return // the "secret" is part of the fixed record text
		}
		es, ok := place(secret)
		if !ok {
			t.Fatal("no record")
		}
		js := flow.AppendJSON(nil, es[0])
		if strings.Contains(strings.ToLower(cleanNoise), "username") {
			// Noise ending in a Digest "username=" turns the secret placed
			// after it into that user name, which is kept like a basic-auth
			// user (not a secret; credential stuffing needs it). Only that
			// field may hold it.
			js = bytes.ReplaceAll(js, []byte(`"user":"`+secret+`"`), nil)
		}
		if bytes.Contains(js, []byte(secret)) {
			t.Fatalf("secret %q leaked:\n%s", secret, js)
		}
	})
}

// FuzzStream drives a connection with arbitrary bytes, splits, gaps and
// clock jumps in both directions: no panic, bounded records, valid JSON,
// and nothing left behind after End.
func FuzzStream(f *testing.F) {
	f.Add([]byte(crlf("GET /a HTTP/1.1\nHost: h\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok")), []byte{0x50, 0x91, 0xff}, false)
	f.Add([]byte(crlf("POST /u HTTP/1.1\nExpect: 100-continue\nContent-Length: 3\n\nHTTP/1.1 100 Continue\n\nabcHTTP/1.1 101 Switching\n\n")), []byte{0x40, 0x61, 0x0c, 0x30}, true)
	f.Add(append([]byte(crlf("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: 25\n\n")), gzipped([]byte("x"))...), []byte{0x21, 0x02, 0x41}, true)
	f.Add([]byte("\x16\x03\x01\x00\xa5\x01\x00GET / HTTP/1.1\r\n\r\n"), []byte{0x10, 0x13, 0x27}, false)
	// HTTP/2: the client's preface and request, then the server's answer.
	cl, sv := newH2Side(true), newH2Side(false)
	cl.fr.WriteSettings()
	cl.headers(1, false, ":method", "POST", ":path", "/p", ":authority", "a", ":scheme", "http", "authorization", "Bearer x")
	cl.fr.WriteData(1, true, []byte("{}"))
	sv.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 100})
	sv.headers(1, false, ":status", "200", "content-encoding", "gzip")
	sv.fr.WriteData(1, true, gzipped([]byte("ok")))
	clientB, serverB := cl.take(), sv.take()
	var h2ops []byte
	for dir, b := range [][]byte{clientB, serverB} {
		for n := len(b); n > 0; n -= 64 {
			h2ops = append(h2ops, byte(min(n, 64)-1)<<2|byte(dir))
		}
	}
	h2data := append(clientB, serverB...)
	f.Add(h2data, h2ops, false)
	// An h2c upgrade: the 101 and the server's first frames in one segment.
	upReq := []byte(crlf("GET /u HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: h2c\n\n"))
	sv.fr.WriteSettings()
	sv.headers(1, true, ":status", "204")
	upResp := append([]byte(crlf("HTTP/1.1 101 Switching Protocols\nUpgrade: h2c\n\n")), sv.take()...)
	var upOps []byte
	for dir, b := range [][]byte{upReq, upResp} {
		for n := len(b); n > 0; n -= 64 {
			upOps = append(upOps, byte(min(n, 64)-1)<<2|byte(dir))
		}
	}
	f.Add(append(upReq, upResp...), upOps, false)
	cfg := DefaultConfig()
	cfg.HMACKey = []byte("fuzz-key-0123456789")
	cfg.Limits.MaxBodyBytes = 256
	cfg.MaxDecodedBytes = 4096
	cfg.MaxPending = 4
	cfg.ResponseTimeout = time.Second
	var out []*flow.Exchange
	fac := NewFactory(cfg, func(e *flow.Exchange) { out = append(out, e) })
	f.Fuzz(func(t *testing.T, data, ops []byte, midstream bool) {
		out = out[:0]
		s := fac.New(connInfo(midstream))
		ts := ms(0)
		for _, op := range ops {
			n := int(op >> 2)
			ts += int64(n) * int64(time.Millisecond) * 50
			switch op & 3 {
			case 0, 1:
				n = min(n+1, len(data))
				s.Data(tcp.Dir(op&1), data[:n], ts)
				data = data[n:]
			case 2:
				s.Gap(tcp.Dir(n&1), n+1, ts)
			case 3:
				fac.Advance(ts)
			}
		}
		if len(data) > 0 {
			s.Data(c2s, data, ts)
		}
		s.End(tcp.EndFIN, ts+1)
		for _, e := range out {
			// The decoded-size cap bounds decoding; a body without a
			// content coding has DecodedBytes = WireBytes, which a long
			// close-delimited body (or gaps in one) makes as large as it is.
			decodedOver := func(b *flow.Body) bool { return b.ContentEncoding != "" && b.DecodedBytes > 4096 }
			if len(e.Request.Data) > 256 || len(e.Response.Data) > 256 || decodedOver(&e.Response) || decodedOver(&e.Request) {
				t.Fatalf("caps not enforced: %s", dump([]*flow.Exchange{e}))
			}
			if !json.Valid(flow.AppendJSON(nil, e)) {
				t.Fatal("invalid JSON")
			}
		}
		if fac.tqHead != nil || fac.pendingBytes != 0 || fac.h2Bytes != 0 {
			t.Fatalf("state left after End: queue %v, pending bytes %d, HTTP/2 bytes %d", fac.tqHead != nil, fac.pendingBytes, fac.h2Bytes)
		}
	})
}
