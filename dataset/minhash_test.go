package dataset

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// BandKeys must agree with the plain definition: per permutation the least
// a*x+b over the shingles, hashed band by band; also for texts it saw
// recently (remembered) or long ago (computed again), after other keys in
// dst.
func TestBandKeysMatchDefinition(t *testing.T) {
	texts := []int{0, 1, 0, 2, 2, 1, 3, 4, 5, 6, 7, 0, 8, 8, 9, 10, 11, 12, 13, 1, 14, 15, 16, 17, 18, 19, 19}
	for _, numPerm := range []int{2, 7, 64, 130} {
		m := NewMinHasher(numPerm, 3, 0.8)
		for _, k := range texts {
			text := fmt.Sprintf("step %d: %d + %d = %d, so the answer is %d", k, k*7, k*k, k*7+k*k, k%5)
			got := m.BandKeys([]uint64{1}, text, "\\boxed{42}")
			if got[0] != 1 {
				t.Fatalf("num_perm %d, text %d: dst's first key overwritten", numPerm, k)
			}
			got = got[1:]
			shings := ngramHashes(nil, wordHashes(wordHashes(nil, text), "\\boxed{42}"), 3)
			n := m.bands * m.rows
			sig := make([]uint64, n)
			for i := range sig {
				sig[i] = math.MaxUint64
				for _, x := range shings {
					sig[i] = min(sig[i], m.a[i]*x+m.b[i])
				}
			}
			var want []uint64
			for band := 0; band < m.bands; band++ {
				h := uint64(band+1) * 0xd6e8feb86659fd93
				for _, v := range sig[band*m.rows : (band+1)*m.rows] {
					h = mix64(h ^ v)
				}
				want = append(want, h)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("num_perm %d, text %d: got %x, want %x", numPerm, k, got, want)
			}
		}
	}
}
