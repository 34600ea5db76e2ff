package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naive(a, b []float32, m, k, n int, ta, tb bool) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				if ta {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if tb {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*n+j] = float32(s)
		}
	}
	return c
}

func TestGemmVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, k, n := 7, 5, 9
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	a, b := rnd(m*k), rnd(k*n)
	check := func(name string, got, want []float32) {
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%s [%s]: element %d = %g, want %g", name, Backend(), i, got[i], want[i])
			}
		}
	}
	c := make([]float32, m*n)
	MatMul(c, a, b, m, k, n, false)
	check("MatMul", c, naive(a, b, m, k, n, false, false))
	bt := rnd(n * k)
	MatMulBT(c, a, bt, m, k, n, false)
	check("MatMulBT", c, naive(a, bt, m, k, n, false, true))
	at := rnd(k * m)
	want := naive(at, b, m, k, n, true, false)
	MatMulAT(c, at, b, m, k, n, true)
	for i := range want {
		want[i] += naive(a, bt, m, k, n, false, true)[i]
	}
	check("MatMulAT accumulate", c, want)
}

// One row goes through gemv: both layouts of B, a leading dimension wider
// than the product, alpha, with and without accumulation, and C's slice
// running on past the row (the rest of a matrix another goroutine fills),
// which must stay as it was.
func TestGemmOneRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k, n, ld := 6, 5, 8
	a, b, c0 := make([]float32, k), make([]float32, ld*ld), make([]float32, n)
	for _, x := range [][]float32{a, b, c0} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	const past = 3
	for _, tc := range []struct {
		transB bool
		beta   float32
	}{{false, 1}, {true, 1}, {false, 0}, {true, 0}} {
		transB := tc.transB
		c := append(append([]float32(nil), c0...), make([]float32, past)...)
		for j := n; j < n+past; j++ {
			c[j] = 7
		}
		Gemm(false, transB, 1, n, k, 0.5, a, k, b, ld, tc.beta, c, n)
		for j := n; j < n+past; j++ {
			if c[j] != 7 {
				t.Fatalf("transB %v, beta %g [%s]: element %d past the row = %g, was 7", transB, tc.beta, Backend(), j, c[j])
			}
		}
		for j := range n {
			var s float64
			for p := range k {
				bv := b[p*ld+j]
				if transB {
					bv = b[j*ld+p]
				}
				s += float64(a[p]) * float64(bv)
			}
			if want := 0.5*s + float64(tc.beta)*float64(c0[j]); math.Abs(float64(c[j])-want) > 1e-5 {
				t.Fatalf("transB %v, beta %g [%s]: element %d = %g, want %g", transB, tc.beta, Backend(), j, c[j], want)
			}
		}
	}
}

// GemmBTFew on every path it routes to: one row (gemv), the kernel's rows
// (Gemm where the CPU has no kernel), more rows than FewRows (sgemm), and
// k == 0, with strides wider than the product and accumulation.
func TestGemmBTFew(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, m := range []int{1, 2, 5, FewRows, FewRows + 1} {
		for _, k := range []int{0, 3, 16, 19} {
			n, lda, ldb, ldc := 7, k+1, k+2, 9
			a, b, c0 := make([]float32, m*lda), make([]float32, n*ldb), make([]float32, m*ldc)
			for _, x := range [][]float32{a, b, c0} {
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
			}
			for _, acc := range []bool{false, true} {
				c := append([]float32(nil), c0...)
				GemmBTFew(m, n, k, a, lda, b, ldb, c, ldc, acc)
				for i := range m {
					for j := range ldc {
						want := float64(c0[i*ldc+j])
						if j < n {
							if !acc {
								want = 0
							}
							for p := range k {
								want += float64(a[i*lda+p]) * float64(b[j*ldb+p])
							}
						}
						if math.Abs(float64(c[i*ldc+j])-want) > 1e-4 {
							t.Fatalf("m=%d k=%d acc=%v [%s]: C[%d,%d] = %g, want %g", m, k, acc, Backend(), i, j, c[i*ldc+j], want)
						}
					}
				}
			}
		}
	}
}
