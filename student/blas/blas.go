// Package blas is the matrix-product backend of the student: OpenBLAS through
// cgo when built with -tags openblas (Debian libopenblas-dev), gonum's pure Go
// BLAS otherwise, so users without OpenBLAS still get a working build.
//
// Linear layers of a few rows (GemmBTFew) have an AVX2/FMA assembly kernel
// of their own in internal/fewrows.
//
// Of ours it may import only `student/blas/internal/fewrows`.
package blas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var (
	impl    blas.Float32Level3 = gonum.Implementation{}
	backend                    = "gonum (pure Go)"
	vec     blas.Float32Level1 = gonum.Implementation{}
	mv      blas.Float32Level2 = gonum.Implementation{}
)

// Backend names the implementation in use.
func Backend() string { return backend }

// Impl is the level-3 implementation, for code (gorgonia) that takes one.
func Impl() blas.Float32Level3 { return impl }

func tr(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(A) is m×k, op(B) is k×n and C is m×n.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if m == 1 && !transA && k > 0 {
		// One row (a decode step of one sequence) is a matrix-vector
		// product. OpenBLAS 0.3.21's sgemm packs all of B for it, which
		// costs more than the product; gemv reads B once. (gemv returns
		// at once for k == 0, leaving C unscaled by beta; sgemm does not.)
		// y is cut to the row: gonum's gemv clears all of y for beta 0,
		// and C's slice may run on into rows another goroutine writes.
		if transB {
			mv.Sgemv(blas.NoTrans, n, k, alpha, b, ldb, a, 1, beta, c[:n], 1)
		} else {
			mv.Sgemv(blas.Trans, k, n, alpha, b, ldb, a, 1, beta, c[:n], 1)
		}
		return
	}
	impl.Sgemm(tr(transA), tr(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// MatMul computes C[m,n] = A[m,k] · B[k,n] (+ C when accumulate).
func MatMul(c, a, b []float32, m, k, n int, accumulate bool) {
	Gemm(false, false, m, n, k, 1, a, k, b, n, beta(accumulate), c, n)
}

// MatMulBT computes C[m,n] = A[m,k] · B[n,k]ᵀ (+ C): a linear layer with HF's
// [out, in] weight layout.
func MatMulBT(c, a, b []float32, m, k, n int, accumulate bool) {
	Gemm(false, true, m, n, k, 1, a, k, b, k, beta(accumulate), c, n)
}

// MatMulAT computes C[m,n] = A[k,m]ᵀ · B[k,n] (+ C): weight gradients.
func MatMulAT(c, a, b []float32, m, k, n int, accumulate bool) {
	Gemm(true, false, m, n, k, 1, a, m, b, n, beta(accumulate), c, n)
}

func beta(acc bool) float32 {
	if acc {
		return 1
	}
	return 0
}

// Dot is the inner product of x and y.
func Dot(x, y []float32) float32 { return vec.Sdot(len(x), x, 1, y, 1) }

// Axpy computes y += alpha*x.
func Axpy(alpha float32, x, y []float32) { vec.Saxpy(len(x), alpha, x, 1, y, 1) }
