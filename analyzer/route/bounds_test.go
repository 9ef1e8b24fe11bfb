package route

import (
	"math/rand"
	"testing"
)

// randomPath is a path-scanning attack: 1–6 random lowercase words, the
// worst case for the tree (no identifier class to pool them at once).
func randomPath(rng *rand.Rand, buf []byte) []byte {
	buf = buf[:0]
	for d := 1 + rng.Intn(6); d > 0; d-- {
		buf = append(buf, '/')
		for n := 3 + rng.Intn(8); n > 0; n-- {
			buf = append(buf, byte('a'+rng.Intn(26)))
		}
	}
	return buf
}

// TestScanBounded: two million random paths on one host stay under a
// fixed node count, and the collapse counters say why.
func TestScanBounded(t *testing.T) {
	n := 2000000
	if testing.Short() {
		n = 200000
	}
	l, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var buf []byte
	maxNodes := 0
	for i := 0; i < n; i++ {
		buf = randomPath(rng, buf)
		l.Observe("victim.example.com", string(buf))
		if i%100000 == 0 {
			if s := l.Stats(); s.Nodes > maxNodes {
				maxNodes = s.Nodes
			}
		}
	}
	s := l.Stats()
	t.Logf("%d random paths: %+v (peak %d nodes)", n, s, maxNodes)
	// 6 levels: each collapses at MaxChildren (1000) values; a collapsed
	// position keeps its values' hits but only the top values' subtrees.
	const bound = 20000
	if s.Nodes > bound || maxNodes > bound {
		t.Errorf("nodes %d (peak %d) > %d", s.Nodes, maxNodes, bound)
	}
	if s.Collapses == 0 || s.Untracked < uint64(n/2) {
		t.Errorf("collapses %d, untracked %d: the flood was not absorbed by collapsing", s.Collapses, s.Untracked)
	}
	var out []byte
	out = l.AppendTemplate(out, "victim.example.com", "/abc/def/ghi")
	if string(out) != "/{id}/{id2}/{id3}" {
		t.Errorf("after the flood /abc/def/ghi templates as %s", out)
	}
}
