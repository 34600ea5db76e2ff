//go:build openblas && cgo

package model

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

// singleThreadBLAS makes OpenBLAS run each call on the calling thread; the
// model splits products over goroutines itself (parallel.go). The training
// graph (student/graph) does the same, so both agree in one process.
func singleThreadBLAS() { C.openblas_set_num_threads(1) }
