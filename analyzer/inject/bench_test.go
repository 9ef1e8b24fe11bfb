package inject

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// benchWords is ordinary English for generated text, with words that
// anchor rules ("select", "union", "order", "drop", "sleep", "script",
// "alert", "cat", "id") among them, as real text has them.
var benchWords = []string{
	"the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are", "with",
	"as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "word", "but",
	"what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your",
	"how", "said", "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about",
	"many", "then", "them", "write", "would", "like", "so", "these", "her", "long", "make", "thing",
	"see", "him", "two", "has", "look", "more", "day", "could", "go", "come", "did", "number", "sound",
	"no", "most", "people", "my", "over", "know", "water", "than", "call", "first", "who", "may",
	"down", "side", "been", "now", "find", "order", "customer", "payment", "shipping", "delivery",
	"account", "settings", "select", "union", "drop", "table", "sleep", "script", "alert", "cat", "id",
	"update", "delete", "insert", "where", "user", "password", "admin", "file", "path", "url", "host",
	"O'Brien", "don't", "it's", "plan", "search", "filter", "sort", "page", "limit", "Monday", "Paris",
}

func benchSentence(r *rand.Rand, words int) string {
	var sb bytes.Buffer
	for i := 0; i < words; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		w := benchWords[r.IntN(len(benchWords))]
		if i == 0 {
			w = string(w[0]&^0x20) + w[1:]
		}
		sb.WriteString(w)
		if r.IntN(12) == 0 && i+1 < words {
			sb.WriteByte(',')
		}
	}
	sb.WriteByte('.')
	return sb.String()
}

// benchJSON returns about size bytes of a typical JSON request body: a
// batch of records with ids, timestamps, URLs, numbers, flags, nested
// objects and short English text.
func benchJSON(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < size-600; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%08x-%04x-4%03x-a%03x-%012x","number":%d,"status":%q,`,
			r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1),
			r.IntN(1_000_000), []string{"active", "pending", "shipped", "cancelled", "failed"}[r.IntN(5)])
		fmt.Fprintf(&b, `"created_at":"2024-%02d-%02dT%02d:%02d:%02d.%03dZ","amount":%d.%02d,"currency":"EUR","quantity":%d,`,
			1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000), r.IntN(5000), r.IntN(100), 1+r.IntN(9))
		fmt.Fprintf(&b, `"customer":{"id":%d,"name":"%s","email":"user%d@example.org","country":"%s"},`,
			r.IntN(99999), []string{"Ana Lima", "Bo Chen", "Carl O'Neil", "Dina Haddad"}[r.IntN(4)], r.IntN(9999),
			[]string{"DE", "FR", "US", "JP", "BR"}[r.IntN(5)])
		fmt.Fprintf(&b, `"description":%q,"tags":["%s","%s"],"in_stock":%t,"rating":%d.%d,`,
			benchSentence(r, 8+r.IntN(20)), benchWords[r.IntN(len(benchWords))], benchWords[r.IntN(len(benchWords))],
			r.IntN(2) == 0, r.IntN(5), r.IntN(10))
		fmt.Fprintf(&b, `"links":{"self":"https://api.shop.example/v2/orders/%d","thumbnail":"https://cdn.shop.example/img/%x/%d.jpg?w=%d"}}`,
			r.IntN(1_000_000), r.Uint32(), r.IntN(1000), 64<<r.IntN(4))
	}
	fmt.Fprintf(&b, `],"meta":{"page":%d,"per_page":50,"callback":"https://hooks.example.com/v1/%x","note":"Leave at the front door; call if nobody is home."}}`,
		r.IntN(40), r.Uint64())
	return b.Bytes()
}

// benchParts are typical request targets, split as the analyzer scans
// them: paths and raw query strings of about 100 bytes.
var benchParts = [][]byte{
	[]byte("/api/v2/customers/8f14e45f-ceea-467f-a0b6-5b1f3e6c9a27/orders"),
	[]byte("page=3&per_page=50&sort=-created_at&status=shipped&q=select+a+plan&fields=id,name,email"),
	[]byte("/v1/search"),
	[]byte("q=O%27Brien+%26+Sons&country=IE&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=af0ifjsldkj"),
	[]byte("/static/img/products/2024/05/blue-widget-large.jpg"),
	[]byte("utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale&ref=home.hero.cta&lang=en-US"),
	[]byte("/repos/octocat/hello-world/issues/1347/comments"),
	[]byte("from=2024-05-01T00:00:00Z&to=2024-05-31T23:59:59Z&tz=Europe%2FBerlin&include=items,customer"),
}

// benchHeaders are the values of a typical API request's headers.
var benchHeaders = [][]byte{
	[]byte("api.shop.example"),
	[]byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
	[]byte("application/json, text/plain, */*"),
	[]byte("gzip, deflate, br"),
	[]byte("en-US,en;q=0.9,de;q=0.8"),
	[]byte("Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
	[]byte("application/json"),
	[]byte("https://app.shop.example/checkout?step=2"),
	[]byte("session=9f86d081884c7d659a2feaa0c55ad015; theme=dark; _ga=GA1.2.1234567890.1700000000"),
	[]byte("keep-alive"),
	[]byte("no-cache"),
	[]byte("4bf92f3577b34da6a3ce929d0e0e4736"),
}

func BenchmarkScan(b *testing.B) {
	var s Scanner
	var dst []Match
	run := func(b *testing.B, parts [][]byte) {
		total := 0
		for _, p := range parts {
			total += len(p)
			if ms := s.Scan(dst[:0], p); len(ms) > 0 {
				b.Fatalf("benign %q: %v", p, ms)
			}
		}
		b.SetBytes(int64(total))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for _, p := range parts {
				dst = s.Scan(dst[:0], p)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(parts)), "ns/part")
	}
	b.Run("path_query_100B", func(b *testing.B) { run(b, benchParts) })
	b.Run("headers_12", func(b *testing.B) { run(b, benchHeaders) })
	b.Run("json_4KiB", func(b *testing.B) { run(b, [][]byte{benchJSON(1, 4<<10)}) })
	b.Run("json_64KiB", func(b *testing.B) { run(b, [][]byte{benchJSON(2, MaxScan)}) })
	var attack bytes.Buffer
	attack.Write(benchJSON(3, 4<<10))
	attack.Truncate(attack.Len() - 2)
	attack.WriteString(`,"x":"1' union select username,password from users--"}`)
	b.Run("json_4KiB_attack_at_end", func(b *testing.B) {
		p := attack.Bytes()
		if len(s.Scan(nil, p)) == 0 {
			b.Fatal("attack not found")
		}
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			dst = s.Scan(dst[:0], p)
		}
	})
}

// BenchmarkScanWorst is the slowest adversarial part of TestWorkBound:
// 64 KiB of "${${${…", each an unclosed lookup.
func BenchmarkScanWorst(b *testing.B) {
	p := adversarial()["nested"]
	var s Scanner
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(nil, p)
	}
}

// BenchmarkScanCorpusSpecs scans the corpus's real API descriptions
// (GitHub, Kubernetes, Stripe, Twilio, …: 17 MB of JSON and YAML) in
// MaxScan windows, as request bodies.
func BenchmarkScanCorpusSpecs(b *testing.B) {
	files, err := filepath.Glob(filepath.Join(testutil.Corpus(b), "openapi", "*"))
	if err != nil || len(files) == 0 {
		b.Skipf("no openapi files: %v", err)
	}
	var windows [][]byte
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(data); off += MaxScan {
			w := data[off:min(len(data), off+MaxScan)]
			windows = append(windows, w)
			total += len(w)
		}
	}
	var s Scanner
	var dst []Match
	for _, w := range windows {
		dst = s.Scan(dst[:0], w) // the decode buffers grow once
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, w := range windows {
			dst = s.Scan(dst[:0], w)
		}
	}
}

// BenchmarkScanCSICRequests scans the path and the query of each of CSIC
// 2010's 36,000 normal requests, as the analyzer scans an exchange's
// target; ns/request is the cost per exchange target.
func BenchmarkScanCSICRequests(b *testing.B) {
	lines := readLines(b, filepath.Join(testutil.Corpus(b), "attacks", "csic2010-oneline", "normal.txt"))
	parts := make([][2][]byte, len(lines))
	total := 0
	for k, l := range lines {
		p, q := csicParts(l)
		parts[k] = [2][]byte{[]byte(p), []byte(q)}
		total += len(p) + len(q)
	}
	var s Scanner
	var dst []Match
	b.SetBytes(int64(total / len(parts)))
	b.ReportAllocs()
	b.ResetTimer()
	for k := 0; b.Loop(); k++ {
		r := parts[k%len(parts)]
		dst = s.Scan(dst[:0], r[0])
		dst = s.Scan(dst, r[1])
	}
	b.ReportMetric(float64(total)/float64(len(parts)), "B/request")
}
