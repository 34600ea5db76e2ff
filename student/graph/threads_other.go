//go:build !(openblas && cgo)

package graph

import "runtime"

// SetThreads sets how many goroutines training uses (GOMAXPROCS).
func SetThreads(n int) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
}

func singleThreadBLAS() {}
