package blas

import "runtime"

// SetThreads sets how many goroutines the products split over (GOMAXPROCS);
// n <= 0 keeps the current setting.
func SetThreads(n int) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
}
