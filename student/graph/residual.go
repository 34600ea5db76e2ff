package graph

// addForward is the residual connection: a, b [n] -> y [n] = a + b.
func addForward[T Float](y, a, b []T) {
	b, y = b[:len(a)], y[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// addBackward: dy -> da += dy, db += dy.
func addBackward[T Float](da, db, dy []T) {
	axpy(1, dy, da)
	axpy(1, dy, db)
}

// addOp: a, b [n,h] -> a + b.
type addOp[T Float] struct{}

func (o *addOp[T]) name() string { return "Add" }
func (o *addOp[T]) fwd(in [][]T, out []T) {
	parallelFor(workers(), len(out), func(_, lo, hi int) { addForward(out[lo:hi], in[0][lo:hi], in[1][lo:hi]) })
}
func (o *addOp[T]) bwd(_, dIn [][]T, _, dOut []T) {
	parallelFor(workers(), len(dOut), func(_, lo, hi int) { addBackward(dIn[0][lo:hi], dIn[1][lo:hi], dOut[lo:hi]) })
}
