package http1

import (
	"math/rand"
	"strings"
	"testing"
)

// genStream builds a random HTTP-ish stream from a small grammar that hits
// the parser's corners: obs-fold, junk lines, bare LF, long lines near the
// limits, framing headers valid and not, chunk extensions, trailers and
// garbage between messages.
func genStream(rng *rand.Rand, request bool) string {
	var b strings.Builder
	eol := func() string {
		if rng.Intn(5) == 0 {
			return "\n"
		}
		return "\r\n"
	}
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	word := func(n int) string {
		const cs = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"
		var w []byte
		for i := 0; i < n; i++ {
			w = append(w, cs[rng.Intn(len(cs))])
		}
		return string(w)
	}
	for m := 0; m < 1+rng.Intn(4); m++ {
		if rng.Intn(6) == 0 {
			b.WriteString(pick("\r\n", "junk line\r\n", "\x00\x01\x02", "HTTP/1.", "GET /\r\n", "HTTP/1.1 2"))
		}
		if request {
			b.WriteString(pick("GET", "POST", "PUT", "PROPFIND", "get", "X") + " /" + word(rng.Intn(60)) + " " + pick("HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0") + eol())
		} else {
			b.WriteString(pick("HTTP/1.1", "HTTP/1.0", "HTTP/1.1") + " " + pick("200", "204", "304", "100", "101", "404", "099") + pick(" OK", "", " ") + eol())
		}
		chunked := false
		for h := 0; h < rng.Intn(10); h++ {
			switch rng.Intn(12) {
			case 0:
				b.WriteString("Content-Length: " + pick("0", "5", "005", "3, 3", "3, 4", "-1", "", "18446744073709551616") + eol())
			case 1:
				v := pick("chunked", "gzip, chunked", "chunked, identity", "chunked", ",\tchunked,")
				chunked = chunked || strings.HasSuffix(strings.TrimRight(v, ", \t"), "chunked")
				b.WriteString("Transfer-Encoding: " + v + eol())
			case 2:
				b.WriteString(pick(" ", "\t") + word(rng.Intn(20)) + eol()) // obs-fold
			case 3:
				b.WriteString(word(rng.Intn(20)) + eol()) // junk
			case 4:
				b.WriteString("X-Long: " + strings.Repeat("L", rng.Intn(300)) + pick("", "  ") + eol())
			case 5:
				b.WriteString("Name : v" + eol())
			case 6:
				b.WriteString("Connection: " + pick("close", "keep-alive", "Upgrade") + eol())
			default:
				b.WriteString(word(1+rng.Intn(12)) + ":" + pick("", " ", "\t") + word(rng.Intn(30)) + pick("", " ") + eol())
			}
		}
		b.WriteString(eol())
		if chunked || rng.Intn(4) == 0 {
			for c := 0; c < rng.Intn(4); c++ {
				n := 1 + rng.Intn(40)
				b.WriteString(strings.ToUpper(hex(n)) + pick("", ";ext=1", " ; a=\"b\"") + eol() + strings.Repeat("d", n+rng.Intn(2)-rng.Intn(2)) + eol())
			}
			b.WriteString("0" + eol())
			for tr := 0; tr < rng.Intn(3); tr++ {
				b.WriteString("X-Trailer-" + word(3) + ": t" + eol())
			}
			b.WriteString(eol())
		} else {
			b.WriteString(strings.Repeat("b", rng.Intn(12)))
		}
	}
	return b.String()
}

func TestRandomSplitInvariance(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	limits := []Limits{{}, {MaxStartLine: 40, MaxHeaderBytes: 64, MaxHeaders: 3, MaxBodyBytes: 16}, {MaxHeaderBytes: 200, MaxHeaders: 5}}
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for it := 0; it < iters; it++ {
		request := rng.Intn(2) == 0
		midstream := rng.Intn(4) == 0
		lim := limits[rng.Intn(len(limits))]
		data := []byte(genStream(rng, request))
		methods := []string{"GET", "HEAD", "GET", "CONNECT", "GET"}
		run := func(cuts []int) result {
			r := &recorder{request: request, methods: methods}
			p := &Parser{}
			p.Reset(request, lim, r, midstream)
			prev := 0
			for _, c := range append(cuts, len(data)) {
				p.Feed(data[prev:c], 1)
				checkBounds(t, p)
				prev = c
			}
			p.Close(1)
			checkAccounting(t, p.Stats(), r)
			return result{msgs: r.msgs, stats: p.Stats()}
		}
		whole := run(nil)
		var all []int
		for c := 1; c < len(data); c++ {
			all = append(all, c)
		}
		for k := 0; k < 4; k++ {
			var cuts []int
			switch k {
			case 0:
				cuts = all
			default:
				for c := 1 + rng.Intn(8); c < len(data); c += 1 + rng.Intn(1<<(2*k)) {
					cuts = append(cuts, c)
				}
			}
			got := run(cuts)
			if !sameRecs(whole.msgs, got.msgs, true) || whole.stats != got.stats {
				t.Fatalf("iteration %d (request=%v midstream=%v lim=%+v) cuts %v\ninput %q\nwhole:\n%s%+v\nsplit:\n%s%+v",
					it, request, midstream, lim, cuts, data, dump(whole.msgs), whole.stats, dump(got.msgs), got.stats)
			}
		}
	}
}
