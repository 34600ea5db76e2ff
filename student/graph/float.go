package graph

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	sblas "github.com/distill-dev/distill/student/blas"
	"github.com/distill-dev/distill/student/kernel"
)

// Float is the element type of the kernels: float32 for training, float64
// for the finite-difference checks, from the same code.
type Float = kernel.Float

// gemm computes C = alpha*op(A)*op(B) + beta*C (row-major). float32 goes to
// student/blas (OpenBLAS or gonum); float64 exists for gradient checks and
// uses gonum.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch a := any(a).(type) {
	case []float32:
		sblas.Gemm(transA, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		gonum.Implementation{}.Dgemm(trans(transA), trans(transB), m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func log[T Float](x T) T { return T(math.Log(float64(x))) }

// dot is a plain inner product for short vectors (head dimension).
func dot[T Float](x, y []T) T {
	var s0, s1, s2, s3 T
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return s0 + s1 + s2 + s3
}

// axpy computes y += a*x.
func axpy[T Float](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// product is one gemm, C = alpha·op(A)·op(B) + beta·C, whose rows of C
// can be computed apart.
type product[T Float] struct {
	transA, transB bool
	m, n, k        int
	alpha          T
	a              []T
	lda            int
	b              []T
	ldb            int
	beta           T
	c              []T
	ldc            int
}

// rows computes rows [lo, hi) of C.
func (p *product[T]) rows(lo, hi int) {
	if lo >= hi {
		return
	}
	ao := lo * p.lda // row lo of A
	if p.transA {
		ao = lo // column lo of the stored [k, m] A
	}
	gemm(p.transA, p.transB, hi-lo, p.n, p.k, p.alpha, p.a[ao:], p.lda, p.b, p.ldb, p.beta, p.c[lo*p.ldc:], p.ldc)
}

// pgemm is gemm with the rows of C split over the workers. OpenBLAS runs
// single-threaded under the graph (see New): its worker threads spin
// between calls and starve the graph's own goroutines, while Go's workers
// yield.
func pgemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemms(workers(), product[T]{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc})
}

// gemms runs one or two independent products, whose Cs do not overlap, on
// w workers: laid end to end and cut into equal shares of multiply-adds
// (see parallelShares). Two products of the same size (a linear layer's dX
// and dW) then run whole on a core each, rather than each splitting its
// rows over both cores with a wait for the slower half after each: fewer,
// larger OpenBLAS calls, which run faster.
func gemms[T Float](w int, ps ...product[T]) {
	var rows, cost [2]int
	for i := range ps {
		rows[i], cost[i] = ps[i].m, ps[i].n*ps[i].k
	}
	parallelShares(w, rows[:len(ps)], cost[:len(ps)], func(i, lo, hi int) { ps[i].rows(lo, hi) })
}
