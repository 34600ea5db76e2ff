package graph

import "github.com/distill-dev/distill/student/kernel"

// rmsnormBackward accumulates the gradients of kernel.RMSNorm, from the
// rstd it kept:
//
//	dy [n,h] -> dx [n,h] += rstd·(g - x·rstd²·mean(g·x)),  g = dy·w
//	            dw [h]   += Σ_n dy·x·rstd  (dw nil: frozen)
//
// dx splits rows over the workers, dw columns, so that each element of dw
// still adds the rows in order.
func rmsnormBackward[T Float](dx, dw, dy, x, w, rstd []T, n, h, workers int) {
	parallelFor(workers, n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
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
		}
	})
	if dw == nil {
		return
	}
	parallelFor(workers, h, func(_, lo, hi int) {
		dwc := dw[lo:hi]
		for r := range n {
			xr, dyr := x[r*h+lo:r*h+hi], dy[r*h+lo:r*h+hi]
			rs := rstd[r]
			for i, v := range xr {
				dwc[i] += dyr[i] * v * rs
			}
		}
	})
}

// rmsnormOp: x [n,h], w [h] -> y [n,h].
type rmsnormOp[T Float] struct {
	n, h int
	eps  T
	rstd []T // [n]
}

func (o *rmsnormOp[T]) name() string { return "RMSNorm" }
func (o *rmsnormOp[T]) fwd(in [][]T, out []T) {
	h := o.h
	parallelFor(workers(), o.n, func(_, lo, hi int) {
		kernel.RMSNorm(out[lo*h:hi*h], o.rstd[lo:hi], in[0][lo*h:hi*h], in[1], o.eps)
	})
}
func (o *rmsnormOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	rmsnormBackward(dIn[0], dIn[1], dOut, in[0], in[1], o.rstd, o.n, o.h, workers())
}
