//go:build openblas && cgo

package blas

// netlib's cgo bindings leave the cblas symbols to the final link; naming
// OpenBLAS here means users need no CGO_LDFLAGS.

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// void blas_thread_shutdown_(void);
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
	// slower). Its library constructor has started them already, and they
	// spin (sched_yield) until a timeout even when no call comes, which
	// took 0.3 s of CPU from a `distill filter` run of 2.5 s; they are
	// stopped here (OpenBLAS starts them again if a call ever asks for more
	// than one thread).
	C.openblas_set_num_threads(1)
	C.blas_thread_shutdown_()
}
