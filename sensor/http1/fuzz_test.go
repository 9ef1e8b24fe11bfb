package http1

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
)

// fuzzLimits are large enough that limits never explain a difference from
// net/http (which has none of its own in ReadRequest/ReadResponse).
var fuzzLimits = Limits{MaxStartLine: 1 << 20, MaxHeaderBytes: 1 << 20, MaxHeaders: 1 << 16, MaxBodyBytes: 1 << 20}

func addSeeds(f *testing.F, request bool) {
	for i, c := range conversations {
		if request {
			f.Add([]byte(c.req))
		} else {
			f.Add([]byte(c.resp), uint8(i))
		}
	}
}

// headerMap turns our fields into net/http's shape, without the headers
// net/http rewrites (Host moves to Request.Host; Transfer-Encoding and
// Content-Length are consumed by the framing code, Trailer moves to
// Request/Response.Trailer, "Connection: close" is deleted from responses
// (compared through KeepAlive instead); Cache-Control may be
// synthesised from Pragma).
func headerMap(fields []string) map[string][]string {
	m := map[string][]string{}
	for _, f := range fields {
		k, v, _ := bytes.Cut([]byte(f), []byte(": "))
		m[textproto.CanonicalMIMEHeaderKey(string(k))] = append(m[textproto.CanonicalMIMEHeaderKey(string(k))], string(v))
	}
	return m
}

// collapseWS squeezes runs of SP/HT into one SP in every value: net/http
// adds a SP for every empty obs-fold line ("a\r\n \r\n b" gives "a  b"),
// we join non-empty pieces with exactly one. Only applied to messages we
// flagged malformed (an obs-fold always is).
func collapseWS(h map[string][]string) {
	for k, vs := range h {
		for i, v := range vs {
			var b []byte
			for j := 0; j < len(v); j++ {
				if v[j] == ' ' || v[j] == '\t' {
					if len(b) > 0 && b[len(b)-1] == ' ' {
						continue
					}
					b = append(b, ' ')
					continue
				}
				b = append(b, v[j])
			}
			vs[i] = string(b)
		}
		h[k] = vs
	}
}

func comparableHeaders(h map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		switch k {
		case "Host", "Transfer-Encoding", "Content-Length", "Cache-Control", "Trailer", "Connection":
			continue
		}
		// net/http leaves a trailing SP when an obs-fold line is
		// empty ("a\r\n \r\n" gives "a "); field values never end in
		// whitespace (RFC 9110 5.5), and ours do not.
		var vs []string
		for _, x := range v {
			vs = append(vs, string(trimOWS([]byte(x))))
		}
		out[k] = vs
	}
	return out
}

// spacedNames reports a header name net/http kept with a space in it: it
// accepts "Bad Name: v" and "Name : v" as-is (go.dev/issue/34540) where we
// drop the first and trim the second (RFC 9112 5.1 tells a proxy to remove
// that whitespace) — a deliberate difference, skipped.
func spacedNames(h map[string][]string) bool {
	for k := range h {
		if bytes.IndexByte([]byte(k), ' ') >= 0 {
			return true
		}
	}
	return false
}

func parseOne(request bool, data []byte, method string) (rec, bool, Stats) {
	r := &recorder{request: request}
	if method != "" {
		r.methods = []string{method}
	}
	p := NewParser(request, fuzzLimits, r)
	p.Feed(data, 1)
	p.Close(2)
	if len(r.msgs) == 0 {
		return rec{}, false, p.Stats()
	}
	return r.msgs[0], true, p.Stats()
}

// FuzzRequest is a differential test against net/http.ReadRequest: when
// net/http accepts a request and reads its whole body, we must find the
// same method, target, version, headers and body at the start of the same
// bytes. We are deliberately more tolerant in places (docs/http.md lists
// them), so the converse is not checked. Deliberate differences skipped:
//   - versions other than HTTP/1.0 and HTTP/1.1 (net/http accepts any
//     "HTTP/d.d"; we resynchronise over them);
//   - header names containing spaces (see spacedNames).
func FuzzRequest(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) { diffRequest(t, data) })
}

// diffRequest reports whether net/http accepted data (and so a comparison
// was made); it fails t on any disagreement.
func diffRequest(t testing.TB, data []byte) bool {
	t.Helper()
	{
		m, ok, st := parseOne(true, data, "")
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return false
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return false
		}
		// An empty target (net/http takes "CONNECT  HTTP/1.0" with
		// RequestURI "") is not a request line for us.
		if req.Proto != "HTTP/1.0" && req.Proto != "HTTP/1.1" || spacedNames(req.Header) || req.RequestURI == "" {
			return false
		}
		if !ok {
			t.Fatalf("net/http accepted %s %s, we found nothing: %+v", req.Method, req.RequestURI, st)
		}
		if m.Method != req.Method || m.Target != req.RequestURI || m.Proto != req.Proto {
			t.Fatalf("start line: ours %q %q %q, net/http %q %q %q", m.Method, m.Target, m.Proto, req.Method, req.RequestURI, req.Proto)
		}
		ours := comparableHeaders(headerMap(m.Headers))
		theirs := comparableHeaders(req.Header)
		if m.Flags&flow.FlagMalformed != 0 {
			collapseWS(ours)
			collapseWS(theirs)
		}
		if !reflect.DeepEqual(ours, theirs) {
			t.Fatalf("headers:\nours   %q\ntheirs %q", ours, theirs)
		}
		if m.Body != string(body) || m.Flags&(flow.FlagIncomplete|flow.FlagTruncated) != 0 {
			t.Fatalf("body: ours %q [%v], net/http %q", m.Body, m.Flags, body)
		}
		if m.KeepAlive == req.Close {
			t.Fatalf("keep-alive: ours %v, net/http Close %v", m.KeepAlive, req.Close)
		}
		if m.Chunked != (len(req.TransferEncoding) > 0) {
			t.Fatalf("chunked: ours %v net/http %q", m.Chunked, req.TransferEncoding)
		}
	}
	return true
}

var fuzzMethods = [...]string{"GET", "HEAD", "POST", "CONNECT"}

// FuzzResponse is the same differential test against net/http.ReadResponse
// (method chosen by the second argument, for HEAD/CONNECT framing).
// Deliberate differences skipped:
//   - versions other than HTTP/1.0 and HTTP/1.1;
//   - status codes below 100 ("HTTP/1.1 099", "HTTP/1.1 +12": net/http
//     uses Atoi) and status lines not of the exact form "HTTP/1.x DDD"
//     (net/http skips extra spaces before the code);
//   - a 2xx answer to CONNECT: we stop parsing (tunnel), net/http reads a
//     body by the usual rules;
//   - header names containing spaces (see spacedNames).
func FuzzResponse(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte, mi uint8) { diffResponse(t, data, fuzzMethods[mi%4]) })
}

func diffResponse(t testing.TB, data []byte, method string) bool {
	t.Helper()
	{
		m, ok, st := parseOne(false, data, method)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), &http.Request{Method: method})
		if err != nil {
			return false
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return false
		}
		if resp.Proto != "HTTP/1.0" && resp.Proto != "HTTP/1.1" || resp.StatusCode < 100 ||
			len(data) < 12 || data[8] != ' ' || !bytes.HasPrefix(data[9:], []byte(resp.Status[:3])) ||
			method == "CONNECT" && resp.StatusCode/100 == 2 || spacedNames(resp.Header) {
			return false
		}
		if !ok {
			t.Fatalf("net/http accepted %q, we found nothing: %+v", resp.Status, st)
		}
		reason := ""
		if len(resp.Status) > 4 {
			// We replace a bare CR in the reason by SP (RFC 9112 2.2).
			reason = strings.ReplaceAll(resp.Status[4:], "\r", " ")
		}
		if m.Status != resp.StatusCode || m.Proto != resp.Proto || m.Reason != reason {
			t.Fatalf("status line: ours %q %d %q, net/http %q %q", m.Proto, m.Status, m.Reason, resp.Proto, resp.Status)
		}
		ours := comparableHeaders(headerMap(m.Headers))
		theirs := comparableHeaders(resp.Header)
		if m.Flags&flow.FlagMalformed != 0 {
			collapseWS(ours)
			collapseWS(theirs)
		}
		if !reflect.DeepEqual(ours, theirs) {
			t.Fatalf("headers:\nours   %q\ntheirs %q", ours, theirs)
		}
		if m.Body != string(body) || m.Flags&(flow.FlagIncomplete|flow.FlagTruncated) != 0 {
			t.Fatalf("body: ours %q [%v], net/http %q", m.Body, m.Flags, body)
		}
		if m.KeepAlive == resp.Close {
			t.Fatalf("keep-alive: ours %v, net/http Close %v", m.KeepAlive, resp.Close)
		}
	}
	return true
}

// TestDifferentialGenerated runs the FuzzRequest/FuzzResponse comparison on
// grammar-generated messages, most of which net/http accepts (random bytes
// rarely are valid HTTP, so the fuzzers alone compare few messages).
func TestDifferentialGenerated(t *testing.T) {
	rng := rand.New(rand.NewSource(99))
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	compared := [2]int{}
	for i := 0; i < iters; i++ {
		request := i%2 == 0
		data := []byte(genStream(rng, request))
		if request {
			if diffRequest(t, data) {
				compared[0]++
			}
		} else if diffResponse(t, data, fuzzMethods[rng.Intn(4)]) {
			compared[1]++
		}
	}
	t.Logf("compared %d requests and %d responses with net/http", compared[0], compared[1])
	if compared[0] < iters/20 || compared[1] < iters/20 {
		t.Errorf("too few comparisons: %v", compared)
	}
}

// FuzzParserSplit: any segmentation of the same bytes gives the same
// messages and counters; random gaps never panic, never break the memory
// bounds or the byte accounting. mode bit 0: response direction; bit 1:
// midstream; bit 2: tiny limits (to exercise every limit path); bit 3:
// "GET" becomes an unknown method (a lost request: RequestMethod nil).
func FuzzParserSplit(f *testing.F) {
	for i, c := range conversations {
		f.Add([]byte(c.req), uint64(i), uint8(0))
		f.Add([]byte(c.resp), uint64(i), uint8(1|(i&1)<<2))
		f.Add([]byte(c.resp), uint64(0), uint8(1|8))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, mode uint8) {
		request := mode&1 == 0
		midstream := mode&2 != 0
		lim := Limits{}
		if mode&4 != 0 {
			lim = Limits{MaxStartLine: 40, MaxHeaderBytes: 64, MaxHeaders: 3, MaxBodyBytes: 16}
		}
		var methods []string
		for i := 0; i < 32; i++ {
			m := fuzzMethods[(seed>>(2*i))&3]
			if mode&8 != 0 && m == "GET" {
				m = ""
			}
			methods = append(methods, m)
		}
		run := func(cuts []int, gaps map[int]int) result {
			r := &recorder{request: request, methods: methods}
			p := &Parser{}
			p.Reset(request, lim, r, midstream)
			prev := 0
			for _, c := range append(cuts, len(data)) {
				if c < prev {
					continue
				}
				if n, ok := gaps[prev]; ok {
					p.Gap(n, 1)
					checkBounds(t, p)
					prev = min(prev+n, c)
				}
				p.Feed(data[prev:c], 1)
				checkBounds(t, p)
				prev = c
			}
			p.Close(1)
			st := p.Stats()
			checkAccounting(t, st, r)
			return result{msgs: r.msgs, stats: st}
		}
		whole := run(nil, nil)
		rng := rand.New(rand.NewSource(int64(seed)))
		var cuts []int
		for c := 0; c < len(data); c += 1 + rng.Intn(64) {
			if c > 0 {
				cuts = append(cuts, c)
			}
		}
		split := run(cuts, nil)
		if !sameRecs(whole.msgs, split.msgs, true) || whole.stats != split.stats {
			t.Fatalf("segmentation changed the result:\nwhole:\n%s%+v\nsplit %v:\n%s%+v", dump(whole.msgs), whole.stats, cuts, dump(split.msgs), split.stats)
		}
		if len(data) <= 4096 {
			var all []int
			for c := 1; c < len(data); c++ {
				all = append(all, c)
			}
			bw := run(all, nil)
			if !sameRecs(whole.msgs, bw.msgs, true) || whole.stats != bw.stats {
				t.Fatalf("byte-by-byte changed the result:\nwhole:\n%s%+v\nbytewise:\n%s%+v", dump(whole.msgs), whole.stats, dump(bw.msgs), bw.stats)
			}
		}
		gaps := map[int]int{}
		for _, c := range cuts {
			if rng.Intn(4) == 0 {
				gaps[c] = 1 + rng.Intn(200)
			}
		}
		gapped := run(cuts, gaps)
		for _, m := range gapped.msgs {
			if m.BodyWireBytes < int64(len(m.Body)) {
				t.Fatalf("body wire %d < kept %d", m.BodyWireBytes, len(m.Body))
			}
		}
	})
}
