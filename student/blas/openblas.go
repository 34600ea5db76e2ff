//go:build openblas && cgo

package blas

// netlib's cgo bindings leave the cblas symbols to the final link; naming
// OpenBLAS here means users need no CGO_LDFLAGS.

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import "gonum.org/v1/netlib/blas/netlib"

func init() {
	impl = netlib.Implementation{}
	vec = netlib.Implementation{}
	mv = netlib.Implementation{}
	backend = "OpenBLAS (cgo)"
	// Each call runs on the calling thread. The model and the training
	// graph split their products over goroutines themselves, and OpenBLAS's
	// own threads busy-wait between calls, taking the cores from those
	// goroutines (measured at the qwen-tiny shape on 2 busy cores: 3.4×
	// slower). Its library constructor has started them already, spinning
	// until a timeout: setting it here, before any work, also keeps them
	// from taking about 0.3 s of CPU from commands that never call BLAS
	// (distill filter at 800,000 traces: 5.0 → 4.7 s).
	C.openblas_set_num_threads(1)
}
