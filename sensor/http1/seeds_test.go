package http1

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWriteSeedCorpus regenerates the committed seed corpora under
// testdata/fuzz/ from the tables in the other tests and the real streams:
//
//	HTTP1_WRITE_SEEDS=1 go test -run TestWriteSeedCorpus ./sensor/http1/
//
// Hand-found regressions (files with hash names) are left alone.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("HTTP1_WRITE_SEEDS") == "" {
		t.Skip("set HTTP1_WRITE_SEEDS=1 to regenerate")
	}
	clean := regexp.MustCompile(`[^a-z0-9]+`)
	write := func(fuzzName, name string, values ...string) {
		dir := filepath.Join("testdata", "fuzz", fuzzName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n" + strings.Join(values, "\n") + "\n"
		name = "seed-" + strings.Trim(clean.ReplaceAllString(strings.ToLower(name), "-"), "-")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bs := func(s string) string { return fmt.Sprintf("[]byte(%q)", s) }
	var reqs, resps []struct{ name, data string }
	for _, c := range conversations {
		reqs = append(reqs, struct{ name, data string }{c.name, c.req})
		resps = append(resps, struct{ name, data string }{c.name, c.resp})
	}
	for _, in := range []struct{ name, data string }{
		{"cl-conflict", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc" + smuggled},
		{"cl-list", "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc" + smuggled},
		{"cl-uint64max", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n" + smuggled},
		{"te-cl", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n0\r\n\r\n" + smuggled},
		{"te-not-last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled},
		{"te-fold", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"te-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + smuggled},
		{"chunk-2pow64", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n" + smuggled},
		{"chunked-trailers", "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"},
		{"space-before-colon", "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc" + smuggled},
		{"http09", "GET /\r\nGET / HTTP/0.9\r\n" + smuggled},
		{"bare-lf", "GET /lf HTTP/1.1\nHost: h\n\n"},
		{"expect-cl0", "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"},
	} {
		reqs = append(reqs, in)
	}
	for _, in := range []struct{ name, data string }{
		{"no-reason", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{"cl-bad-until-close", "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcdefg"},
		{"te-gzip-until-close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08"},
		{"chunk-overrun", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"},
		{"status-odd", "HTTP/1.1 999 Whatever\tyou \x80like\r\nContent-Length: 0\r\n\r\nHTTP/1.1 20 short\r\n\r\n"},
		{"glued", "garbage}HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"},
		{"fold-empty", "HTTP/1.0 100 \n0000000000:00\n \n\r\n"},
	} {
		resps = append(resps, in)
	}
	for _, f := range []string{"get-gzip", "http-no-length", "261_variant-04-te_cl_desync", "261_variant-08-leading_zeros", "http-chunked__input", "websocket"} {
		if b, err := os.ReadFile("testdata/streams/" + f + ".client"); err == nil {
			reqs = append(reqs, struct{ name, data string }{"real-" + f, string(b)})
		}
		if b, err := os.ReadFile("testdata/streams/" + f + ".server"); err == nil {
			resps = append(resps, struct{ name, data string }{"real-" + f, string(b)})
		}
	}
	for i, r := range reqs {
		write("FuzzRequest", r.name, bs(r.data))
		write("FuzzParserSplit", "req-"+r.name, bs(r.data), fmt.Sprintf("uint64(%d)", i*7919), fmt.Sprintf("byte(%q)", byte(i&6)))
	}
	for i, r := range resps {
		write("FuzzResponse", r.name, bs(r.data), fmt.Sprintf("byte(%q)", byte(i)))
		write("FuzzParserSplit", "resp-"+r.name, bs(r.data), fmt.Sprintf("uint64(%d)", i*104729), fmt.Sprintf("byte(%q)", byte(1|i&6)))
	}
}
