package graph

import "github.com/distill-dev/distill/student/kernel"

// linearForward is kernel.Linear with the graph's row-parallel product:
//
//	x [n,in], W [out,in], b [out] or nil -> y [n,out] = x·Wᵀ + b
func linearForward[T Float](y, x, w, b []T, n, in, out int) {
	linearsForward(workers(), linearCall[T]{y, x, w, b, n, in, out})
}

// linearCall is the forward pass of one linear layer, as in linearForward.
type linearCall[T Float] struct {
	y, x, w, b []T
	n, in, out int
}

// rows computes rows [lo, hi) of y on the calling goroutine.
func (c *linearCall[T]) rows(lo, hi int) {
	kernel.Linear(func(y, x, w []T, n, in, out int) {
		gemm(false, true, n, out, in, 1, x, in, w, in, 0, y, out)
	}, c.y[lo*c.out:], c.x[lo*c.in:], c.w, c.b, hi-lo, c.in, c.out)
}

// linearsForward runs the forward passes of independent linear layers on w
// workers, shared out by cost as gemms shares its products: the q, k and v
// projections of a layer (4:1:1 at qwen-small) run as q's first three
// quarters on one core and the rest of q, k and v on the other, and the
// MLP's gate and up one on each core.
func linearsForward[T Float](w int, cs ...linearCall[T]) {
	var rows, cost [3]int
	for i := range cs {
		rows[i], cost[i] = cs[i].n, cs[i].in*cs[i].out
	}
	parallelShares(w, rows[:len(cs)], cost[:len(cs)], func(i, lo, hi int) { cs[i].rows(lo, hi) })
}

// linearBackward accumulates the gradients of linearForward:
//
//	dy [n,out] -> dx [n,in] = dxKeep·dx + dy·W,  dW [out,in] += dyᵀ·x,  db [out] += Σ_n dy
//
// dxKeep is 1 to add to dx, 0 to overwrite it (x has no other consumer, so
// dx needs no clearing before). dx may be nil when x needs no gradient, dw
// and db when W and b are frozen.
func linearBackward[T Float](dx, dw, db, dy, x, w []T, n, in, out int, dxKeep T) {
	dX := product[T]{false, false, n, in, out, 1, dy, out, w, in, dxKeep, dx, in}
	dW := product[T]{true, false, out, in, n, 1, dy, out, x, in, 1, dw, in}
	switch {
	case dx != nil && dw != nil:
		gemms(workers(), dX, dW)
	case dx != nil:
		gemms(workers(), dX)
	case dw != nil:
		gemms(workers(), dW)
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
type linearOp[T Float] struct {
	n, in, out int
	setsDX     bool // x's gradient is overwritten, not added to (see sole)
}

func (o *linearOp[T]) name() string { return "Linear" }

// call binds the op's forward pass to its inputs and output.
func (o *linearOp[T]) call(in [][]T, out []T) linearCall[T] {
	var b []T
	if len(in) == 3 {
		b = in[2]
	}
	return linearCall[T]{out, in[0], in[1], b, o.n, o.in, o.out}
}
func (o *linearOp[T]) fwd(in [][]T, out []T) { linearsForward(workers(), o.call(in, out)) }
func (o *linearOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	var db []T
	if len(in) == 3 {
		db = dIn[2]
	}
	keep := T(1)
	if o.setsDX {
		keep = 0
	}
	linearBackward(dIn[0], dIn[1], db, dOut, in[0], in[1], o.n, o.in, o.out, keep)
}

// linearGroup is linear layers of the same input whose forward passes the
// executor runs as one, through linearsForward (at most three).
type linearGroup[T Float] []*fusedOp[T]

func (g linearGroup[T]) forward() {
	var cs [3]linearCall[T]
	for i, op := range g {
		cs[i] = op.impl.(*linearOp[T]).call(op.ins, op.out.data)
	}
	linearsForward(workers(), cs[:len(g)]...)
}
