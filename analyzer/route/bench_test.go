package route

import (
	"fmt"
	"github.com/apitap/apitap/internal/testutil"
	"math/rand"
	"testing"
)

// synthAPI is a realistic API without the corpus: the kinds of routes and
// values real traffic has (ids, uuids, usernames, slugs, prefixed ids,
// dates, versions), for benchmarks and the bounds and allocation tests.
var synthRoutes = []string{
	"/api/v2/users/{user}", "/api/v2/users/{user}/orders", "/api/v2/users/{user}/orders/{int}",
	"/api/v2/users/{user}/orders/{int}/items/{int}", "/api/v2/users/me", "/api/v2/users/search",
	"/api/v2/orders/{code}", "/api/v2/orders/{code}/refunds", "/api/v2/products/{slug}",
	"/api/v2/products/{slug}/reviews", "/api/v2/products/{slug}/reviews/{uuid}", "/api/v2/products/featured",
	"/repos/{user}/{slug}", "/repos/{user}/{slug}/issues", "/repos/{user}/{slug}/issues/{int}",
	"/repos/{user}/{slug}/issues/{int}/comments", "/repos/{user}/{slug}/pulls/{int}/files",
	"/repos/{user}/{slug}/commits/{sha}", "/repos/{user}/{slug}/branches/{slug}/protection",
	"/v1/customers/{stripe}", "/v1/customers/{stripe}/sources", "/v1/charges/{stripe}/refunds",
	"/v1/invoices/{stripe}/pay", "/v1/reports/{date}", "/v1/files/{hex}.json",
	"/api/v1/namespaces/{ns}/pods/{slug}/log", "/api/v1/namespaces/{ns}/services/{slug}",
	"/api/v1/namespaces/{ns}/configmaps/{slug}", "/healthz", "/metrics",
}

type synth struct {
	rng   *rand.Rand
	words []string
}

func newSynth(seed int64) *synth {
	s := &synth{rng: rand.New(rand.NewSource(seed))}
	for _, w := range []string{"alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "kilo", "lima", "mike", "oscar", "papa", "romeo", "sierra", "tango", "victor", "whiskey", "yankee", "zulu", "amber", "cedar", "maple", "river", "stone", "cloud", "ember", "frost", "grove", "harbor", "meadow"} {
		s.words = append(s.words, w)
	}
	return s
}

func (s *synth) word() string { return s.words[s.rng.Intn(len(s.words))] }

func (s *synth) path() string {
	r := synthRoutes[s.rng.Intn(len(synthRoutes))]
	var b []byte
	for i := 0; i < len(r); i++ {
		if r[i] != '{' {
			b = append(b, r[i])
			continue
		}
		j := i
		for r[j] != '}' {
			j++
		}
		switch r[i+1 : j] {
		case "user":
			b = append(b, fmt.Sprintf("%s-%s%d", s.word(), s.word(), s.rng.Intn(50))...)
		case "slug":
			b = append(b, s.word()+"-"+s.word()...)
		case "int":
			b = append(b, fmt.Sprint(s.rng.Intn(1000000))...)
		case "code":
			b = append(b, fmt.Sprintf("ORD-2024-%06d", s.rng.Intn(999999))...)
		case "uuid":
			b = append(b, fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", s.rng.Uint32(), s.rng.Intn(65536), s.rng.Intn(4096), s.rng.Intn(4096), s.rng.Int63n(1<<48))...)
		case "sha":
			b = append(b, fmt.Sprintf("%016x%016x%08x", s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint32())...)
		case "hex":
			b = append(b, fmt.Sprintf("%016x", s.rng.Uint64())...)
		case "stripe":
			b = append(b, fmt.Sprintf("cus_%x%X", s.rng.Uint32(), s.rng.Uint32())...)
		case "date":
			b = append(b, fmt.Sprintf("2024-%02d-%02d", 1+s.rng.Intn(12), 1+s.rng.Intn(28))...)
		case "ns":
			b = append(b, []string{"default", "kube-system", "prod", "staging", "monitoring", "payments"}[s.rng.Intn(6)]...)
		}
		i = j
	}
	return string(b)
}

func (s *synth) paths(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s.path()
	}
	return out
}

func warm(tb testing.TB, n int) (*Learner, []string) {
	l, err := New(DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	paths := newSynth(1).paths(n)
	for _, p := range paths {
		l.Observe("api.example.com", p)
	}
	return l, paths
}

// BenchmarkTemplate is the fast path on a warm tree: the target is
// 1,000,000 classifications per second per core (< 1 µs each).
func BenchmarkTemplate(b *testing.B) {
	l, paths := warm(b, 50000)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = l.AppendTemplate(buf[:0], "api.example.com", paths[i%len(paths)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "paths/s")
}

// BenchmarkTemplateResult is Template with its Params (allocates).
func BenchmarkTemplateResult(b *testing.B) {
	l, paths := warm(b, 50000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = l.Template("api.example.com", paths[i%len(paths)])
	}
}

// BenchmarkObserve records paths into a warm tree.
func BenchmarkObserve(b *testing.B) {
	l, _ := warm(b, 50000)
	paths := newSynth(2).paths(50000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Observe("api.example.com", paths[i%len(paths)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "paths/s")
}

// BenchmarkLearnGitHub learns the generated GitHub traffic from scratch
// (the corpus spec; skipped without it): Observe while the tree grows and
// positions flip, the expensive phase.
func BenchmarkLearnGitHub(b *testing.B) {
	s := loadSpec(b, testutil.Corpus(b), "github-api.github.com-2022-07-18.json")
	reqs := traffic(s, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, _ := New(DefaultConfig())
		for _, r := range reqs {
			l.Observe("h", r.path)
		}
	}
	b.ReportMetric(float64(b.N*len(reqs))/b.Elapsed().Seconds(), "paths/s")
}

// BenchmarkTemplateGitHub templates the generated GitHub traffic on the
// tree learned from it (the corpus spec; skipped without it).
func BenchmarkTemplateGitHub(b *testing.B) {
	s := loadSpec(b, testutil.Corpus(b), "github-api.github.com-2022-07-18.json")
	reqs := traffic(s, 1)
	l := learn(b, reqs)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = l.AppendTemplate(buf[:0], "h", reqs[i%len(reqs)].path)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "paths/s")
}
