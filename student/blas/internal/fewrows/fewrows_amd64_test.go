//go:build amd64 && !purego

package fewrows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Gemm against a float64 reference: every row count up to blas.FewRows and
// one past it (tail groups of 1–3 rows), column counts with tails of 1 and 2
// weight rows, k with and without a remainder past the multiple of 8,
// leading dimensions wider than the product, both with and without
// accumulation. Elements outside C's m×n must stay as they were.
func TestGemmAgainstFloat64(t *testing.T) {
	if !Available {
		t.Fatal("the CPU lacks AVX2/FMA: the kernel cannot run here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for m := 1; m <= 33; m++ {
		t.Run(fmt.Sprintf("m%d", m), func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 4, 5, 7, 9, 64} {
				for _, k := range []int{1, 7, 8, 9, 16, 23, 24, 40, 77, 256} {
					for _, acc := range []bool{false, true} {
						checkGemm(t, rnd, m, n, k, acc)
					}
				}
			}
		})
	}
}

// checkGemm runs Gemm on one random shape (with padded leading dimensions)
// and compares every element of C with the float64 product.
func checkGemm(t *testing.T, rnd func(int) []float32, m, n, k int, acc bool) {
	t.Helper()
	lda, ldb, ldc := k+3, k+5, n+2
	a, b := rnd(m*lda), rnd(n*ldb)
	c0 := rnd(m * ldc)
	c := append([]float32(nil), c0...)
	Gemm(m, n, k, a, lda, b, ldb, c, ldc, acc)
	for i := range m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= n {
				if got != c0[i*ldc+j] {
					t.Fatalf("n %d k %d acc %v: C[%d,%d] outside the product changed: %g, was %g", n, k, acc, i, j, got, c0[i*ldc+j])
				}
				continue
			}
			var want, mag float64
			for p := range k {
				pr := float64(a[i*lda+p]) * float64(b[j*ldb+p])
				want += pr
				mag += math.Abs(pr)
			}
			if acc {
				want += float64(c0[i*ldc+j])
				mag += math.Abs(float64(c0[i*ldc+j]))
			}
			// float32 summation of k+1 terms: |error| ≤ (k+1)·u·Σ|terms|
			if tol := float64(k+1) * 0x1p-24 * mag; math.Abs(float64(got)-want) > tol {
				t.Fatalf("n %d k %d acc %v: C[%d,%d] = %g, want %g (tolerance %g)", n, k, acc, i, j, got, want, tol)
			}
		}
	}
}
