package walk

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestSpecial8: the word test of scanString finds the first byte strTbl
// marks, at every position, for every byte value, among plain bytes and
// other special ones.
func TestSpecial8(t *testing.T) {
	var buf [8]byte
	r := rand.New(rand.NewPCG(3, 4))
	for c := range 256 {
		for pos := range 8 {
			for range 20 {
				for i := range buf {
					buf[i] = byte(0x20 + r.IntN(0x60)) // printable ASCII, '"' and '\\' among them
					if r.IntN(8) == 0 {
						buf[i] = byte(r.IntN(256))
					}
				}
				buf[pos] = byte(c)
				first := 8
				for i, b := range buf {
					if strTbl[b] {
						first = i
						break
					}
				}
				got := 8
				if m := special8(binary.LittleEndian.Uint64(buf[:])); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != first {
					t.Fatalf("%q: special8 finds byte %d, want %d", buf, got, first)
				}
			}
		}
	}
}
