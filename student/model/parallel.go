package model

import (
	"runtime"

	"github.com/distill-dev/distill/student/blas"
)

// parallelMACs is the size of product below which splitting it across
// goroutines costs more than it saves.
const parallelMACs = 1 << 16

// parallelCols runs f over n output columns split across cores (the
// team), in chunks of a multiple of 16 columns (aligned for the BLAS
// kernels), two a core so that a core that starts late leaves its share to
// the others; all on the caller when the work (macs multiply-adds) is too
// small to split.
func parallelCols(n, macs int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || macs < parallelMACs || n < 2*workers {
		f(0, n)
		return
	}
	per := (n/(2*workers) + 15) &^ 15
	cores.run((n+per-1)/per, func(_, c int) {
		f(c*per, min((c+1)*per, n))
	})
}

// matMulBT computes C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when acc), splitting the
// output columns (B's rows: a linear layer's output features) across cores;
// a decode step's few rows go to blas.GemmBTFew's kernel. BLAS runs on the
// calling goroutine (the blas package sets OpenBLAS to one thread).
//
//	a: [m, k]; b: [n, k]; c: [m, n]
func matMulBT(c, a, b []float32, m, k, n int, acc bool) {
	parallelCols(n, m*k*n, func(lo, hi int) {
		blas.GemmBTFew(m, hi-lo, k, a, k, b[lo*k:hi*k], k, c[lo:], n, acc)
	})
}
