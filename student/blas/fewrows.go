package blas

// FewRows is the most rows of A that GemmBTFew's kernel takes: a linear
// layer of a decode step of up to FewRows sequences.
const FewRows = 32

// GemmBTFew computes C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when acc) on row-major
// matrices with leading dimensions lda, ldb, ldc: a linear layer with HF's
// [out, in] weight layout, for inference. Up to FewRows rows of A on amd64
// with AVX2 and FMA, an assembly kernel takes the dot products straight off
// B's rows, three at a time against four rows of A, reading B once per call;
// OpenBLAS 0.3.21's sgemm packs all of B on every call, which at these
// sizes costs about as much as the product. One row (gemv, faster than the
// kernel), more rows and other CPUs go to Gemm.
// The kernel sums in a different order than BLAS (and with FMA), so
// results differ from Gemm's by rounding.
func GemmBTFew(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if m < 2 || m > FewRows || k == 0 {
		Gemm(false, true, m, n, k, 1, a, lda, b, ldb, beta(acc), c, ldc)
		return
	}
	gemmBTFew(m, n, k, a, lda, b, ldb, c, ldc, acc)
}
