package route

import (
	"math/rand"
	"sort"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

// TestOrderIndependence learns the same traffic in two orders and wants
// the same template for every path: classification is a function of the
// accumulated statistics, not of the arrival order.
func TestOrderIndependence(t *testing.T) {
	dir := testutil.Corpus(t)
	for _, f := range specFiles {
		s := loadSpec(t, dir, f)
		reqs := traffic(s, 7)
		// a shuffle, and the worst order for a learner that decided
		// early: sorted, every route's requests in a row
		sorted := append([]request(nil), reqs...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
		a, b := learn(t, shuffled(reqs, 99)), learn(t, sorted)
		diff := 0
		var ba, bb []byte
		for _, r := range reqs {
			ba = a.AppendTemplate(ba[:0], "h", r.path)
			bb = b.AppendTemplate(bb[:0], "h", r.path)
			if string(ba) != string(bb) {
				if diff++; diff <= 5 {
					t.Errorf("%s: %s: %s in one order, %s in the other", f, r.path, ba, bb)
				}
			}
		}
		if sa, sb := a.Stats(), b.Stats(); sa.Nodes != sb.Nodes {
			t.Errorf("%s: %d nodes in one order, %d in the other", f, sa.Nodes, sb.Nodes)
		}
		if diff > 0 {
			t.Errorf("%s: %d of %d paths templated differently", f, diff, len(reqs))
		}
	}
}

func learn(t testing.TB, reqs []request) *Learner {
	l, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		l.Observe("h", r.path)
	}
	return l
}

func shuffled(reqs []request, seed int64) []request {
	out := append([]request(nil), reqs...)
	rand.New(rand.NewSource(seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
