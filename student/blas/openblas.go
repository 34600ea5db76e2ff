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
}

func oneThread() { C.openblas_set_num_threads(1) }
