package graph

// loraLinearOp is a linear layer with a LoRA adapter (student/lora):
//
//	x [n,in], W [out,in] (, b [out]), A [r,in], B [out,r] -> y [n,out] = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ
//
// with s = alpha/r. The base W and b are frozen in a LoRA graph (their
// gradient slices are nil and skipped); u = x·Aᵀ [n,r] is kept for the
// backward pass and du [n,r] is its scratch.
type loraLinearOp[T Float] struct {
	linearOp[T]
	rank  int
	scale T
	bias  bool
	u, du []T
}

func (o *loraLinearOp[T]) name() string { return "LoRALinear" }

// split names the inputs: x, W, bias (or nil), A, B.
func (o *loraLinearOp[T]) split(in [][]T) (x, w, b, a, bb []T) {
	if o.bias {
		return in[0], in[1], in[2], in[3], in[4]
	}
	return in[0], in[1], nil, in[2], in[3]
}

func (o *loraLinearOp[T]) fwd(in [][]T, out []T) {
	x, w, b, a, bb := o.split(in)
	n, r := o.n, o.rank
	linearForward(out, x, w, b, n, o.in, o.out)
	pgemm(false, true, n, r, o.in, 1, x, o.in, a, o.in, 0, o.u, r)
	pgemm(false, true, n, o.out, r, o.scale, o.u, r, bb, r, 1, out, o.out)
}

// bwd, with dy [n,out]:
//
//	dx += dy·W + du·A,  du = s·dy·B [n,r]
//	dB += s·dyᵀ·u [out,r],  dA += duᵀ·x [r,in]
//	dW, db as linearBackward when they are trained (nil in a LoRA graph)
func (o *loraLinearOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	x, w, _, a, bb := o.split(in)
	dx, dw, db, da, dbb := o.split(dIn)
	n, r := o.n, o.rank
	linearBackward(dx, dw, db, dOut, x, w, n, o.in, o.out, 1)
	pgemm(true, false, o.out, r, n, o.scale, dOut, o.out, o.u, r, 1, dbb, r)
	pgemm(false, false, n, r, o.out, o.scale, dOut, o.out, bb, r, 0, o.du, r)
	pgemm(true, false, r, o.in, n, 1, o.du, r, x, o.in, 1, da, o.in)
	if dx != nil {
		pgemm(false, false, n, o.in, r, 1, o.du, r, a, o.in, 1, dx, o.in)
	}
}
