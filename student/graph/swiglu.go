package graph

// swigluForward is the gate of the SwiGLU MLP:
//
//	g, u [n] -> m [n] = silu(g)·u,  silu(g) = g·σ(g)
func swigluForward[T Float](m, g, u []T) {
	u = u[:len(g)]
	m = m[:len(g)]
	for i, x := range g {
		m[i] = x / (1 + exp(-x)) * u[i]
	}
}

// swigluBackward accumulates the gradients of swigluForward:
//
//	dm [n] -> dg += dm·u·σ(g)·(1 + g·(1-σ(g))),  du += dm·silu(g)
func swigluBackward[T Float](dg, du, dm, g, u []T) {
	u, dm, dg, du = u[:len(g)], dm[:len(g)], dg[:len(g)], du[:len(g)]
	for i, x := range g {
		s := 1 / (1 + exp(-x))
		dg[i] += dm[i] * u[i] * s * (1 + x*(1-s))
		du[i] += dm[i] * x * s
	}
}

// swigluOp: gate, up [n,I] -> m [n,I].
type swigluOp[T Float] struct{}

func (o *swigluOp[T]) name() string          { return "SwiGLU" }
func (o *swigluOp[T]) fwd(in [][]T, out []T) { swigluForward(out, in[0], in[1]) }
func (o *swigluOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	swigluBackward(dIn[0], dIn[1], dOut, in[0], in[1])
}
