//go:build !amd64 || purego

package blas

// No kernel off amd64 (or with -tags purego): Gemm.
func gemmBTFew(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	Gemm(false, true, m, n, k, 1, a, lda, b, ldb, beta(acc), c, ldc)
}
