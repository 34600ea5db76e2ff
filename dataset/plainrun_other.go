//go:build !amd64

package dataset

// plainRunBlocks: without vector instructions the byte-wise scan does all.
func plainRunBlocks(b []byte) (int, bool) { return 0, false }
