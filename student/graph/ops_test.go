package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSlice(rng *rand.Rand, n int, std float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * std
	}
	return x
}

// checkGrad compares the backward pass of impl with central finite
// differences of L = Σ r·out, in float64, for every input element.
func checkGrad(t *testing.T, impl kernelImpl[float64], ins [][]float64, outLen int, tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]float64, outLen)
	impl.fwd(ins, out)
	r := randSlice(rng, outLen, 1)
	dIns := make([][]float64, len(ins))
	for i, x := range ins {
		dIns[i] = make([]float64, len(x))
	}
	impl.bwd(ins, dIns, out, r)
	loss := func() float64 {
		impl.fwd(ins, out)
		var s float64
		for i, o := range out {
			s += r[i] * o
		}
		return s
	}
	const eps = 1e-6
	var worst float64
	for i, x := range ins {
		for j := range x {
			x0 := x[j]
			x[j] = x0 + eps
			lp := loss()
			x[j] = x0 - eps
			lm := loss()
			x[j] = x0
			num := (lp - lm) / (2 * eps)
			err := math.Abs(num-dIns[i][j]) / math.Max(1, math.Abs(num))
			worst = max(worst, err)
			if err > tol {
				t.Fatalf("%s: input %d element %d: backward %.9g, finite difference %.9g", impl.name(), i, j, dIns[i][j], num)
			}
		}
	}
	t.Logf("%s: worst relative error %.2g", impl.name(), worst)
}

func TestOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, h = 6, 8
	// two rows of 3 tokens, the second row packing two segments
	pos := []int32{0, 1, 2, 0, 0, 1}
	seg := []int32{0, 0, 0, 3, 4, 4}
	tokens := []int32{3, 1, 3, 0, 4, 2}
	targets := []int32{1, -1, 4, 2, 0, 3}
	rows := []int32{0, 2, 3, 4, 5}
	cos, sin := make([]float64, 3*2), make([]float64, 3*2)
	for p := range 3 {
		for i := range 2 {
			a := float64(p) * math.Pow(100, -float64(i)/2)
			cos[p*2+i], sin[p*2+i] = math.Cos(a), math.Sin(a)
		}
	}
	ad := attnDims{b: 2, s: 3, nh: 4, nkv: 2, d: 4, blk: 2}
	scratch := [][]float64{make([]float64, ad.scratchLen()), make([]float64, ad.scratchLen())}
	cases := []struct {
		impl   kernelImpl[float64]
		ins    []int
		outLen int
	}{
		{&rmsnormOp[float64]{n: n, h: h, eps: 1e-6, rstd: make([]float64, n)}, []int{n * h, h}, n * h},
		{&linearOp[float64]{n: n, in: h, out: 5}, []int{n * h, 5 * h}, n * 5},
		{&linearOp[float64]{n: n, in: h, out: 5}, []int{n * h, 5 * h, 5}, n * 5},
		{&ropeOp[float64]{heads: 2, d: 4, cos: cos, sin: sin, pos: &pos}, []int{n * 8}, n * 8},
		{&attentionOp[float64]{dims: ad, seg: &seg, p: make([]float64, 2*4*9), scratch: scratch}, []int{n * 16, n * 8, n * 8}, n * 16},
		{&attentionOp[float64]{dims: ad, seg: &seg, scratch: scratch}, []int{n * 16, n * 8, n * 8}, n * 16}, // probabilities recomputed
		{&swigluOp[float64]{sig: make([]float64, n*h), workers: 2}, []int{n * h, n * h}, n * h},
		{&addOp[float64]{}, []int{n * h, n * h}, n * h},
		{&embedOp[float64]{tokens: &tokens, h: h}, []int{5 * h}, n * h},
		{lossOpWith(&targets, &rows, h, 5, n), []int{n * h, 5 * h}, n},
		{lossOpWith(&targets, &rows, h, 5, 2), []int{n * h, 5 * h}, n}, // in chunks of 2 rows, recomputed in backward
	}
	for _, c := range cases {
		t.Run(c.impl.name(), func(t *testing.T) {
			ins := make([][]float64, len(c.ins))
			for i, l := range c.ins {
				ins[i] = randSlice(rng, l, 1)
			}
			checkGrad(t, c.impl, ins, c.outLen, 1e-6)
		})
	}
}

// lossOpWith is the LM head op at temperature 1.25 over the given targets,
// in chunks of chunk rows.
func lossOpWith(targets, rows *[]int32, h, vocab, chunk int) *lossOp[float64] {
	o := newLossOp[float64](len(*targets), h, vocab, 2, targets, rows)
	o.invTemp, o.chunk = 0.8, chunk
	o.probs, o.hc, o.dhc = make([]float64, chunk*vocab), make([]float64, chunk*h), make([]float64, chunk*h)
	return o
}

// TestOverwritingBackward checks the ops that overwrite their inputs'
// gradients (the sole consumer of a shared value, see sole): from
// gradient buffers full of NaN they give the gradients the adding op gives
// from zeroed ones.
func TestOverwritingBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	const n, h, out = 40, 24, 20
	for _, c := range []struct {
		adding, setting kernelImpl[float64]
		ins             []int
		set             []bool // which inputs' gradients are overwritten
		outLen          int
	}{
		{&linearOp[float64]{n: n, in: h, out: out}, &linearOp[float64]{n: n, in: h, out: out, setsDX: true},
			[]int{n * h, out * h, out}, []bool{true, false, false}, n * out},
		{&swigluOp[float64]{sig: make([]float64, n*h), workers: 2}, &swigluOp[float64]{sig: make([]float64, n*h), workers: 2, sets: true},
			[]int{n * h, n * h}, []bool{true, true}, n * h},
	} {
		t.Run(c.adding.name(), func(t *testing.T) {
			ins := make([][]float64, len(c.ins))
			for i, l := range c.ins {
				ins[i] = randSlice(rng, l, 1)
			}
			dOut := randSlice(rng, c.outLen, 1)
			grads := func(impl kernelImpl[float64], fill float64) [][]float64 {
				d := make([][]float64, len(ins))
				for i, x := range ins {
					d[i] = make([]float64, len(x))
					if c.set[i] {
						for j := range d[i] {
							d[i][j] = fill
						}
					}
				}
				o := make([]float64, c.outLen)
				impl.fwd(ins, o)
				impl.bwd(ins, d, o, dOut)
				return d
			}
			want, got := grads(c.adding, 0), grads(c.setting, math.NaN())
			for i := range want {
				if !slices.Equal(want[i], got[i]) {
					t.Fatalf("input %d: gradient %v, want %v", i, got[i][:4], want[i][:4])
				}
			}
		})
	}
}
