package graph

import "math"

// attnDims are the shapes of one attention call: b rows of s tokens, nh
// query heads sharing nkv key/value heads (GQA), head width d. Queries go
// in blocks of blk rows, each multiplied only with the keys up to its last
// row, which skips most of the masked upper triangle.
type attnDims struct{ b, s, nh, nkv, d, blk int }

// attnBlock is the query block of the causal products: small enough to
// skip most of the triangle, large enough for BLAS to run at speed.
const attnBlock = 64

// blocks calls f for each query block [i0, i1) of a row.
func (a attnDims) blocks(f func(i0, i1 int)) {
	blk := a.blk
	if blk <= 0 {
		blk = attnBlock
	}
	for i0 := 0; i0 < a.s; i0 += blk {
		f(i0, min(i0+blk, a.s))
	}
}

func (a attnDims) scale() float64 { return 1 / math.Sqrt(float64(a.d)) }

// attentionForward is causal grouped-query attention with segment masking:
// token i of a row attends to tokens j ≤ i of the same row with seg[j] ==
// seg[i], so packed sequences do not see each other.
//
//	q [b*s, nh*d], k, v [b*s, nkv*d], seg [b*s] -> out [b*s, nh*d], p [b, nh, s, s]
//
// p keeps the attention probabilities for the backward pass. Work is split
// over (row, kv head) pairs, each owning its slice of every buffer.
func attentionForward[T Float](out, p, q, k, v []T, seg []int32, a attnDims, w int) {
	s, d, group := a.s, a.d, a.nh/a.nkv
	ldq, ldk := a.nh*d, a.nkv*d
	scale := T(a.scale())
	parallelFor(w, a.b*a.nkv, func(_, lo, hi int) {
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			for h := g * group; h < (g+1)*group; h++ {
				qb, ob := q[b*s*ldq+h*d:], out[b*s*ldq+h*d:]
				pb := p[(b*a.nh+h)*s*s : (b*a.nh+h+1)*s*s]
				a.blocks(func(i0, i1 int) {
					// scores [i0:i1, :i1] = scale · Q_h[i0:i1] · K_g[:i1]ᵀ
					gemm(false, true, i1-i0, i1, d, scale, qb[i0*ldq:], ldq, kb, ldk, 0, pb[i0*s:], s)
					for i := i0; i < i1; i++ {
						maskedSoftmax(pb[i*s:(i+1)*s], sg, i)
					}
					// out_h[i0:i1] = P[i0:i1, :i1] · V_g[:i1]
					gemm(false, false, i1-i0, d, i1, 1, pb[i0*s:], s, vb, ldk, 0, ob[i0*ldq:], ldq)
				})
			}
		}
	})
}

// maskedSoftmax turns row i of the scores into probabilities over the
// tokens it may see and zeroes the rest.
func maskedSoftmax[T Float](row []T, seg []int32, i int) {
	mx := T(math.Inf(-1))
	for j := 0; j <= i; j++ {
		if seg[j] == seg[i] && row[j] > mx {
			mx = row[j]
		}
	}
	var sum T
	for j := 0; j <= i; j++ {
		if seg[j] == seg[i] {
			e := exp(row[j] - mx)
			row[j] = e
			sum += e
		} else {
			row[j] = 0
		}
	}
	clear(row[i+1:])
	inv := 1 / sum
	for j := 0; j <= i; j++ {
		row[j] *= inv
	}
}

// attentionBackward accumulates the gradients of attentionForward:
//
//	dout [b*s, nh*d] -> dq [b*s, nh*d], dk, dv [b*s, nkv*d]
//	dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P⊙(dP - rowsum(P⊙dP)), dQ += scale·dS·K, dK += scale·dSᵀ·Q
//
// scratch holds one [s,s] buffer per worker.
func attentionBackward[T Float](dq, dk, dv, dout, p, q, k, v []T, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.nh/a.nkv
	ldq, ldk := a.nh*d, a.nkv*d
	scale := T(a.scale())
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		ds := scratch[w]
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			dkb, dvb := dk[b*s*ldk+g*d:], dv[b*s*ldk+g*d:]
			for h := g * group; h < (g+1)*group; h++ {
				qb, dqb, dob := q[b*s*ldq+h*d:], dq[b*s*ldq+h*d:], dout[b*s*ldq+h*d:]
				pb := p[(b*a.nh+h)*s*s : (b*a.nh+h+1)*s*s]
				a.blocks(func(i0, i1 int) {
					m := i1 - i0
					pr, dr := pb[i0*s:], ds[i0*s:]
					gemm(false, true, m, i1, d, 1, dob[i0*ldq:], ldq, vb, ldk, 0, dr, s)
					gemm(true, false, i1, d, m, 1, pr, s, dob[i0*ldq:], ldq, 1, dvb, ldk)
					for i := i0; i < i1; i++ {
						pr, dr := pb[i*s:i*s+i+1], ds[i*s:i*s+i1]
						c := dot(pr, dr[:i+1])
						for j, p := range pr {
							dr[j] = p * (dr[j] - c)
						}
						clear(dr[i+1:])
					}
					gemm(false, false, m, d, i1, scale, dr, s, kb, ldk, 1, dqb[i0*ldq:], ldq)
					gemm(true, false, i1, d, m, scale, dr, s, qb[i0*ldq:], ldq, 1, dkb, ldk)
				})
			}
		}
	})
}

// attentionOp: q [n, nh*d], k, v [n, nkv*d] and the bound segments -> [n, nh*d].
type attentionOp[T Float] struct {
	dims    attnDims
	seg     *[]int32
	p       []T   // [b, nh, s, s]
	scratch [][]T // one [s,s] per worker
}

func (o *attentionOp[T]) name() string { return "CausalGQAttention" }
func (o *attentionOp[T]) fwd(in [][]T, out []T) {
	attentionForward(out, o.p, in[0], in[1], in[2], *o.seg, o.dims, len(o.scratch))
}
func (o *attentionOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	attentionBackward(dIn[0], dIn[1], dIn[2], dOut, o.p, in[0], in[1], in[2], o.dims, o.scratch)
}
