package http1

import (
	"strings"
	"testing"
)

// A typical API request head (what a browser-less client sends).
var benchRequest = []byte("GET /api/v2/accounts/8f14e45f/transactions?limit=50&cursor=eyJpZCI6MTIzfQ HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: okhttp/4.12.0\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip\r\n" +
	"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl\r\n" +
	"X-Request-Id: 5b7e3f0a-9c1d-4e2b-8f6a-1d2c3b4a5e6f\r\n" +
	"Connection: keep-alive\r\n\r\n")

func jsonBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":` + itoa(1000+i) + `,"name":"item-` + itoa(i) + `","ok":true}`)
	}
	b.WriteString(`],"next":null}`)
	return b.String()
}

var benchResponse = func() []byte {
	body := jsonBody(1024)
	return []byte("HTTP/1.1 200 OK\r\nDate: Tue, 14 May 2024 10:00:00 GMT\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Content-Length: " + itoa(len(body)) + "\r\nCache-Control: no-store\r\nX-Request-Id: 5b7e3f0a-9c1d-4e2b-8f6a-1d2c3b4a5e6f\r\n\r\n" + body)
}()

var benchChunked = func() []byte {
	body := jsonBody(4096)
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		n := min(len(body), 512)
		b.WriteString(strings.ToLower(hex(n)) + "\r\n" + body[:n] + "\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return []byte(b.String())
}()

func hex(n int) string {
	const digits = "0123456789abcdef"
	s := ""
	for n > 0 {
		s = string(digits[n%16]) + s
		n /= 16
	}
	return s
}

func benchParse(b *testing.B, request bool, pieces ...[]byte) {
	h := &countHandler{method: []byte("GET")}
	p := NewParser(request, Limits{}, h)
	total := 0
	for _, x := range pieces {
		total += len(x)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, x := range pieces {
			p.Feed(x, 1)
		}
	}
	b.StopTimer()
	if h.n != b.N {
		b.Fatalf("parsed %d messages in %d iterations", h.n, b.N)
	}
}

func BenchmarkParseRequest(b *testing.B) { benchParse(b, true, benchRequest) }

func BenchmarkParseResponseJSON1K(b *testing.B) { benchParse(b, false, benchResponse) }

func BenchmarkParseChunked(b *testing.B) { benchParse(b, false, benchChunked) }

// Headers split across segments at awkward places: mid-name, mid-value,
// between CR and LF.
func BenchmarkParseSplitHeaders(b *testing.B) {
	r := benchRequest
	c1 := strings.Index(string(r), "User-Ag") + 4
	c2 := strings.Index(string(r), "Bearer ") + 20
	c3 := strings.Index(string(r), "keep-alive\r") + 11
	benchParse(b, true, r[:c1], r[c1:c2], r[c2:c3], r[c3:])
}
