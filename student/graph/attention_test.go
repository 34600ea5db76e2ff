package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnProbsMatchesMaskedSoftmax holds attnProbs' range softmax (rows
// whose segments are contiguous) to the per-key masked softmax, bit for
// bit, over segment layouts that take it and layouts that fall back.
func TestAttnProbsMatchesMaskedSoftmax(t *testing.T) {
	const s, nh, nkv, d, blk = 150, 2, 1, 8, 32
	tests := []struct {
		name string
		seg  func(j int) int32
	}{
		{"one segment", func(int) int32 { return 0 }},
		{"packed by 37", func(j int) int32 { return int32(j / 37) }},
		{"packed by 5 (many runs)", func(j int) int32 { return int32(j / 5) }},
		{"ids reused", func(j int) int32 { return int32(j / 11 % 3) }},
		{"uneven", func(j int) int32 { return int32(min(j/3, 1) + j/70) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 4))
			a := attnDims{1, s, nh, nkv, d, blk}
			q, k := make([]float32, s*nh*d), make([]float32, s*nkv*d)
			for i := range q {
				q[i] = float32(rng.NormFloat64() * 3)
			}
			for i := range k {
				k[i] = float32(rng.NormFloat64() * 3)
			}
			seg := make([]int32, s)
			for j := range seg {
				seg[j] = tt.seg(j)
			}
			got, want := make([]float32, blk*s), make([]float32, blk*s)
			a.blocks(func(i0, i1 int) {
				j0 := keyStart(seg, i0, i1)
				for i := range got {
					got[i], want[i] = float32(math.NaN()), float32(math.NaN())
				}
				attnProbs(a, got, q, k, seg, i0, i1, j0)
				gemm(false, true, i1-i0, i1-j0, d, float32(a.scale()), q[i0*nh*d:], nh*d, k[j0*nkv*d:], nkv*d, 0, want[j0:], s)
				for i := i0; i < i1; i++ {
					maskedSoftmax(want[(i-i0)*s:(i-i0+1)*s], seg, i, j0)
				}
				for i := range (i1 - i0) * s {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("block %d: query %d key %d: %g, masked softmax %g", i0, i0+i/s, i%s, got[i], want[i])
					}
				}
			})
		})
	}
}
