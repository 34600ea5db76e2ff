package graph

import (
	"runtime"
	"sync"
)

// workers is how many goroutines the kernels split rows over.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallelFor runs f(worker, lo, hi) over [0, n) split into at most w
// contiguous chunks, so that each worker owns its rows (and its scratch
// buffer, by worker index) and nothing is shared between them.
func parallelFor(w, n int, f func(worker, lo, hi int)) {
	w = min(w, n)
	if w <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	f(0, 0, n/w) // on the caller, which would only wait
	wg.Wait()
}

// parallelClear zeroes x split over the workers: each step clears every
// gradient (about 170 MB of activation gradients and 20 MB of weight
// gradients at qwen-tiny 8×256), and two cores clear 1.4× faster than one
// (19 against 13 GB/s measured).
func parallelClear[T Float](x []T) {
	parallelFor(workers(), len(x)>>16+1, func(_, lo, hi int) {
		clear(x[lo<<16 : min(hi<<16, len(x))])
	})
}
