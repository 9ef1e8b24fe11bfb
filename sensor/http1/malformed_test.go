package http1

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
)

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n"

func TestMalformedFraming(t *testing.T) {
	const M = flow.FlagMalformed
	tests := []struct {
		name    string
		request bool
		in      string
		methods []string
		want    []string // summaries
		flags   []flow.Flags
		check   func(t *testing.T, r result)
	}{
		{name: "cl leading zeros", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: 0005\r\n\r\nhello" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{0, 0}},
		{name: "cl identical repeated", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 003\r\nContent-Length: 3, 3,\r\n\r\nabc" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{0, 0}},
		{name: "cl conflicting request: no body", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0},
			check: func(t *testing.T, r result) {
				if r.msgs[0].ContentLength != -1 || r.msgs[0].KeepAlive {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "cl conflicting response: until close",
			in:   "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcdefg",
			want: []string{"200 7"}, flags: []flow.Flags{M | flow.FlagCloseDelimited}},
		{name: "cl negative", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "cl empty", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "cl uint64 max", request: true,
			in:   "POST / HTTP/1.1\r\nHost: target\r\nContent-Length: 18446744073709551615\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "cl 2^64", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "cl 2^63 response: until close",
			in:   "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nxyz",
			want: []string{"200 3"}, flags: []flow.Flags{M | flow.FlagCloseDelimited}},
		{name: "te+cl: chunked wins", request: true,
			in:   "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n0\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0},
			check: func(t *testing.T, r result) {
				if !r.msgs[0].Chunked || r.msgs[0].ContentLength != -1 {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "te chunked not last (request)", request: true,
			in:   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Chunked || r.msgs[0].KeepAlive || r.stats.Resyncs != 1 {
					t.Errorf("%v %+v", r.msgs[0], r.stats)
				}
			}},
		{name: "te gzip only (response): until close",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08",
			want: []string{"200 3"}, flags: []flow.Flags{flow.FlagCloseDelimited}},
		{name: "te multi-valued across lines", request: true,
			in:   "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: CHUNKED\r\n\r\n2\r\nab\r\n0\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{0, 0}},
		{name: "te chunked twice", request: true,
			in:   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "te obs-fold", request: true,
			in:   "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0},
			check: func(t *testing.T, r result) {
				if !r.msgs[0].Chunked || r.msgs[0].Headers[1] != "Transfer-Encoding: chunked" {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "obs-fold joins with one space", request: true,
			in:   "GET / HTTP/1.1\r\nX-Long: part one  \r\n \t part two\r\n\tpart three\r\nHost: h\r\n\r\n",
			want: []string{"GET /"}, flags: []flow.Flags{M},
			check: func(t *testing.T, r result) {
				if strings.Join(r.msgs[0].Headers, "|") != "X-Long: part one part two part three|Host: h" {
					t.Errorf("%q", r.msgs[0].Headers)
				}
			}},
		{name: "obs-fold on first line dropped", request: true,
			in:   "GET / HTTP/1.1\r\n folded: x\r\nHost: h\r\n\r\n",
			want: []string{"GET /"}, flags: []flow.Flags{M},
			check: func(t *testing.T, r result) {
				if strings.Join(r.msgs[0].Headers, "|") != "Host: h" {
					t.Errorf("%q", r.msgs[0].Headers)
				}
			}},
		{name: "http/1.0 with te: te ignored", request: true,
			in:   "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0},
			check: func(t *testing.T, r result) {
				if r.msgs[0].Chunked || r.msgs[0].Body != "abc" {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "space before colon honoured", request: true,
			in:   "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M, 0}},
		{name: "junk header lines tolerated", request: true,
			in:   "GET / HTTP/1.1\r\nthis is not a header\r\n: empty name\r\nBad Name: x\r\nHost: h\r\n\r\n",
			want: []string{"GET /"}, flags: []flow.Flags{M},
			check: func(t *testing.T, r result) {
				if strings.Join(r.msgs[0].Headers, "|") != "Host: h" {
					t.Errorf("%q", r.msgs[0].Headers)
				}
			}},
		{name: "too many junk lines: not http", request: true,
			in:   "GET / HTTP/1.1\r\n" + strings.Repeat("junk\r\n", 20) + "\r\n" + smuggled,
			want: []string{"GET /smuggled"}, flags: []flow.Flags{0},
			check: func(t *testing.T, r result) {
				if r.stats.Dropped != 1 || r.stats.Malformed != 1 {
					t.Errorf("%+v", r.stats)
				}
			}},
		{name: "chunk size 2^64 overflow", request: true,
			in:   "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{M | flow.FlagIncomplete, 0},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 {
					t.Errorf("%+v", r.stats)
				}
			}},
		{name: "chunk size leading zeros ok",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000000003\r\nabc\r\n0\r\n\r\n",
			want: []string{"200 3"}, flags: []flow.Flags{0}},
		{name: "chunk size not hex",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHTTP/1.1 204 No Content\r\n\r\n",
			want: []string{"200 0", "204 0"}, flags: []flow.Flags{M | flow.FlagIncomplete, 0}},
		{name: "chunk data overrun",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
			want: []string{"200 3", "204 0"}, flags: []flow.Flags{M | flow.FlagIncomplete, 0}},
		{name: "chunk extension too long",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;" + strings.Repeat("x", 5000) + "\r\nabc\r\n0\r\n\r\n",
			want: []string{"200 0"}, flags: []flow.Flags{M | flow.FlagIncomplete}},
		{name: "http/0.9 and junk resync", request: true,
			in:   "GET /\r\nHELLO\r\nGET / HTTP/0.9\r\nget / HTTP/1.1\r\n" + smuggled,
			want: []string{"GET /smuggled"}, flags: []flow.Flags{0},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 || r.skipped != 46 {
					t.Errorf("%+v skipped %d", r.stats, r.skipped)
				}
			}},
		{name: "lenient in sync: any token method, odd target", request: true,
			in:   "m-search * HTTP/1.1\r\n\r\nget a?b HTTP/1.1\r\n\r\n",
			want: []string{"m-search *", "get a?b"}, flags: []flow.Flags{0, 0}},
		{name: "expect 100-continue with cl 0", request: true,
			in:   "POST / HTTP/1.1\r\nHost: target\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n" + smuggled,
			want: []string{"POST /", "GET /smuggled"}, flags: []flow.Flags{0, 0},
			check: func(t *testing.T, r result) {
				if !r.msgs[0].Expect100 {
					t.Errorf("%v", r.msgs[0])
				}
			}},
		{name: "status line forms",
			in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n" +
				"HTTP/1.1 999 Whatever\tyou \x80like\r\nContent-Length: 0\r\n\r\nHTTP/1.1 20 short\r\n\r\nHTTP/1.0 404 x\r\nContent-Length: 0\r\n\r\n",
			want:  []string{"200 0", "299 0", "999 0", "404 0"},
			flags: []flow.Flags{0, 0, 0, 0}},
		{name: "connect non-2xx has a body", methods: []string{"CONNECT"},
			in:   "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny",
			want: []string{"407 4"}, flags: []flow.Flags{0}},
		{name: "head response with chunked header", methods: []string{"HEAD", "GET"},
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
			want: []string{"200 0", "200 1"}, flags: []flow.Flags{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Every case must also be split-invariant.
			msgs := feedSplits(t, tc.request, tc.methods, []byte(tc.in))
			r := runOps(t, tc.request, Limits{}, false, tc.methods, d(tc.in))
			if !sameRecs(msgs, r.msgs, false) {
				t.Fatal("runOps and feedSplits disagree")
			}
			if got := summaries(r.msgs); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q want %q\n%s%+v", got, tc.want, dump(r.msgs), r.stats)
			}
			for i, f := range tc.flags {
				if r.msgs[i].Flags != f {
					t.Errorf("msg %d flags [%v] want [%v]: %v", i, r.msgs[i].Flags, f, r.msgs[i])
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("header bytes: framing honoured past the limit", func(t *testing.T) {
		lim := Limits{MaxHeaderBytes: 64}
		in := "POST / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("b", 200) + "\r\nX-Small: s\r\n" +
			"Cookie: " + strings.Repeat("c", 20000) + "\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc" + smuggled
		r := runOps(t, true, lim, false, nil, d(in))
		if summaries(r.msgs)[1] != "GET /smuggled" {
			t.Fatalf("%s", dump(r.msgs))
		}
		m := r.msgs[0]
		if m.Body != "abc" || m.KeepAlive || m.Flags != flow.FlagHeadersTruncated ||
			strings.Join(m.Headers, "|") != "Host: h|X-Small: s|Connection: close|Content-Length: 3" || r.stats.LimitHeaderBytes != 1 {
			t.Errorf("%v %+v", m, r.stats)
		}
	})
	t.Run("long framing header past the budget still read whole", func(t *testing.T) {
		in := "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + strings.Repeat("gzip, ", 2000) + "chunked\r\n\r\n0\r\n\r\n"
		r := runOps(t, false, Limits{MaxHeaderBytes: 1024}, false, nil, d(in))
		if len(r.msgs) != 1 || !r.msgs[0].Chunked || r.msgs[0].Flags != flow.FlagHeadersTruncated {
			t.Fatalf("%s", dump(r.msgs))
		}
	})
	t.Run("framing header too long to read is invalid", func(t *testing.T) {
		in := "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + strings.Repeat("gzip, ", 4000) + "chunked\r\n\r\n0\r\n\r\n"
		r := runOps(t, false, Limits{MaxHeaderBytes: 1024}, false, nil, d(in))
		if len(r.msgs) != 1 || r.msgs[0].Flags != flow.FlagMalformed|flow.FlagHeadersTruncated|flow.FlagCloseDelimited {
			t.Fatalf("%s", dump(r.msgs))
		}
	})
	t.Run("100k headers", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("GET /many HTTP/1.1\r\n")
		for i := 0; i < 100000; i++ {
			b.WriteString("X-H-")
			b.WriteString(itoa(i))
			b.WriteString(": v\r\n")
		}
		b.WriteString("Content-Length: 2\r\n\r\nok" + smuggled)
		in := []byte(b.String())
		var ops []op
		for k := 0; k < len(in); k += 1460 {
			ops = append(ops, op{data: in[k:min(k+1460, len(in))]})
		}
		r := runOps(t, true, Limits{}, false, nil, ops...)
		if len(r.msgs) != 2 || len(r.msgs[0].Headers) != 256 || r.msgs[0].Body != "ok" ||
			r.msgs[0].Flags != flow.FlagHeadersTruncated || r.stats.LimitHeaders != 1 {
			t.Fatalf("%d msgs, %d headers, %+v", len(r.msgs), len(r.msgs[0].Headers), r.stats)
		}
	})
	t.Run("1 MB start line", func(t *testing.T) {
		in := "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled
		r := runOps(t, true, Limits{}, false, nil, d(in[:300000]), d(in[300000:]))
		if len(r.msgs) != 1 || r.msgs[0].Target != "/smuggled" || r.stats.LimitStartLine != 1 || r.stats.Resyncs != 1 {
			t.Fatalf("%s %+v", dump(r.msgs), r.stats)
		}
		r = runOps(t, false, Limits{}, false, nil, d("HTTP/1.1 200 "+strings.Repeat("r", 1<<20)+"\r\n\r\nHTTP/1.1 204 No\r\n\r\n"))
		if len(r.msgs) != 1 || r.msgs[0].Status != 204 || r.stats.LimitStartLine != 1 {
			t.Fatalf("%s %+v", dump(r.msgs), r.stats)
		}
	})
	t.Run("body truncated", func(t *testing.T) {
		in := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100)
		r := runOps(t, false, Limits{MaxBodyBytes: 10}, false, nil, d(in))
		m := r.msgs[0]
		if len(m.Body) != 10 || m.BodyWireBytes != 100 || m.Flags != flow.FlagTruncated || r.stats.LimitBody != 1 {
			t.Fatalf("%v %+v", m, r.stats)
		}
	})
	t.Run("10 GB content-length, small body, close", func(t *testing.T) {
		p := NewParser(false, Limits{}, nil)
		rec := &recorder{}
		p.Reset(false, Limits{}, rec, false)
		p.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n"), 1)
		chunk := bytes.Repeat([]byte{'z'}, 64<<10)
		for i := 0; i < 160; i++ { // 10 MB streamed
			p.Feed(chunk, 2)
		}
		checkBounds(t, p)
		p.Close(3)
		m := rec.msgs[0]
		if len(rec.msgs) != 1 || m.ContentLength != 10737418240 || m.BodyWireBytes != 160*64<<10 || len(m.Body) != 64<<10 ||
			m.Flags != flow.FlagIncomplete|flow.FlagTruncated || cap(p.body) > 128<<10 {
			t.Fatalf("%v cap %d", m, cap(p.body))
		}
	})
}

func TestHostile(t *testing.T) {
	t.Run("binary garbage", func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		junk := make([]byte, 1<<20)
		rng.Read(junk)
		for _, request := range []bool{true, false} {
			var ops []op
			for k := 0; k < len(junk); {
				n := 1 + rng.Intn(3000)
				ops = append(ops, op{data: junk[k:min(k+n, len(junk))]})
				k += n
			}
			r := runOps(t, request, Limits{}, false, nil, ops...)
			if len(r.msgs) != 0 || r.stats.SkippedBytes+r.stats.BlankBytes != uint64(len(junk)) {
				t.Errorf("request=%v: %d msgs %+v", request, len(r.msgs), r.stats)
			}
		}
	})
	t.Run("slowloris byte by byte is linear", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("POST /slow HTTP/1.1\r\n")
		for b.Len() < 200000 {
			b.WriteString("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
		}
		b.WriteString("Content-Length: 1\r\n\r\nx")
		// and resync food: almost-start-lines without newlines
		b.WriteString(strings.Repeat("HTTP/1.", 30000))
		b.WriteString(strings.Repeat("A", 100000))
		in := []byte(b.String())
		for _, request := range []bool{true, false} {
			start := time.Now()
			rec := &recorder{}
			p := NewParser(request, Limits{}, rec)
			for i := range in {
				p.Feed(in[i:i+1], int64(i))
			}
			p.Close(0)
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("request=%v: %d bytes one at a time took %v", request, len(in), el)
			}
			if request && (len(rec.msgs) != 1 || rec.msgs[0].Body != "x") {
				t.Errorf("%s", dump(rec.msgs))
			}
		}
	})
	t.Run("never a whole connection buffered", func(t *testing.T) {
		// A single header line that never ends is abandoned.
		p := NewParser(true, Limits{}, nil)
		p.Feed([]byte("GET / HTTP/1.1\r\nX: "), 1)
		blob := bytes.Repeat([]byte{'q'}, 1<<16)
		for i := 0; i < 64; i++ {
			p.Feed(blob, 1)
			checkBounds(t, p)
		}
		if st := p.Stats(); st.Dropped != 1 || st.Resyncs != 1 {
			t.Errorf("%+v", st)
		}
	})
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
	}{
		{"", KindUnknown},
		{"G", KindUnknown},
		{"GET /index.html HTTP/1.1\r\n", KindRequest},
		{"GET /index.html HTTP/1.1\n", KindRequest},
		{"GET /index.html HTTP/1.", KindUnknown},
		{"BASELINE-CONTROL /x HTTP/1.1\r\n", KindRequest},
		{"M-SEARCH * HTTP/1.1\r\n", KindRequest},
		{"CONNECT example.com:443 HTTP/1.1\r\n", KindRequest},
		{"CONNECT [::1]:8443 HTTP/1.0\r\n", KindRequest},
		{"CONNECT example.com HTTP/1.1\r\n", KindRequest}, // target form not checked: the parser accepts it in sync
		{"GET example.com:443 HTTP/1.1\r\n", KindRequest}, // target form not checked: the parser accepts it in sync
		{"GET http://example.com/ HTTP/1.1\r\n", KindRequest},
		{"GET httpbin HTTP/1.1\r\n", KindRequest}, // target form not checked: the parser accepts it in sync
		{"get / HTTP/1.1\r\n", KindNotHTTP},
		{"GET / HTTP/2.0\r\n", KindNotHTTP},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", KindNotHTTP},
		{"GET /\r\n", KindNotHTTP},
		{"ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n", KindNotHTTP},
		{"HTTP/1.1 200 OK\r\n", KindResponse},
		{"HTTP/1.1 200", KindUnknown},
		{"HTTP/1.1 200\r", KindResponse},
		{"HTTP/1.0 404 ", KindResponse},
		{"HTTP/1.1 700 x", KindNotHTTP},
		{"HTTP/1.1 2000", KindNotHTTP},
		{"HTTP/1.2 200 OK\r\n", KindNotHTTP},
		{"\x16\x03\x01\x02\x00\x01", KindNotHTTP},
		{"SSH-2.0-OpenSSH_9.6\r\n", KindNotHTTP},
		{"GET /" + strings.Repeat("a", 9000), KindNotHTTP},
	}
	for _, tc := range tests {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%q) = %v want %v", trunc(tc.in, 40), got, tc.want)
		}
	}
	if !LooksLikeRequest([]byte("DELETE /x HTTP/1.1\r\n")) || LooksLikeResponse([]byte("DELETE /x HTTP/1.1\r\n")) ||
		!LooksLikeResponse([]byte("HTTP/1.1 204 No Content\r\n")) {
		t.Error("LooksLike*")
	}
}

func TestZeroAllocs(t *testing.T) {
	req := []byte("POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n" +
		"Authorization: Bearer abc.def.ghi\r\nContent-Length: 13\r\n\r\n{\"item\":1234}")
	resp := []byte("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"d\r\n{\"id\":\"o-99\"}\r\n0\r\nX-T: 1\r\n\r\n")
	h := &countHandler{method: []byte("POST")}
	pq := NewParser(true, Limits{}, h)
	pr := NewParser(false, Limits{}, h)
	feed := func() {
		pq.Feed(req[:37], 1)
		pq.Feed(req[37:], 2)
		pr.Feed(resp[:50], 3)
		pr.Feed(resp[50:], 4)
	}
	feed()
	if a := testing.AllocsPerRun(1000, feed); a != 0 {
		t.Fatalf("allocs per keep-alive exchange: %v", a)
	}
	if h.n != 2004 { // AllocsPerRun runs f once more as warm-up
		t.Fatalf("messages %d", h.n)
	}
}

type countHandler struct {
	n      int
	bytes  int
	method []byte
}

func (h *countHandler) Message(m *Message)    { h.n++; h.bytes += len(m.Body) }
func (h *countHandler) RequestMethod() []byte { return h.method }
func (h *countHandler) Skipped(int)           {}
