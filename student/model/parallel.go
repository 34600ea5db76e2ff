package model

import (
	"runtime"
	"sync"

	"github.com/distill-dev/distill/student/blas"
)

// parallelMACs is the size of product below which splitting it across
// goroutines costs more than it saves.
const parallelMACs = 1 << 16

// parallelCols runs f over n output columns split across cores, in chunks
// of 16 columns (aligned for the BLAS kernels), the calling goroutine
// taking the first; all on the caller when the work (macs
// multiply-adds) is too small to split.
func parallelCols(n, macs int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || macs < parallelMACs || n < 2*workers {
		f(0, n)
		return
	}
	per := (n/workers + 15) &^ 15
	var wg sync.WaitGroup
	for lo := per; lo < n; lo += per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, min(lo+per, n))
		}()
	}
	f(0, min(per, n))
	wg.Wait()
}

// matMulBT computes C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when acc), splitting the
// output columns (B's rows: a linear layer's output features) across cores;
// a decode step's few rows go to blas.GemmBTFew's kernel. BLAS runs
// single-threaded (blas.SingleThreaded): OpenBLAS's own threads busy-wait
// between the many small products of a decode step and take the cores
// from the goroutines that would use them.
//
//	a: [m, k]; b: [n, k]; c: [m, n]
func matMulBT(c, a, b []float32, m, k, n int, acc bool) {
	blas.SingleThreaded()
	parallelCols(n, m*k*n, func(lo, hi int) {
		blas.GemmBTFew(m, hi-lo, k, a, k, b[lo*k:hi*k], k, c[lo:], n, acc)
	})
}
