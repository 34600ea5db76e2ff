package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
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

// TestAttentionMatchesReference holds the float32 kernels (query blocks,
// kept or recomputed probabilities, two workers) to causal segment-masked
// attention in float64 straight from its definition, forward and backward,
// over head groups of 1 to 4 and blocks that do and do not divide the
// sequence.
func TestAttentionMatchesReference(t *testing.T) {
	tests := []struct {
		name   string
		a      attnDims
		segLen int
	}{
		{"group 4, packed", attnDims{2, 150, 8, 2, 16, 64}, 37},
		{"group 4, one segment", attnDims{1, 130, 4, 1, 8, 64}, 130},
		{"group 2, small blocks", attnDims{2, 70, 4, 2, 8, 16}, 70},
		{"group 1 (MHA)", attnDims{2, 33, 3, 3, 4, 8}, 5},
		{"group 3, block past the row", attnDims{1, 40, 6, 2, 8, 64}, 13},
	}
	for _, tt := range tests {
		for _, keep := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keep=%v", tt.name, keep), func(t *testing.T) {
				a := tt.a
				rng := rand.New(rand.NewPCG(5, uint64(a.s)))
				n := a.b * a.s
				q64, k64, v64, do64 := randSlice(rng, n*a.nh*a.d, 1), randSlice(rng, n*a.nkv*a.d, 1), randSlice(rng, n*a.nkv*a.d, 1), randSlice(rng, n*a.nh*a.d, 1)
				seg := make([]int32, n)
				for i := range seg {
					seg[i] = int32(i / tt.segLen)
				}
				out, dq, dk, dv := refAttention(q64, k64, v64, do64, seg, a)
				f32 := func(x []float64) []float32 {
					y := make([]float32, len(x))
					for i, v := range x {
						y[i] = float32(v)
					}
					return y
				}
				var p []float32
				if keep {
					p = make([]float32, a.b*a.nh*a.s*a.s)
				}
				scratch := [][]float32{make([]float32, a.scratchLen()), make([]float32, a.scratchLen())}
				q, k, v, dout := f32(q64), f32(k64), f32(v64), f32(do64)
				gotOut := make([]float32, len(q))
				attentionForward(gotOut, p, q, k, v, seg, a, scratch)
				gdq, gdk, gdv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
				attentionBackward(gdq, gdk, gdv, dout, p, q, k, v, seg, a, scratch)
				for _, c := range []struct {
					name string
					got  []float32
					want []float64
				}{{"out", gotOut, out}, {"dq", gdq, dq}, {"dk", gdk, dk}, {"dv", gdv, dv}} {
					for i, w := range c.want {
						if d := math.Abs(float64(c.got[i]) - w); d > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("%s[%d]: %g, float64 reference %g", c.name, i, c.got[i], w)
						}
					}
				}
			})
		}
	}
}

// refAttention is attentionForward and attentionBackward in float64 by the
// definition, one query and head at a time: out, and the gradients of
// Σ out⊙dout.
func refAttention(q, k, v, dout []float64, seg []int32, a attnDims) (out, dq, dk, dv []float64) {
	out, dq, dk, dv = make([]float64, len(q)), make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
	ldq, ldk, group := a.nh*a.d, a.nkv*a.d, a.nh/a.nkv
	vec := func(x []float64, ld, tok, head int) []float64 { return x[tok*ld+head*a.d : tok*ld+(head+1)*a.d] }
	for b := range a.b {
		for h := range a.nh {
			g := h / group
			for i := range a.s {
				ti := b*a.s + i
				p := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := range p {
					p[j] = math.Inf(-1)
					if seg[b*a.s+j] == seg[ti] {
						p[j] = a.scale() * floats.Dot(vec(q, ldq, ti, h), vec(k, ldk, b*a.s+j, g))
					}
					mx = max(mx, p[j])
				}
				var sum float64
				for j := range p {
					p[j] = math.Exp(p[j] - mx)
					sum += p[j]
				}
				floats.Scale(1/sum, p)
				dp := make([]float64, len(p))
				for j, pj := range p {
					tj := b*a.s + j
					floats.AddScaled(vec(out, ldq, ti, h), pj, vec(v, ldk, tj, g))
					dp[j] = floats.Dot(vec(dout, ldq, ti, h), vec(v, ldk, tj, g))
					floats.AddScaled(vec(dv, ldk, tj, g), pj, vec(dout, ldq, ti, h))
				}
				c := floats.Dot(p, dp)
				for j, pj := range p {
					tj := b*a.s + j
					ds := a.scale() * pj * (dp[j] - c)
					floats.AddScaled(vec(dq, ldq, ti, h), ds, vec(k, ldk, tj, g))
					floats.AddScaled(vec(dk, ldk, tj, g), ds, vec(q, ldq, ti, h))
				}
			}
		}
	}
	return out, dq, dk, dv
}
