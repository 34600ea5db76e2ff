//go:build !purego

package kernel

import "golang.org/x/sys/cpu"

// useAVX2 picks the assembly kernels of exp_amd64.s.
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func expSubAVX2(y, x []float32, c float32, sum bool) (s float32)

//go:noescape
func swigluAVX2(m, sig, g, u []float32)

// expSubVec does ExpSub for the longest prefix of x that is a multiple of 8
// and returns its length, 0 without AVX2, and with sum, the prefix's sum
// added in index order.
func expSubVec(y, x []float32, c float32, sum bool) (int, float32) {
	if !useAVX2 {
		return 0, 0
	}
	n := len(x) &^ 7
	return n, expSubAVX2(y[:n], x[:n], c, sum)
}

// swigluVec does SwiGLU for the longest prefix of g that is a multiple of
// 8 and returns its length: 0 without AVX2.
func swigluVec(m, sig, g, u []float32) int {
	if !useAVX2 {
		return 0
	}
	n := len(g) &^ 7
	if len(sig) > 0 {
		sig = sig[:n]
	}
	swigluAVX2(m[:n], sig, g[:n], u[:n])
	return n
}
