//go:build !(openblas && cgo)

package model

// singleThreadBLAS has nothing to do for gonum's pure Go BLAS.
func singleThreadBLAS() {}
