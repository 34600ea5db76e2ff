package blas

import (
	"runtime"
	"sync"
)

var oneThreadOnce sync.Once

// SingleThreaded makes OpenBLAS run each call on the calling thread for the
// rest of the process. The model and the training graph split their products
// over goroutines themselves, and OpenBLAS's own threads busy-wait between
// calls, taking the cores from those goroutines (measured at the qwen-tiny
// shape on 2 busy cores: 3.4× slower). Nothing to do for gonum's BLAS.
func SingleThreaded() { oneThreadOnce.Do(oneThread) }

// SetThreads sets how many goroutines the products split over (GOMAXPROCS);
// n <= 0 keeps the current setting.
func SetThreads(n int) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
}
