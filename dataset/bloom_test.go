package dataset

import (
	"math"
	"testing"
)

// blockedFPR is the false-positive rate of a blocked Bloom filter with
// `keys` keys over `blocks` blocks of 512 bits and bloomProbes bits per key:
// the number of keys in the looked-up block is Poisson.
func blockedFPR(keys, blocks float64) float64 {
	lambda := keys / blocks
	p, sum := math.Exp(-lambda), 0.0
	for n := 0; n < 400; n++ {
		if n > 0 {
			p *= lambda / float64(n)
		}
		fill := 1 - math.Pow(1-1.0/512, float64(bloomProbes*n))
		sum += p * math.Pow(fill, bloomProbes)
	}
	return sum
}

func TestBloom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes int
		keys  int
	}{
		{"light", 1 << 20, 50_000},
		{"designed load", 1 << 20, 130_000}, // 8 million keys in 64 MB, scaled
		{"overfull", 1 << 18, 200_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBloom(tc.bytes)
			defer b.release()
			if len(b.bits)*8 > tc.bytes {
				t.Fatalf("%d bytes of bits, over the %d asked for", len(b.bits)*8, tc.bytes)
			}
			for i := range tc.keys {
				b.add(mix64(uint64(i)))
			}
			for i := range tc.keys {
				if k := mix64(uint64(i)); !b.has(k) || !b.hasShared(k) {
					t.Fatalf("key %d added but not found", i)
				}
			}
			const lookups = 2_000_000
			fp := 0
			for i := range lookups {
				if b.has(mix64(uint64(tc.keys + i))) {
					fp++
				}
			}
			got := float64(fp) / lookups
			want := blockedFPR(float64(tc.keys), float64(len(b.bits)/bloomBlockWords))
			// Binomial noise: within 4 standard deviations, plus a floor.
			if tol := 4*math.Sqrt(want/lookups) + 2.0/lookups; math.Abs(got-want) > tol {
				t.Errorf("false positives %.3g of lookups, want %.3g ± %.2g", got, want, tol)
			}
		})
	}
}
