//go:build openblas && cgo

package blas

// netlib's cgo bindings leave the cblas symbols to the final link; naming
// OpenBLAS here means users need no CGO_LDFLAGS.

// #cgo LDFLAGS: -lopenblas
import "C"

import "gonum.org/v1/netlib/blas/netlib"

func init() {
	impl = netlib.Implementation{}
	vec = netlib.Implementation{}
	backend = "OpenBLAS (cgo)"
}
