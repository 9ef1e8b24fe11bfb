package anomaly

import (
	"hash/maphash"
	"math/bits"
)

// set is a bounded set of 64-bit hashes: distinct ids, user names, paths.
// Past its cap it stops growing and counts on saturated (the thresholds
// it feeds are far below the cap).
type set struct {
	m   map[uint64]struct{}
	cap int
}

func (s *set) add(h uint64, cap int) {
	if s.m == nil {
		s.m = make(map[uint64]struct{}, 8)
		s.cap = cap
	}
	if len(s.m) < s.cap {
		s.m[h] = struct{}{}
	}
}

func (s *set) len() int          { return len(s.m) }
func (s *set) reset()            { clear(s.m) }
func (s *set) has(h uint64) bool { _, ok := s.m[h]; return ok }

// hist is a log-bucketed histogram of non-negative values (four buckets
// per power of two, ±12 %): small, mergeable, and enough for a p99
// baseline.
type hist struct {
	n     [260]uint32
	total uint64
}

func bucket(v uint64) int {
	if v < 4 {
		return int(v)
	}
	b := bits.Len64(v) // ≥ 3
	sub := int(v>>(b-3)) & 3
	return 4 + (b-3)*4 + sub
}

func bucketMax(i int) uint64 {
	if i < 4 {
		return uint64(i)
	}
	b := (i-4)/4 + 3
	sub := uint64((i - 4) % 4)
	return (4+sub+1)<<(b-3) - 1
}

func (h *hist) add(v uint64) {
	h.n[min(bucket(v), len(h.n)-1)]++
	h.total++
}

// quantile returns an upper bound of the q-quantile (0 when empty).
func (h *hist) quantile(q float64) uint64 {
	if h.total == 0 {
		return 0
	}
	want := uint64(q * float64(h.total))
	var seen uint64
	for i, c := range h.n {
		seen += uint64(c)
		if seen > want {
			return bucketMax(i)
		}
	}
	return bucketMax(len(h.n) - 1)
}

var seed = maphash.MakeSeed()

func hashString(s string) uint64 { return maphash.String(seed, s) }
