//go:build !(openblas && cgo)

package blas

// oneThread has nothing to do: gonum's BLAS runs on the calling goroutine.
func oneThread() {}
