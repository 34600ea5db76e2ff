package graph

import "github.com/distill-dev/distill/student/kernel"

// linearForward is kernel.Linear with the graph's row-parallel product:
//
//	x [n,in], W [out,in], b [out] or nil -> y [n,out] = x·Wᵀ + b
func linearForward[T Float](y, x, w, b []T, n, in, out int) {
	kernel.Linear(func(y, x, w []T, n, in, out int) {
		pgemm(false, true, n, out, in, 1, x, in, w, in, 0, y, out)
	}, y, x, w, b, n, in, out)
}

// linearBackward accumulates the gradients of linearForward:
//
//	dy [n,out] -> dx [n,in] += dy·W,  dW [out,in] += dyᵀ·x,  db [out] += Σ_n dy
//
// dx may be nil when x needs no gradient, dw and db when W and b are frozen.
func linearBackward[T Float](dx, dw, db, dy, x, w []T, n, in, out int) {
	if dx != nil {
		pgemm(false, false, n, in, out, 1, dy, out, w, in, 1, dx, in)
	}
	if dw != nil {
		pgemm(true, false, out, in, n, 1, dy, out, x, in, 1, dw, in)
	}
	if db != nil { // columns split over the workers: each adds the rows in order
		parallelFor(workers(), out, func(_, lo, hi int) {
			for r := range n {
				axpy(1, dy[r*out+lo:r*out+hi], db[lo:hi])
			}
		})
	}
}

// linearOp: x [n,in], W [out,in] (, b [out]) -> y [n,out].
type linearOp[T Float] struct{ n, in, out int }

func (o *linearOp[T]) name() string { return "Linear" }
func (o *linearOp[T]) fwd(in [][]T, out []T) {
	var b []T
	if len(in) == 3 {
		b = in[2]
	}
	linearForward(out, in[0], in[1], b, o.n, o.in, o.out)
}
func (o *linearOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	var db []T
	if len(in) == 3 {
		db = dIn[2]
	}
	linearBackward(dIn[0], dIn[1], db, dOut, in[0], in[1], o.n, o.in, o.out)
}
