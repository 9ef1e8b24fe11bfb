package verbose

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// benchWords is ordinary English for generated prose: descriptions,
// comments and messages as APIs return them (with "error", "exception",
// "line", "at", "trace" among them, as in real text).
var benchWords = []string{
	"the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are", "with",
	"as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "word", "but",
	"what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your",
	"how", "said", "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about",
	"many", "then", "them", "write", "would", "like", "so", "these", "her", "long", "make", "thing",
	"see", "him", "two", "has", "look", "more", "day", "could", "go", "come", "did", "number", "sound",
	"no", "most", "people", "my", "over", "know", "water", "than", "call", "first", "who", "may",
	"down", "side", "been", "now", "find", "order", "customer", "payment", "shipping", "delivery",
	"account", "settings", "error", "exception", "line", "trace", "stack", "report", "database",
	"server", "request", "response", "invoice", "product", "catalog", "warehouse", "update", "created",
	"failed", "retry", "network", "timeout", "syntax", "query", "table", "relation", "column",
	"version", "release", "feature", "improvement", "performance", "security", "Monday", "Paris",
	"London", "Berlin", "Tokyo", "Amazon", "Google", "Microsoft", "Java", "Python", "SQL", "API",
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

// benchJSON returns about size bytes of a typical JSON API response: a
// page of records with ids, timestamps, URLs, numbers, flags, nested
// objects and short English text.
func benchJSON(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
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
			r.IntN(99999), []string{"Ana Lima", "Bo Chen", "Carl Olsen", "Dina Haddad"}[r.IntN(4)], r.IntN(9999),
			[]string{"DE", "FR", "US", "JP", "BR"}[r.IntN(5)])
		fmt.Fprintf(&b, `"description":%q,"tags":["%s","%s"],"in_stock":%t,"rating":%d.%d,`,
			benchSentence(r, 8+r.IntN(20)), benchWords[r.IntN(len(benchWords))], benchWords[r.IntN(len(benchWords))],
			r.IntN(2) == 0, r.IntN(5), r.IntN(10))
		fmt.Fprintf(&b, `"links":{"self":"https://api.shop.example/v2/orders/%d","thumbnail":"https://cdn.shop.example/img/%x/%d.jpg?w=%d"}}`,
			r.IntN(1_000_000), r.Uint32(), r.IntN(1000), 64<<r.IntN(4))
	}
	fmt.Fprintf(&b, `],"meta":{"page":%d,"per_page":50,"total":%d,"next":"/v2/orders?page=%d&cursor=%x"},"message":"OK"}`,
		r.IntN(40), r.IntN(100000), r.IntN(40), r.Uint64())
	return b.Bytes()
}

// benchProse is an HTML page of English prose, as a documentation or
// marketing page answers.
func benchProse(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><title>Help center</title></head><body><main>\n")
	for b.Len() < size-40 {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<p>", benchSentence(r, 3+r.IntN(4)))
		for i := 0; i < 4+r.IntN(4); i++ {
			b.WriteString(benchSentence(r, 6+r.IntN(18)))
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</main></body></html>\n")
	return b.Bytes()
}

const benchLeakTail = `,"error":{"status":500,"message":"Internal Server Error","trace":"java.lang.NullPointerException: Cannot invoke \"com.acme.shop.model.Customer.getId()\" because \"customer\" is null\n\tat com.acme.shop.service.OrderService.place(OrderService.java:88)\n\tat com.acme.shop.web.OrderController.create(OrderController.java:41)\n"}}`

func benchmarkFind(b *testing.B, body []byte, want bool) {
	b.Helper()
	if _, ok := Find(body); ok != want {
		l, _ := Find(body)
		b.Fatalf("Find = %+v, %v; want found=%v", l, ok, want)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Find(body)
	}
}

func BenchmarkFind(b *testing.B) {
	json8 := benchJSON(1, 8<<10)
	leak8 := append(append([]byte{}, json8[:len(json8)-1]...), benchLeakTail...)
	json64 := benchJSON(2, MaxScan)
	prose64 := benchProse(3, MaxScan)
	// Near misses: frame-shaped text that fails the checks, repeated.
	var miss bytes.Buffer
	for miss.Len() < MaxScan {
		miss.WriteString(`see Foo.java:12 and ORA-123 at line 4, File "x", line ? `)
	}
	b.Run("json_8KiB", func(b *testing.B) { benchmarkFind(b, json8, false) })
	b.Run("json_8KiB_leak_at_end", func(b *testing.B) { benchmarkFind(b, leak8, true) })
	b.Run("json_64KiB", func(b *testing.B) { benchmarkFind(b, json64, false) })
	b.Run("html_prose_64KiB", func(b *testing.B) { benchmarkFind(b, prose64, false) })
	b.Run("near_misses_64KiB", func(b *testing.B) { benchmarkFind(b, miss.Bytes()[:MaxScan], false) })
}

// BenchmarkFindCorpusSpecs scans the corpus's real API descriptions
// (GitHub, Kubernetes, Stripe, Twilio, …: 17 MB of JSON and YAML full of
// English prose about errors) in MaxScan windows, as bodies. None holds a
// leak (TestCorpusOpenAPINoLeak).
func BenchmarkFindCorpusSpecs(b *testing.B) {
	windows := specWindows(b)
	total := 0
	for _, w := range windows {
		total += len(w)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, w := range windows {
			Find(w)
		}
	}
}

// specWindows cuts every file of the corpus's openapi/ into MaxScan windows.
func specWindows(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join(testutil.Corpus(tb), "openapi", "*"))
	if err != nil || len(files) == 0 {
		tb.Skipf("no openapi files: %v", err)
	}
	var ws [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for off := 0; off < len(data); off += MaxScan {
			ws = append(ws, data[off:min(len(data), off+MaxScan)])
		}
	}
	return ws
}
