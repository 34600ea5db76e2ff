package graph

import "github.com/distill-dev/distill/student/kernel"

// swigluBackward accumulates the gradients of kernel.SwiGLU, from the σ(g)
// it kept, or with set overwrites them (gate and up have no other
// consumer, so their gradients need no clearing before):
//
//	dm [n] -> dg += dm·u·σ(g)·(1 + g·(1-σ(g))),  du += dm·silu(g)
func swigluBackward[T Float](dg, du, dm, sig, g, u []T, set bool) {
	u, dm, dg, du, sig = u[:len(g)], dm[:len(g)], dg[:len(g)], du[:len(g)], sig[:len(g)]
	for i, x := range g {
		s := sig[i]
		a, b := dm[i]*u[i]*s*(1+x*(1-s)), dm[i]*x*s
		if set {
			dg[i], du[i] = a, b
		} else {
			dg[i] += a
			du[i] += b
		}
	}
}

// swigluOp: gate, up [n] -> m [n] (n = tokens × intermediate), split over
// the workers; sig [n] holds σ(gate).
type swigluOp[T Float] struct {
	sig     []T
	workers int
	sets    bool // the gradients of gate and up are overwritten (see sole)
}

func (o *swigluOp[T]) name() string { return "SwiGLU" }
func (o *swigluOp[T]) fwd(in [][]T, out []T) {
	parallelFor(o.workers, len(out), func(_, lo, hi int) {
		kernel.SwiGLU(out[lo:hi], o.sig[lo:hi], in[0][lo:hi], in[1][lo:hi])
	})
}
func (o *swigluOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	parallelFor(o.workers, len(dOut), func(_, lo, hi int) {
		swigluBackward(dIn[0][lo:hi], dIn[1][lo:hi], dOut[lo:hi], o.sig[lo:hi], in[0][lo:hi], in[1][lo:hi], o.sets)
	})
}
