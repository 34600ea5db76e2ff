package blas

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLinear times a linear layer C[m,n] = A[m,k]·B[n,k]ᵀ at the
// qwen-tiny decode shapes (q/o, k/v, gate/up, down, the LM head), single
// goroutine: GemmBTFew ("few") against Gemm ("gemm", OpenBLAS with -tags
// openblas), in the same run.
func BenchmarkLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ k, n int }{{256, 256}, {256, 64}, {256, 768}, {768, 256}, {256, 8192}} {
		for _, m := range []int{1, 2, 4, 16, 32} {
			a, w, c := make([]float32, m*s.k), make([]float32, s.n*s.k), make([]float32, m*s.n)
			for _, x := range [][]float32{a, w} {
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
			}
			for _, impl := range []struct {
				name string
				f    func()
			}{
				{"few", func() { GemmBTFew(m, s.n, s.k, a, s.k, w, s.k, c, s.n, false) }},
				{"gemm", func() { Gemm(false, true, m, s.n, s.k, 1, a, s.k, w, s.k, 0, c, s.n) }},
			} {
				b.Run(fmt.Sprintf("k%d_n%d_m%d_%s", s.k, s.n, m, impl.name), func(b *testing.B) {
					for b.Loop() {
						impl.f()
					}
					b.ReportMetric(float64(2*m*s.k*s.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
