package inventory

import (
	"encoding/json"
	"math"
	"math/bits"
	"slices"
)

// distinct counts distinct values (clients of an endpoint): exactly up to
// exactMax values, then with a 256-register HyperLogLog (±6.5 %), so an
// endpoint costs at most 256 bytes however many clients call it. Values are
// hashed with a fixed seed, so two analyzers (and a restart from a stored
// state) merge the same registers.
type distinct struct {
	Exact []uint64 `json:"e,omitempty"` // hashes, sorted; nil once Regs is in use
	Regs  []uint8  `json:"r,omitempty"` // HyperLogLog registers, len 256 when in use
}

const (
	exactMax = 64
	hllP     = 8
	hllM     = 1 << hllP
)

// hashString hashes with a fixed key: stored states must agree across
// processes, which maphash's random seed would not give. FNV-1a 64 then a
// murmur finaliser spreads the bits well enough for the registers.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (d *distinct) add(s string) { d.addHash(hashString(s)) }

func (d *distinct) addHash(h uint64) {
	if d.Regs == nil {
		i, found := slices.BinarySearch(d.Exact, h)
		if found {
			return
		}
		if len(d.Exact) < exactMax {
			d.Exact = slices.Insert(d.Exact, i, h)
			return
		}
		d.toHLL()
	}
	d.regAdd(h)
}

func (d *distinct) toHLL() {
	d.Regs = make([]uint8, hllM)
	for _, h := range d.Exact {
		d.regAdd(h)
	}
	d.Exact = nil
}

func (d *distinct) regAdd(h uint64) {
	idx := h >> (64 - hllP)
	rank := uint8(bits.LeadingZeros64(h<<hllP|1<<(hllP-1)) + 1)
	if rank > d.Regs[idx] {
		d.Regs[idx] = rank
	}
}

func (d *distinct) merge(o *distinct) {
	if o.Regs == nil {
		for _, h := range o.Exact {
			d.addHash(h)
		}
		return
	}
	if d.Regs == nil {
		d.toHLL()
	}
	for i, r := range o.Regs {
		d.Regs[i] = max(d.Regs[i], r)
	}
}

func (d *distinct) count() uint64 {
	if d.Regs == nil {
		return uint64(len(d.Exact))
	}
	var sum float64
	zeros := 0
	for _, r := range d.Regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros)) // linear counting for small sets
	}
	return uint64(est + 0.5)
}

// hist is a log-scale histogram (8 buckets per power of two) of a positive
// quantity: latency in microseconds, body sizes in bytes. Quantiles come
// back within ~9 %; it merges by adding buckets and has a fixed size.
type hist struct {
	n       uint64
	buckets [hBuckets]uint32
}

const hBuckets = 8 * 40 // up to 2^40

func hBucket(v uint64) int {
	if v < 8 {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v) // v in [2^e, 2^(e+1))
	frac := int(v>>(e-3)) & 7
	return min((e-2)*8+frac, hBuckets-1)
}

func hLower(b int) uint64 {
	if b < 8 {
		return uint64(b)
	}
	e := b/8 + 2
	return (8 + uint64(b%8)) << (e - 3)
}

func (h *hist) add(v uint64) {
	h.n++
	b := &h.buckets[hBucket(v)]
	if *b < math.MaxUint32 {
		*b++
	}
}

func (h *hist) merge(o *hist) {
	h.n += o.n
	for i, c := range o.buckets {
		h.buckets[i] = uint32(min(uint64(h.buckets[i])+uint64(c), math.MaxUint32))
	}
}

// quantile returns the lower bound of the bucket holding quantile q.
func (h *hist) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	target := uint64(math.Ceil(q * float64(h.n)))
	var acc uint64
	for i, c := range h.buckets {
		acc += uint64(c)
		if acc >= target {
			return hLower(i)
		}
	}
	return hLower(hBuckets - 1)
}

// MarshalJSON writes the non-empty buckets as [index, count] pairs.
func (h *hist) MarshalJSON() ([]byte, error) {
	var pairs [][2]uint32
	for i, c := range h.buckets {
		if c > 0 {
			pairs = append(pairs, [2]uint32{uint32(i), c})
		}
	}
	return json.Marshal(pairs)
}

func (h *hist) UnmarshalJSON(b []byte) error {
	var pairs [][2]uint32
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	*h = hist{}
	for _, p := range pairs {
		if int(p[0]) < hBuckets {
			h.buckets[p[0]] = p[1]
			h.n += uint64(p[1])
		}
	}
	return nil
}
