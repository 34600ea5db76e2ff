//go:build openblas && cgo

package graph

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import "runtime"

// SetThreads sets how many goroutines training uses (GOMAXPROCS).
func SetThreads(n int) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
}

// singleThreadBLAS makes OpenBLAS run each call on the calling thread: the
// graph splits products over goroutines itself, and OpenBLAS's own threads
// busy-wait between calls, taking the cores from those goroutines
// (measured at the qwen-tiny shape on 2 busy cores: 3.4× slower).
func singleThreadBLAS() { C.openblas_set_num_threads(1) }
