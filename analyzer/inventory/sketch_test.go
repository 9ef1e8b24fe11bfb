package inventory

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

func TestDistinctExactThenApprox(t *testing.T) {
	var d distinct
	for i := range 50 {
		d.add(fmt.Sprint("10.0.0.", i))
		d.add(fmt.Sprint("10.0.0.", i)) // repeats do not count
	}
	if d.count() != 50 || d.Regs != nil {
		t.Fatalf("count %d, exact %v", d.count(), d.Regs == nil)
	}
	for _, n := range []int{1000, 20000} {
		var d distinct
		for i := range n {
			d.add(fmt.Sprint("client-", i))
		}
		if got := float64(d.count()); math.Abs(got-float64(n))/float64(n) > 0.15 {
			t.Fatalf("estimate %v for %d distinct", got, n)
		}
	}
}

// Merging is order-free and a stored state merges like the live one.
func TestDistinctMerge(t *testing.T) {
	var a, b, all distinct
	for i := range 3000 {
		v := fmt.Sprint("c", i)
		all.add(v)
		if i%3 == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	blob, _ := json.Marshal(&b)
	var b2 distinct
	if err := json.Unmarshal(blob, &b2); err != nil {
		t.Fatal(err)
	}
	var ab, ba distinct
	ab.merge(&a)
	ab.merge(&b2)
	ba.merge(&b)
	ba.merge(&a)
	if ab.count() != ba.count() || ab.count() != all.count() {
		t.Fatalf("merges %d %d, direct %d", ab.count(), ba.count(), all.count())
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for v := uint64(1); v <= 10000; v++ {
		h.add(v)
	}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		want := q * 10000
		if got := float64(h.quantile(q)); got > want || got < want*0.87 {
			t.Errorf("q%.2f = %v, want within 13%% below %v", q, got, want)
		}
	}
	var h2 hist
	blob, _ := json.Marshal(&h)
	if err := json.Unmarshal(blob, &h2); err != nil || h2 != h {
		t.Fatalf("round trip: %v", err)
	}
	h2.merge(&h)
	if h2.n != 20000 || h2.quantile(0.5) != h.quantile(0.5) {
		t.Fatalf("merge: n %d", h2.n)
	}
}
