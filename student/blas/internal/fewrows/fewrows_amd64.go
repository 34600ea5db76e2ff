//go:build amd64 && !purego

// Package fewrows is the assembly kernel of blas.GemmBTFew: a linear layer
// y = x·Wᵀ for a few rows of x, as dot products straight off W's rows. It
// is built on amd64 only (not with -tags purego).
//
// It imports nothing of ours.
package fewrows

import "golang.org/x/sys/cpu"

// Available reports whether the CPU has what the kernel needs: AVX2 and FMA3.
var Available = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotRows computes y[i*ldy+j] (+)= Σ_p<k x[i*ldx+p]·w[j*ldw+p] for i < m,
// j < cols ≤ 3; k is a multiple of 8. Implemented in fewrows_amd64.s.
//
//go:noescape
func dotRows(k int, x *float32, ldx, m int, w *float32, ldw, cols int, y *float32, ldy int, acc bool)

// Gemm computes C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when acc), row-major with
// leading dimensions lda, ldb, ldc, when Available: dotRows over blocks of
// three rows of b, each read once for all of a's rows, then the last k%8
// products in Go. m, n and k must be positive.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	// The assembly reads and writes these extents unchecked.
	_, _, _ = a[(m-1)*lda+k-1], b[(n-1)*ldb+k-1], c[(m-1)*ldc+n-1]
	k8 := k &^ 7
	if k8 > 0 {
		for j := 0; j < n; j += 3 {
			dotRows(k8, &a[0], lda, m, &b[j*ldb], ldb, min(3, n-j), &c[j], ldc, acc)
		}
	}
	if k8 == k {
		return
	}
	for i := range m {
		ai := a[i*lda+k8 : i*lda+k]
		for j := range n {
			bj := b[j*ldb+k8 : j*ldb+k]
			var s float32
			for p, x := range ai {
				s += x * bj[p]
			}
			if k8 == 0 && !acc {
				c[i*ldc+j] = s
			} else {
				c[i*ldc+j] += s
			}
		}
	}
}
