package model

import (
	"runtime"
	"sync"

	"github.com/distill-dev/distill/student/blas"
)

// parallelMACs is the size of product below which splitting it across
// goroutines costs more than it saves.
const parallelMACs = 1 << 16

// matMulBT computes C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when acc), splitting the
// output columns (B's rows: a linear layer's output features) across cores;
// a decode step's few rows go to blas.GemmBTFew's kernel.
// BLAS runs single-threaded (blas.SingleThreaded): OpenBLAS's own threads
// busy-wait between the many small products of a decode step and take the
// cores from the goroutines that would use them.
//
//	a: [m, k]; b: [n, k]; c: [m, n]
func matMulBT(c, a, b []float32, m, k, n int, acc bool) {
	blas.SingleThreaded()
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || m*k*n < parallelMACs || n < 2*workers {
		blas.GemmBTFew(m, n, k, a, k, b, k, c, n, acc)
		return
	}
	// Chunks of 16 columns keep each worker's slice of B aligned for the
	// BLAS kernels.
	per := (n/workers + 15) &^ 15
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			blas.GemmBTFew(m, hi-lo, k, a, k, b[lo*k:hi*k], k, c[lo:], n, acc)
		}()
	}
	wg.Wait()
}
