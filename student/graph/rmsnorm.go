package graph

import "github.com/distill-dev/distill/student/kernel"

// rmsnormBackward accumulates the gradients of kernel.RMSNorm, from the
// rstd it kept:
//
//	dy [n,h] -> dx [n,h] += rstd·(g - x·rstd²·mean(g·x)),  g = dy·w
//	            dw [h]   += Σ_n dy·x·rstd  (dw nil: frozen)
func rmsnormBackward[T Float](dx, dw, dy, x, w, rstd []T, n, h int) {
	for r := range n {
		xr, dyr, dxr := x[r*h:(r+1)*h], dy[r*h:(r+1)*h], dx[r*h:(r+1)*h]
		rs := rstd[r]
		var gx T
		for i, v := range xr {
			gx += dyr[i] * w[i] * v
		}
		c := rs * rs * rs * gx / T(h)
		for i, v := range xr {
			dxr[i] += rs*dyr[i]*w[i] - c*v
		}
		if dw != nil {
			for i, v := range xr {
				dw[i] += dyr[i] * v * rs
			}
		}
	}
}

// rmsnormOp: x [n,h], w [h] -> y [n,h].
type rmsnormOp[T Float] struct {
	n, h int
	eps  T
	rstd []T // [n]
}

func (o *rmsnormOp[T]) name() string { return "RMSNorm" }
func (o *rmsnormOp[T]) fwd(in [][]T, out []T) {
	kernel.RMSNorm(out, o.rstd, in[0], in[1], o.eps)
}
func (o *rmsnormOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	rmsnormBackward(dIn[0], dIn[1], dOut, in[0], in[1], o.rstd, o.n, o.h)
}
