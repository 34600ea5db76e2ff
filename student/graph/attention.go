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
					j0 := keyStart(sg, i0, i1)
					// scores [i0:i1, j0:i1] = scale · Q_h[i0:i1] · K_g[j0:i1]ᵀ
					gemm(false, true, i1-i0, i1-j0, d, scale, qb[i0*ldq:], ldq, kb[j0*ldk:], ldk, 0, pb[i0*s+j0:], s)
					for i := i0; i < i1; i++ {
						maskedSoftmax(pb[i*s:(i+1)*s], sg, i, j0)
					}
					// out_h[i0:i1] = P[i0:i1, j0:i1] · V_g[j0:i1]
					gemm(false, false, i1-i0, d, i1-j0, 1, pb[i0*s+j0:], s, vb[j0*ldk:], ldk, 0, ob[i0*ldq:], ldq)
				})
			}
		}
	})
}

// keyStart is the first key any query of the block [i0, i1) may see: the
// first token of the row sharing a segment with one of them. With packed
// rows the products then skip the earlier sequences, not only the masked
// triangle.
func keyStart(seg []int32, i0, i1 int) int {
	var ids [8]int32
	n := 0
	for i := i0; i < i1; i++ {
		if n > 0 && ids[n-1] == seg[i] {
			continue
		}
		if n == len(ids) {
			return 0 // many short segments: not worth the search
		}
		ids[n] = seg[i]
		n++
	}
	for j := 0; j < i0; j++ {
		for _, id := range ids[:n] {
			if seg[j] == id {
				return j
			}
		}
	}
	return i0
}

// maskedSoftmax turns row i of the scores into probabilities over the
// tokens it may see (none before j0) and zeroes the rest.
func maskedSoftmax[T Float](row []T, seg []int32, i, j0 int) {
	clear(row[:j0])
	mx := T(math.Inf(-1))
	for j := j0; j <= i; j++ {
		if seg[j] == seg[i] && row[j] > mx {
			mx = row[j]
		}
	}
	var sum T
	for j := j0; j <= i; j++ {
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
	for j := j0; j <= i; j++ {
		row[j] *= inv
	}
}

// attentionBackward accumulates the gradients of attentionForward:
//
//	dout [b*s, nh*d] -> dq [b*s, nh*d], dk, dv [b*s, nkv*d]
//	dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P⊙(dP - rowsum(P⊙dP)), dQ += scale·dS·K, dK += scale·dSᵀ·Q
//
// scratch holds one [s,s] buffer per worker.
func attentionBackward[T Float](dq, dk, dv, dout, p, q, k, v []T, seg []int32, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.nh/a.nkv
	ldq, ldk := a.nh*d, a.nkv*d
	scale := T(a.scale())
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		ds := scratch[w]
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			dkb, dvb := dk[b*s*ldk+g*d:], dv[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			for h := g * group; h < (g+1)*group; h++ {
				qb, dqb, dob := q[b*s*ldq+h*d:], dq[b*s*ldq+h*d:], dout[b*s*ldq+h*d:]
				pb := p[(b*a.nh+h)*s*s : (b*a.nh+h+1)*s*s]
				a.blocks(func(i0, i1 int) {
					// Only keys [j0, i1) have nonzero probabilities.
					m, j0 := i1-i0, keyStart(sg, i0, i1)
					pr, dr := pb[i0*s+j0:], ds[i0*s+j0:]
					gemm(false, true, m, i1-j0, d, 1, dob[i0*ldq:], ldq, vb[j0*ldk:], ldk, 0, dr, s)
					gemm(true, false, i1-j0, d, m, 1, pr, s, dob[i0*ldq:], ldq, 1, dvb[j0*ldk:], ldk)
					for i := i0; i < i1; i++ {
						pr, dr := pb[i*s+j0:i*s+i+1], ds[i*s+j0:i*s+i1]
						c := dot(pr, dr[:len(pr)])
						for j, p := range pr {
							dr[j] = p * (dr[j] - c)
						}
						clear(dr[len(pr):])
					}
					gemm(false, false, m, d, i1-j0, scale, dr, s, kb[j0*ldk:], ldk, 1, dqb[i0*ldq:], ldq)
					gemm(true, false, i1-j0, d, m, scale, dr, s, qb[i0*ldq:], ldq, 1, dkb[j0*ldk:], ldk)
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
	attentionBackward(dIn[0], dIn[1], dIn[2], dOut, o.p, in[0], in[1], in[2], *o.seg, o.dims, o.scratch)
}
