//go:build amd64 && !purego

package blas

import "github.com/distill-dev/distill/student/blas/internal/fewrows"

func gemmBTFew(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if !fewrows.Available {
		Gemm(false, true, m, n, k, 1, a, lda, b, ldb, beta(acc), c, ldc)
		return
	}
	fewrows.Gemm(m, n, k, a, lda, b, ldb, c, ldc, acc)
}
