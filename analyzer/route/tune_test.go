package route

// Tuning aids, skipped unless their environment is set:
//
//	ROUTE_SEEDS=8 go test ./analyzer/route -run TestTuneSeeds -v      F1 per spec over 8 traffic samples
//	ROUTE_ERRORS=/tmp/dir (with the above or TestAccuracy)            write each sample's errors there
//	ROUTE_SPEC=kubernetes-v1.36-swagger.json ROUTE_NODE=/api/v1/namespaces/{} \
//	  go test ./analyzer/route -run TestTuneNode -v                   one position's statistics ({} follows the overlay)

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// TestTuneNode prints the statistics of the node at ROUTE_NODE in the
// spec ROUTE_SPEC (tuning aid; skipped without them).
func TestTuneNode(t *testing.T) {
	spec, at := os.Getenv("ROUTE_SPEC"), os.Getenv("ROUTE_NODE")
	if spec == "" || at == "" {
		t.Skip("ROUTE_SPEC and ROUTE_NODE unset")
	}
	s := loadSpec(t, testutil.Corpus(t), spec)
	l, _ := New(DefaultConfig())
	seed := int64(1)
	fmt.Sscan(os.Getenv("ROUTE_SEED"), &seed)
	for _, r := range traffic(s, seed) {
		l.Observe("h", r.path)
	}
	n := l.hosts["h"].root
	for _, seg := range strings.Split(strings.Trim(at, "/"), "/") {
		if seg == "" {
			break
		}
		if seg == "{}" {
			if n.param != nil {
				n = n.param
			} else {
				n = n.class
			}
		} else {
			n = n.words[seg]
		}
		if n == nil {
			t.Fatalf("no node at %s", seg)
		}
	}
	fmt.Printf("hits %d d %d n1 %d cg %d top %d |gc| %d wordHits %d why %d param %v full %v\n", n.hits, n.d, n.n1, n.cg, n.topDF, len(n.gc), n.wordHits, n.why, n.param != nil, n.full)
	var kids []string
	for k, c := range n.words {
		kids = append(kids, fmt.Sprintf("%s:%d(d%d,p%v)", k, c.hits, c.d, c.param != nil))
	}
	sort.Strings(kids)
	fmt.Println(strings.Join(kids, " "))
	var gcs []string
	for k, v := range n.gc {
		gcs = append(gcs, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(gcs)
	fmt.Println("gc:", strings.Join(gcs, " "))
}

// TestTuneSeeds prints F1 per spec over ROUTE_SEEDS seeds (tuning aid).
func TestTuneSeeds(t *testing.T) {
	n := 0
	fmt.Sscan(os.Getenv("ROUTE_SEEDS"), &n)
	if n == 0 {
		t.Skip("ROUTE_SEEDS unset")
	}
	dir := testutil.Corpus(t)
	for _, f := range specFiles {
		s := loadSpec(t, dir, f)
		var sum, min float64 = 0, 1
		var line []string
		for seed := 1; seed <= n; seed++ {
			a := measure(t, s, int64(seed))
			if dir := os.Getenv("ROUTE_ERRORS"); dir != "" {
				os.WriteFile(fmt.Sprintf("%s/%s.%d.txt", dir, f, seed), []byte(strings.Join(append(a.fps, a.fns...), "\n")), 0o644)
			}
			sum += a.f1
			if a.f1 < min {
				min = a.f1
			}
			line = append(line, fmt.Sprintf("%.3f", a.f1))
		}
		fmt.Printf("%-40s mean %.3f min %.3f  %s\n", f, sum/float64(n), min, strings.Join(line, " "))
	}
}
