//go:build !amd64 || purego

package dataset

// plainRunBlocks: without the AVX2 scan (off amd64, or -tags purego) the
// byte-wise scan does all.
func plainRunBlocks(b []byte) (int, bool) { return 0, false }
