//go:build !purego

package dataset

import "golang.org/x/sys/cpu"

// plainRunAVX2 is in plainrun_amd64.s.
//
//go:noescape
func plainRunAVX2(b []byte) int

// plainRunBlocks scans the whole 32-byte blocks of b where the CPU has
// AVX2. It returns the index of the first byte that ends the plain run and
// true, or where the byte-wise scan is to go on and false.
func plainRunBlocks(b []byte) (int, bool) {
	if !hasAVX2 || len(b) < 32 {
		return 0, false
	}
	i := plainRunAVX2(b)
	return i, i < len(b)&^31
}

var hasAVX2 = cpu.X86.HasAVX2
