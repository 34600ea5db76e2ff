package dataset

import "golang.org/x/sys/cpu"

// plainRunAVX2 is in plainrun_amd64.s.
//
//go:noescape
func plainRunAVX2(b []byte) int

// plainRunBlocks skips the 32-byte blocks of b without a byte that ends a
// plain run, where the CPU has AVX2, and returns where the byte-wise scan
// starts.
func plainRunBlocks(b []byte) int {
	if !hasAVX2 || len(b) < 32 {
		return 0
	}
	return plainRunAVX2(b)
}

var hasAVX2 = cpu.X86.HasAVX2
