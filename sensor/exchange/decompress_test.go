package exchange

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/tcp"
	"github.com/klauspost/compress/zstd"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflated(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func brotlied(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 5)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// zstded compresses as a stream (not single-segment), the way servers do.
func zstded(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(1<<20))
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// text is compressible but not trivial.
func text(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha", "beta", "gamma", "delta", `{"id":`, "},", "\n", "order", "customer", "42"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// respond runs one GET and a response with the given coding and body
// through a Factory and returns the record.
func respond(t *testing.T, mod func(*Config), coding string, body []byte) *flow.Exchange {
	t.Helper()
	h := newHarness(t, mod)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET /b HTTP/1.1\nHost: h\nAccept-Encoding: gzip, br, zstd\n\n")), ms(0))
	head := "HTTP/1.1 200 OK\r\nContent-Type: Application/JSON; charset=UTF-8\r\nContent-Length: " + itoa(len(body)) + "\r\n"
	if coding != "" {
		head += "Content-Encoding: " + coding + "\r\n"
	}
	s.Data(s2c, append([]byte(head+"\r\n"), body...), ms(1))
	s.End(tcp.EndFIN, ms(2))
	return h.one()
}

func TestDecodeBodies(t *testing.T) {
	plain := text(5000)
	cases := []struct {
		name, coding string
		body         []byte
		want         []byte // nil: the raw body
		flags, not   flow.Flags
	}{
		{"none", "", plain, plain, 0, flow.FlagDecodeError},
		{"identity", "identity", plain, plain, 0, flow.FlagDecodeError},
		{"gzip", "gzip", gzipped(plain), plain, 0, flow.FlagDecodeError},
		{"x-gzip", "x-gzip", gzipped(plain), plain, 0, flow.FlagDecodeError},
		{"GZIP upper case", "GZIP", gzipped(plain), plain, 0, flow.FlagDecodeError},
		{"deflate zlib", "deflate", zlibbed(plain), plain, 0, flow.FlagDecodeError},
		{"deflate raw", "deflate", rawDeflated(plain), plain, 0, flow.FlagDecodeError},
		{"br", "br", brotlied(plain), plain, 0, flow.FlagDecodeError},
		{"zstd", "zstd", zstded(plain), plain, 0, flow.FlagDecodeError},
		{"stacked gzip, br", "gzip, br", brotlied(gzipped(plain)), plain, 0, flow.FlagDecodeError},
		{"stacked zstd, deflate, gzip", "zstd, deflate, gzip", gzipped(zlibbed(zstded(plain))), plain, 0, flow.FlagDecodeError},
		{"stacked with identity", "identity, gzip", gzipped(plain), plain, 0, flow.FlagDecodeError},
		{"unknown", "compress", []byte("LZW..."), nil, flow.FlagDecodeError, 0},
		{"unknown in a stack", "gzip, snappy", gzipped(plain), nil, flow.FlagDecodeError, 0},
		{"too many layers", "gzip, gzip, gzip, gzip, gzip", gzipped(plain), nil, flow.FlagDecodeError, 0},
		{"corrupt gzip", "gzip", append(gzipped(plain)[:20], bytes.Repeat([]byte{0xAA}, 200)...), nil, flow.FlagDecodeError, 0},
		{"corrupt br", "br", bytes.Repeat([]byte{0xff}, 300), nil, flow.FlagDecodeError, 0},
		{"corrupt zstd", "zstd", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xAB}, 100)...), nil, flow.FlagDecodeError, 0},
		{"gzip bad checksum", "gzip", func() []byte { b := gzipped(plain); b[len(b)-6] ^= 1; return b }(), nil, flow.FlagDecodeError, 0},
		{"gzip, then garbage", "gzip", append(gzipped(plain), "trailing junk"...), nil, flow.FlagDecodeError, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := respond(t, nil, c.coding, c.body)
			want := c.want
			if want == nil {
				want = c.body
			}
			if !bytes.Equal(e.Response.Data, want) {
				t.Errorf("data: %d bytes %q..., want %d bytes", len(e.Response.Data), first(e.Response.Data), len(want))
			}
			wantFlags(t, e, c.flags, c.not|flow.FlagDecompressionBomb)
			if e.Response.WireBytes != int64(len(c.body)) {
				t.Errorf("wire %d, want %d", e.Response.WireBytes, len(c.body))
			}
			wantDecoded := int64(len(plain))
			if c.flags&flow.FlagDecodeError != 0 {
				wantDecoded = 0
			}
			if e.Response.DecodedBytes != wantDecoded {
				t.Errorf("decoded %d, want %d", e.Response.DecodedBytes, wantDecoded)
			}
			if e.Response.ContentType != "application/json" || e.Response.ContentEncoding != c.coding {
				t.Errorf("type %q encoding %q", e.Response.ContentType, e.Response.ContentEncoding)
			}
		})
	}
}

func first(b []byte) []byte { return b[:min(len(b), 40)] }

func TestDecodeOff(t *testing.T) {
	plain := text(1000)
	body := gzipped(plain)
	e := respond(t, func(c *Config) { c.DecodeBodies = false }, "gzip", body)
	if !bytes.Equal(e.Response.Data, body) || e.Response.DecodedBytes != 0 || e.Flags&flow.FlagDecodeError != 0 {
		t.Fatalf("data %d decoded %d flags %v", len(e.Response.Data), e.Response.DecodedBytes, e.Flags)
	}
}

func TestRepeatedContentEncoding(t *testing.T) {
	plain := text(300)
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET / HTTP/1.1\nHost: h\n\n")), ms(0))
	body := brotlied(gzipped(plain))
	s.Data(s2c, append([]byte(crlf("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Encoding:  br \nContent-Length: "+itoa(len(body))+"\n\n")), body...), ms(1))
	e := h.one()
	if !bytes.Equal(e.Response.Data, plain) || e.Response.ContentEncoding != "gzip, br" {
		t.Fatalf("encoding %q data %q", e.Response.ContentEncoding, first(e.Response.Data))
	}
}

func TestDecompressionBombs(t *testing.T) {
	zeros := make([]byte, 10<<20)
	gzBomb := gzipped(zeros)
	zstdBomb := zstded(zeros)
	brBomb := brotlied(zeros)
	nested := gzipped(gzipped(zeros)) // ~10 MB -> ~10 KB -> ~100 B
	if len(gzBomb) > 64<<10 || len(zstdBomb) > 64<<10 || len(brBomb) > 64<<10 {
		t.Fatalf("bombs too large for one body: %d %d %d", len(gzBomb), len(zstdBomb), len(brBomb))
	}
	cases := []struct {
		name, coding string
		body         []byte
	}{
		{"gzip", "gzip", gzBomb},
		{"zstd", "zstd", zstdBomb},
		{"br", "br", brBomb},
		{"nested gzip", "gzip, gzip", nested},
		{"stacked br over gzip", "gzip, br", brotlied(gzBomb)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := respond(t, nil, c.coding, c.body)
			wantFlags(t, e, flow.FlagDecompressionBomb|flow.FlagTruncated, flow.FlagDecodeError)
			if e.Response.DecodedBytes != 1<<20 {
				t.Errorf("decoded %d, want the 1 MiB cap", e.Response.DecodedBytes)
			}
			if len(e.Response.Data) != 64<<10 || !bytes.Equal(e.Response.Data, zeros[:64<<10]) {
				t.Errorf("data %d bytes", len(e.Response.Data))
			}
		})
	}
	t.Run("intermediate layer cap", func(t *testing.T) {
		// The outer layer decodes to more than the cap: the inner layer
		// is fed at most MaxDecodedBytes of it.
		r := rand.New(rand.NewPCG(3, 4))
		noise := make([]byte, 20000)
		for i := range noise {
			noise[i] = byte(r.Uint32())
		}
		body := gzipped(gzipped(noise)) // intermediate ≈ 20 KB, incompressible
		e := respond(t, func(c *Config) { c.MaxDecodedBytes = 8000 }, "gzip, gzip", body)
		wantFlags(t, e, flow.FlagDecompressionBomb, flow.FlagDecodeError)
		if e.Response.DecodedBytes > 8000 || !bytes.Equal(e.Response.Data, noise[:len(e.Response.Data)]) {
			t.Errorf("decoded %d data %d", e.Response.DecodedBytes, len(e.Response.Data))
		}
	})
	t.Run("counted past the kept prefix, under the cap", func(t *testing.T) {
		plain := text(200 << 10)
		e := respond(t, nil, "gzip", gzipped(plain))
		wantFlags(t, e, flow.FlagTruncated, flow.FlagDecompressionBomb|flow.FlagDecodeError)
		if e.Response.DecodedBytes != int64(len(plain)) || !bytes.Equal(e.Response.Data, plain[:64<<10]) {
			t.Errorf("decoded %d data %d", e.Response.DecodedBytes, len(e.Response.Data))
		}
	})
}

// TestTruncatedBody: a body cut by the capture cap is decoded as far as it
// goes, without decode_error.
func TestTruncatedBody(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	plain := make([]byte, 40000)
	for i := range plain {
		plain[i] = "abcdefghijklmnopqrstuvwxyz0123456789 \n"[r.IntN(38)]
	}
	for _, c := range []struct {
		coding string
		enc    func([]byte) []byte
	}{
		{"gzip", gzipped}, {"deflate", zlibbed}, {"deflate", rawDeflated}, {"br", brotlied},
		// zstd decodes whole blocks (up to 128 KiB): small blocks so that a
		// prefix holds complete ones.
		{"zstd", func(b []byte) []byte {
			var buf bytes.Buffer
			w, _ := zstd.NewWriter(&buf, zstd.WithWindowSize(2048))
			w.Write(b)
			w.Close()
			return buf.Bytes()
		}},
		{"gzip, br", func(b []byte) []byte { return brotlied(gzipped(b)) }},
	} {
		body := c.enc(plain)
		e := respond(t, func(cfg *Config) { cfg.Limits.MaxBodyBytes = 4000 }, c.coding, body)
		if len(body) <= 4000 {
			t.Fatalf("%s: body %d too small for the test", c.coding, len(body))
		}
		wantFlags(t, e, flow.FlagTruncated, flow.FlagDecodeError|flow.FlagDecompressionBomb)
		if e.Response.WireBytes != int64(len(body)) || len(e.Response.Data) == 0 || !bytes.Equal(e.Response.Data, plain[:len(e.Response.Data)]) {
			t.Errorf("%s: wire %d data %d decoded %d", c.coding, e.Response.WireBytes, len(e.Response.Data), e.Response.DecodedBytes)
		}
		if e.Response.DecodedBytes < int64(len(e.Response.Data)) {
			t.Errorf("%s: decoded %d < data %d", c.coding, e.Response.DecodedBytes, len(e.Response.Data))
		}
	}
	// An incomplete body (connection closed early) too.
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, []byte(crlf("GET / HTTP/1.1\nHost: h\n\n")), ms(0))
	body := gzipped(plain)
	s.Data(s2c, append([]byte(crlf("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: "+itoa(len(body))+"\n\n")), body[:len(body)/2]...), ms(1))
	s.End(tcp.EndRST, ms(2))
	e := h.one()
	wantFlags(t, e, flow.FlagIncomplete, flow.FlagDecodeError)
	if len(e.Response.Data) == 0 || !bytes.Equal(e.Response.Data, plain[:len(e.Response.Data)]) {
		t.Errorf("incomplete: data %d", len(e.Response.Data))
	}
}

// TestDecodeRequestBody: request bodies are decoded too.
func TestDecodeRequestBody(t *testing.T) {
	plain := []byte(`{"query":"` + strings.Repeat("x", 3000) + `"}`)
	body := gzipped(plain)
	h := newHarness(t, nil)
	s := h.f.New(connInfo(false))
	s.Data(c2s, append([]byte(crlf("POST /q HTTP/1.1\nHost: h\nContent-Type: application/json\nContent-Encoding: gzip\nContent-Length: "+itoa(len(body))+"\n\n")), body...), ms(0))
	s.Data(s2c, []byte(crlf("HTTP/1.1 204 No Content\n\n")), ms(1))
	e := h.one()
	if !bytes.Equal(e.Request.Data, plain) || e.Request.DecodedBytes != int64(len(plain)) || e.Request.WireBytes != int64(len(body)) {
		t.Fatalf("request body: %d/%d/%d", len(e.Request.Data), e.Request.DecodedBytes, e.Request.WireBytes)
	}
}

// TestDecoderReuse: pooled decompressors give the same results run after
// run, whatever ran before (a failed stream must not poison the next).
func TestDecoderReuse(t *testing.T) {
	var d decoder
	plain := text(3000)
	inputs := []struct {
		c    []coding
		body []byte
		ok   bool
	}{
		{[]coding{codingGzip}, gzipped(plain), true},
		{[]coding{codingBrotli}, []byte("\xff\xff\xff garbage"), false},
		{[]coding{codingBrotli}, brotlied(plain), true},
		{[]coding{codingZstd}, []byte{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6, 7, 8}, false},
		{[]coding{codingZstd}, zstded(plain), true},
		{[]coding{codingDeflate}, []byte{0x78, 0x9c, 0xff, 0xff}, false},
		{[]coding{codingDeflate}, zlibbed(plain), true},
		{[]coding{codingDeflate}, rawDeflated(plain), true},
		{[]coding{codingGzip, codingGzip}, gzipped(gzipped(plain)), true},
	}
	for round := 0; round < 3; round++ {
		for i, in := range inputs {
			out, res := d.decode(nil, in.body, in.c, 1<<20, 1<<20, false)
			if in.ok && (res.err || !bytes.Equal(out, plain) || res.decoded != int64(len(plain))) {
				t.Fatalf("round %d input %d: err=%v %d bytes", round, i, res.err, len(out))
			}
			if !in.ok && !res.err {
				t.Fatalf("round %d input %d: corrupt input decoded", round, i)
			}
		}
	}
}

func BenchmarkGunzip64K(b *testing.B) {
	plain := text(64 << 10)
	body := gzipped(plain)
	var d decoder
	dst := make([]byte, 0, 128<<10)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		var res decodeResult
		dst, res = d.decode(dst[:0], body, []coding{codingGzip}, 64<<10, 1<<20, false)
		if res.err || len(dst) != len(plain) {
			b.Fatal("decode failed")
		}
	}
}
