package graph

import (
	"math"
	"slices"

	"github.com/distill-dev/distill/student/kernel"
)

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
// p keeps the attention probabilities for the backward pass; nil keeps
// nothing (the backward pass recomputes them) and uses each worker's
// scratch for a block's probabilities instead. Work is split over (row,
// kv head) pairs, each owning its slice of every buffer.
func attentionForward[T Float](out, p, q, k, v []T, seg []int32, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.nh/a.nkv
	ldq, ldk := a.nh*d, a.nkv*d
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			for h := g * group; h < (g+1)*group; h++ {
				qb, ob := q[b*s*ldq+h*d:], out[b*s*ldq+h*d:]
				a.blocks(func(i0, i1 int) {
					j0 := keyStart(sg, i0, i1)
					pr := blockProbs(a, p, scratch[w], b, h, i0)
					attnProbs(a, pr, qb, kb, sg, i0, i1, j0)
					// out_h[i0:i1] = P[i0:i1, j0:i1] · V_g[j0:i1]
					gemm(false, false, i1-i0, d, i1-j0, 1, pr[j0:], s, vb[j0*ldk:], ldk, 0, ob[i0*ldq:], ldq)
				})
			}
		}
	})
}

// blockProbs is where the probabilities of query rows [i0, i0+blk) of
// (row b, head h) live, row i at (i-i0)·s: in p when it is kept, else in
// the first half of a worker's scratch.
func blockProbs[T Float](a attnDims, p, scratch []T, b, h, i0 int) []T {
	if p == nil {
		return scratch[:len(scratch)/2]
	}
	return p[((b*a.nh+h)*a.s+i0)*a.s : (b*a.nh+h+1)*a.s*a.s]
}

func (a attnDims) blockLen() int {
	if a.blk <= 0 {
		return attnBlock
	}
	return a.blk
}

// scratchLen is the size of a worker's scratch: a block of probabilities
// and one of their gradients.
func (a attnDims) scratchLen() int { return 2 * min(a.blockLen(), a.s) * a.s }

// keepsProbs says whether the forward pass keeps the probabilities for
// the backward pass (b·nh·s² floats) or the backward pass recomputes them
// (one more score product and softmax): kept up to 16M floats (64 MB in
// float32), as at every CPU-sized shape; recomputed at long sequences,
// where they would dominate the activations (3.2 GB a layer for a 1.5B
// Qwen at 8,192 tokens).
func (a attnDims) keepsProbs() bool { return a.b*a.nh*a.s*a.s <= keepProbsLimit }

// keepProbsLimit is keepsProbs' bound; tests lower it.
var keepProbsLimit = 1 << 24

// probs fills pr (row i at (i-i0)·s) with the probabilities of query rows
// [i0, i1) over keys [j0, i1), zero elsewhere:
//
//	scores = scale · Q_h[i0:i1] · K_g[j0:i1]ᵀ, then the masked softmax.
func attnProbs[T Float](a attnDims, pr, qb, kb []T, sg []int32, i0, i1, j0 int) {
	ldq, ldk := a.nh*a.d, a.nkv*a.d
	gemm(false, true, i1-i0, i1-j0, a.d, T(a.scale()), qb[i0*ldq:], ldq, kb[j0*ldk:], ldk, 0, pr[j0:], a.s)
	if !contiguous(sg[j0:i1]) {
		for i := i0; i < i1; i++ {
			maskedSoftmax(pr[(i-i0)*a.s:(i-i0+1)*a.s], sg, i, j0)
		}
		return
	}
	// Each query sees the keys of its segment's run from j0 on: r..i.
	r := i0
	for r > j0 && sg[r-1] == sg[i0] {
		r--
	}
	for i := i0; i < i1; i++ {
		if sg[i] != sg[r] {
			r = i
		}
		runSoftmax(pr[(i-i0)*a.s:(i-i0+1)*a.s], r, i)
	}
}

// contiguous says whether each segment of seg is one run, so that a
// query's visible keys are a range; false also for more than 8 runs, which
// the per-key test of maskedSoftmax serves as well.
func contiguous(seg []int32) bool {
	var ids [8]int32
	n := 0
	for j, id := range seg {
		if j > 0 && id == seg[j-1] {
			continue
		}
		if n == len(ids) || slices.Contains(ids[:n], id) {
			return false
		}
		ids[n] = id
		n++
	}
	return true
}

// runSoftmax is maskedSoftmax for a query whose visible keys are the range
// [r, i], without the per-key segment test. The keys after i up to a
// multiple of 8 (where the row has them) are set to -Inf so that the
// vector exp takes the whole range: their exp is 0, which leaves the sum as
// it was, and they end as the zeros they must be.
func runSoftmax[T Float](row []T, r, i int) {
	clear(row[:r])
	e := min(r+(i+1-r+7)&^7, len(row))
	for j := i + 1; j < e; j++ {
		row[j] = T(math.Inf(-1))
	}
	v := row[r:e]
	kernel.Scale(v, 1/kernel.ExpSubSum(v, v, kernel.Max(row[r:i+1])))
	clear(row[e:])
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
	clear(row[i+1:])
	mx := T(math.Inf(-1))
	for j := j0; j <= i; j++ {
		if seg[j] != seg[i] {
			// exp(-Inf) is 0, and adding 0 leaves the sum as it was
			row[j] = T(math.Inf(-1))
		} else if row[j] > mx {
			mx = row[j]
		}
	}
	sum := kernel.ExpSubSum(row[j0:i+1], row[j0:i+1], mx)
	kernel.Scale(row[j0:i+1], 1/sum)
}

// attentionBackward accumulates the gradients of attentionForward:
//
//	dout [b*s, nh*d] -> dq [b*s, nh*d], dk, dv [b*s, nkv*d]
//	dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P⊙(dP - rowsum(P⊙dP)), dQ += scale·dS·K, dK += scale·dSᵀ·Q
//
// P comes from p, or, when p is nil, is recomputed block by block into the
// first half of the worker's scratch; dS goes to its second half.
func attentionBackward[T Float](dq, dk, dv, dout, p, q, k, v []T, seg []int32, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.nh/a.nkv
	ldq, ldk := a.nh*d, a.nkv*d
	scale := T(a.scale())
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		ds := scratch[w][len(scratch[w])/2:]
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			dkb, dvb := dk[b*s*ldk+g*d:], dv[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			for h := g * group; h < (g+1)*group; h++ {
				qb, dqb, dob := q[b*s*ldq+h*d:], dq[b*s*ldq+h*d:], dout[b*s*ldq+h*d:]
				a.blocks(func(i0, i1 int) {
					// Only keys [j0, i1) have nonzero probabilities.
					m, j0 := i1-i0, keyStart(sg, i0, i1)
					pb := blockProbs(a, p, scratch[w], b, h, i0)
					if p == nil {
						attnProbs(a, pb, qb, kb, sg, i0, i1, j0)
					}
					gemm(false, true, m, i1-j0, d, 1, dob[i0*ldq:], ldq, vb[j0*ldk:], ldk, 0, ds[j0:], s)
					gemm(true, false, i1-j0, d, m, 1, pb[j0:], s, dob[i0*ldq:], ldq, 1, dvb[j0*ldk:], ldk)
					for i := i0; i < i1; i++ {
						r := (i - i0) * s
						pr, dr := pb[r+j0:r+i+1], ds[r+j0:r+i1]
						c := dot(pr, dr[:len(pr)])
						for j, p := range pr {
							dr[j] = p * (dr[j] - c)
						}
						clear(dr[len(pr):])
					}
					gemm(false, false, m, d, i1-j0, scale, ds[j0:], s, kb[j0*ldk:], ldk, 1, dqb[i0*ldq:], ldq)
					gemm(true, false, i1-j0, d, m, scale, ds[j0:], s, qb[i0*ldq:], ldq, 1, dkb[j0*ldk:], ldk)
				})
			}
		}
	})
}

// attentionOp: q [n, nh*d], k, v [n, nkv*d] and the bound segments -> [n, nh*d].
type attentionOp[T Float] struct {
	dims    attnDims
	seg     *[]int32
	p       []T   // [b, nh, s, s], or nil to recompute in backward
	scratch [][]T // one dims.scratchLen() per worker
}

func (o *attentionOp[T]) name() string { return "CausalGQAttention" }
func (o *attentionOp[T]) fwd(in [][]T, out []T) {
	attentionForward(out, o.p, in[0], in[1], in[2], *o.seg, o.dims, o.scratch)
}
func (o *attentionOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	attentionBackward(dIn[0], dIn[1], dIn[2], dOut, o.p, in[0], in[1], in[2], *o.seg, o.dims, o.scratch)
}
