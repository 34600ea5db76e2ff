package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/distill-dev/distill/student/kernel"
)

// TestParallelShares checks that the shares cover every row of every item
// exactly once, split at most w-1 items, and keep items of equal cost
// whole when there are as many as workers.
func TestParallelShares(t *testing.T) {
	for _, c := range []struct {
		w          int
		rows, cost []int
		whole      bool // every item in one call
	}{
		{2, []int{2048, 512}, []int{512 * 512, 512 * 2048}, true},                   // dX and dW of q
		{2, []int{2048, 2048, 2048}, []int{512 * 512, 512 * 128, 512 * 128}, false}, // q, k, v
		{2, []int{2048, 2048}, []int{512 * 1536, 512 * 1536}, true},                 // gate and up
		{3, []int{2048, 1536}, []int{512 * 1536, 512 * 2048}, false},
		{4, []int{7, 1000, 3}, []int{1 << 20, 1 << 10, 1 << 16}, false},
		{2, []int{5}, []int{1 << 20}, false},
		{2, []int{3}, []int{4}, true}, // too small: on the caller
		{2, []int{0, 4096}, []int{0, 1 << 10}, false},
	} {
		t.Run(fmt.Sprint(c.w, c.rows, c.cost), func(t *testing.T) {
			var mu sync.Mutex
			calls := make([][][2]int, len(c.rows))
			parallelShares(c.w, c.rows, c.cost, func(i, lo, hi int) {
				mu.Lock()
				defer mu.Unlock()
				calls[i] = append(calls[i], [2]int{lo, hi})
			})
			split := 0
			for i, cs := range calls {
				slices.SortFunc(cs, func(a, b [2]int) int { return a[0] - b[0] })
				next := 0
				for _, r := range cs {
					if r[0] != next || r[1] <= r[0] {
						t.Fatalf("item %d: ranges %v do not tile [0,%d)", i, cs, c.rows[i])
					}
					next = r[1]
				}
				if next != c.rows[i] {
					t.Fatalf("item %d: ranges %v do not tile [0,%d)", i, cs, c.rows[i])
				}
				if len(cs) > 1 {
					split++
				}
			}
			if split > c.w-1 || (c.whole && split > 0) {
				t.Fatalf("%d items split over %d workers: %v", split, c.w, calls)
			}
		})
	}
}

// TestGemmsMatchesSequential runs one and two products (transposed or not,
// accumulating or not) shared over 1–4 workers against each product alone
// on one thread.
func TestGemmsMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(transA, transB bool, m, n, k int, beta float64) product[float64] {
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		return product[float64]{transA, transB, m, n, k, 0.5, randSlice(rng, m*k, 1), lda, randSlice(rng, k*n, 1), ldb, beta, randSlice(rng, m*n, 1), n}
	}
	for _, ps := range [][]product[float64]{
		{mk(false, false, 160, 48, 64, 1), mk(true, false, 64, 48, 160, 1)}, // a linear layer's dX and dW
		{mk(false, true, 130, 70, 33, 0)},
		{mk(false, false, 7, 300, 200, 1), mk(true, true, 50, 9, 64, 0)},
		{mk(false, false, 3, 3, 3, 0)},
	} {
		want := make([][]float64, len(ps))
		for i, p := range ps {
			want[i] = slices.Clone(p.c)
			gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want[i], p.ldc)
		}
		for w := 1; w <= 4; w++ {
			got := make([]product[float64], len(ps))
			for i, p := range ps {
				got[i] = p
				got[i].c = slices.Clone(p.c)
			}
			gemms(w, got...)
			for i := range got {
				for j, v := range got[i].c {
					if math.Abs(v-want[i][j]) > 1e-12*math.Max(1, math.Abs(want[i][j])) {
						t.Fatalf("%d workers, product %d (%d×%d×%d): C[%d] = %g, want %g", w, i, ps[i].m, ps[i].n, ps[i].k, j, v, want[i][j])
					}
				}
			}
		}
	}
}

// TestLinearsForwardMatchesSequential runs groups of linear layers of one
// input (as q, k and v) over 1–4 workers against kernel.Linear on one
// thread.
func TestLinearsForwardMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, in = 70, 48
	x := randSlice(rng, n*in, 1)
	mk := func(out int, bias bool) linearCall[float64] {
		c := linearCall[float64]{y: make([]float64, n*out), x: x, w: randSlice(rng, out*in, 1), n: n, in: in, out: out}
		if bias {
			c.b = randSlice(rng, out, 1)
		}
		return c
	}
	for _, cs := range [][]linearCall[float64]{
		{mk(64, true), mk(16, true), mk(16, true)},
		{mk(120, false), mk(120, false)},
		{mk(33, true)},
	} {
		want := make([][]float64, len(cs))
		for i, c := range cs {
			want[i] = make([]float64, len(c.y))
			kernel.Linear(func(y, x, w []float64, n, in, out int) {
				gemm(false, true, n, out, in, 1, x, in, w, in, 0, y, out)
			}, want[i], c.x, c.w, c.b, n, in, c.out)
		}
		for w := 1; w <= 4; w++ {
			for i := range cs {
				clear(cs[i].y)
			}
			linearsForward(w, cs...)
			for i, c := range cs {
				for j, v := range c.y {
					if math.Abs(v-want[i][j]) > 1e-12*math.Max(1, math.Abs(want[i][j])) {
						t.Fatalf("%d workers, layer %d of %d: y[%d] = %g, want %g", w, i, len(cs), j, v, want[i][j])
					}
				}
			}
		}
	}
}

// TestParallelClear clears slices of assorted lengths, some empty and
// some over one 64Ki unit, in one call.
func TestParallelClear(t *testing.T) {
	var xs [][]float32
	for _, n := range []int{0, 1, 1 << 16, 1<<16 + 1, 3<<16 - 5, 17, 0, 200000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		xs = append(xs, x)
	}
	parallelClear(xs)
	for i, x := range xs {
		if j := slices.IndexFunc(x, func(v float32) bool { return v != 0 }); j >= 0 {
			t.Fatalf("slice %d (length %d): element %d not cleared", i, len(x), j)
		}
	}
}
