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
//
// The products take the group of nh/nkv query heads that share a key/value
// head together: a block's queries of all of them stacked, query-major (row
// (i-i0)·group + head), so that each product has group× the rows and the
// key/value gradients sum over the heads inside the product. At the
// qwen-small shape (4 heads of 64) that doubles the speed of the P·V
// products (measured 28 → 62 GFLOPS on one thread).
type attnDims struct{ b, s, nh, nkv, d, blk int }

// attnBlock is the query block of the causal products: small enough to
// skip most of the triangle, large enough for BLAS to run at speed.
const attnBlock = 64

// blocks calls f for each query block [i0, i1) of a row.
func (a attnDims) blocks(f func(i0, i1 int)) {
	blk := a.blockLen()
	for i0 := 0; i0 < a.s; i0 += blk {
		f(i0, min(i0+blk, a.s))
	}
}

func (a attnDims) scale() float64 { return 1 / math.Sqrt(float64(a.d)) }

// group is how many query heads share a key/value head.
func (a attnDims) group() int { return a.nh / a.nkv }

// attnScratch is a worker's scratch, cut from one slice: the stacked
// probabilities and their gradients of a block ([group·blk, s] each) and
// two stacked [group·blk, d] blocks of head vectors (queries, and output
// or its gradient).
type attnScratch[T Float] struct{ p, ds, q, o []T }

// scratchLen is the size of a worker's scratch.
func (a attnDims) scratchLen() int {
	rows := a.group() * min(a.blockLen(), a.s)
	return 2*rows*a.s + 2*rows*a.d
}

func splitScratch[T Float](a attnDims, buf []T) attnScratch[T] {
	rows := a.group() * min(a.blockLen(), a.s)
	ps, hs := rows*a.s, rows*a.d
	return attnScratch[T]{p: buf[:ps], ds: buf[ps : 2*ps], q: buf[2*ps : 2*ps+hs], o: buf[2*ps+hs : 2*ps+2*hs]}
}
func (a attnDims) blockLen() int {
	if a.blk <= 0 {
		return attnBlock
	}
	return a.blk
}

// attentionForward is causal grouped-query attention with segment masking:
// token i of a row attends to tokens j ≤ i of the same row with seg[j] ==
// seg[i], so packed sequences do not see each other.
//
//	q [b*s, nh*d], k, v [b*s, nkv*d], seg [b*s] -> out [b*s, nh*d], p [b, nkv, s, group, s]
//
// p keeps the attention probabilities for the backward pass, those of
// query i and head g·group+h at row i·group+h of (row b, kv head g); nil
// keeps nothing (the backward pass recomputes them) and uses each worker's
// scratch for a block's probabilities instead. Work is split over (row,
// kv head) pairs, each owning its slice of every buffer.
func attentionForward[T Float](out, p, q, k, v []T, seg []int32, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.group()
	ldq, ldk := a.nh*d, a.nkv*d
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		sc := splitScratch(a, scratch[w])
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			qb, ob := q[b*s*ldq+g*group*d:], out[b*s*ldq+g*group*d:]
			a.blocks(func(i0, i1 int) {
				j0 := keyStart(sg, i0, i1)
				pr := blockProbs(a, p, sc.p, u, i0)
				stack(sc.q, qb, a, i0, i1)
				attnProbs(a, pr, sc.q, kb, sg, i0, i1, j0)
				// O[i0:i1] of the group's heads = P[·, j0:i1] · V_g[j0:i1], stacked
				gemm(false, false, (i1-i0)*group, d, i1-j0, 1, pr[j0:], s, vb[j0*ldk:], ldk, 0, sc.o, d)
				unstack(ob, sc.o, a, i0, i1, false)
			})
		}
	})
}

// stack copies the vectors of a kv head group's query heads for queries
// [i0, i1) from x (query i at i·nh·d, the group's first head at 0) into
// dst [(i1-i0)·group, d], query-major: one contiguous run per query.
func stack[T Float](dst, x []T, a attnDims, i0, i1 int) {
	ld, w := a.nh*a.d, a.group()*a.d
	for i := i0; i < i1; i++ {
		copy(dst[(i-i0)*w:(i-i0+1)*w], x[i*ld:i*ld+w])
	}
}

// unstack is stack's inverse: it writes (add: adds) the stacked block src
// back to the queries' rows of x.
func unstack[T Float](x, src []T, a attnDims, i0, i1 int, add bool) {
	ld, w := a.nh*a.d, a.group()*a.d
	for i := i0; i < i1; i++ {
		if add {
			axpy(1, src[(i-i0)*w:(i-i0+1)*w], x[i*ld:i*ld+w])
		} else {
			copy(x[i*ld:i*ld+w], src[(i-i0)*w:(i-i0+1)*w])
		}
	}
}

// blockProbs is where the stacked probabilities of query block [i0,
// i0+blk) of (row, kv head) pair u live, row r at r·s: in p when it is
// kept, else in the worker's scratch.
func blockProbs[T Float](a attnDims, p, scratch []T, u, i0 int) []T {
	if p == nil {
		return scratch
	}
	return p[(u*a.s+i0)*a.group()*a.s : (u+1)*a.s*a.group()*a.s]
}

// keepsProbs says whether the forward pass keeps the probabilities for
// the backward pass (b·nh·s² floats) or the backward pass recomputes them
// (one more score product and softmax): kept up to 16M floats (64 MB in
// float32), as at every CPU-sized shape; recomputed at long sequences,
// where they would dominate the activations (3.2 GB a layer for a 1.5B
// Qwen at 8,192 tokens).
func (a attnDims) keepsProbs() bool { return a.b*a.nh*a.s*a.s <= keepProbsLimit }

// keepProbsLimit is keepsProbs' bound; tests lower it.
var keepProbsLimit = 1 << 24

// attnProbs fills pr (stacked row r at r·s, query i0 + r/group) with the
// probabilities of query block [i0, i1) of the group's heads over keys
// [j0, i1), zero elsewhere:
//
//	scores = scale · Q[i0:i1] · K_g[j0:i1]ᵀ, then the masked softmax,
//
// with qs the block's stacked queries (see stack).
func attnProbs[T Float](a attnDims, pr, qs, kb []T, sg []int32, i0, i1, j0 int) {
	group, ldk := a.group(), a.nkv*a.d
	gemm(false, true, (i1-i0)*group, i1-j0, a.d, T(a.scale()), qs, a.d, kb[j0*ldk:], ldk, 0, pr[j0:], a.s)
	row := func(i, h int) []T {
		r := ((i-i0)*group + h) * a.s
		return pr[r : r+a.s]
	}
	if !contiguous(sg[j0:i1]) {
		for i := i0; i < i1; i++ {
			for h := range group {
				maskedSoftmax(row(i, h), sg, i, j0)
			}
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
		for h := range group {
			runSoftmax(row(i, h), r, i)
		}
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
// each product on a block's stacked query heads (see attnDims). P comes
// from p, or, when p is nil, is recomputed block by block into the
// worker's scratch.
func attentionBackward[T Float](dq, dk, dv, dout, p, q, k, v []T, seg []int32, a attnDims, scratch [][]T) {
	s, d, group := a.s, a.d, a.group()
	ldq, ldk := a.nh*d, a.nkv*d
	scale := T(a.scale())
	parallelFor(len(scratch), a.b*a.nkv, func(w, lo, hi int) {
		sc := splitScratch(a, scratch[w])
		ds := sc.ds
		for u := lo; u < hi; u++ {
			b, g := u/a.nkv, u%a.nkv
			kb, vb := k[b*s*ldk+g*d:], v[b*s*ldk+g*d:]
			dkb, dvb := dk[b*s*ldk+g*d:], dv[b*s*ldk+g*d:]
			sg := seg[b*s : (b+1)*s]
			o := b*s*ldq + g*group*d
			qb, dqb, dob := q[o:], dq[o:], dout[o:]
			a.blocks(func(i0, i1 int) {
				// Only keys [j0, i1) have nonzero probabilities.
				m, j0 := (i1-i0)*group, keyStart(sg, i0, i1)
				pb := blockProbs(a, p, sc.p, u, i0)
				stack(sc.q, qb, a, i0, i1)
				if p == nil {
					attnProbs(a, pb, sc.q, kb, sg, i0, i1, j0)
				}
				stack(sc.o, dob, a, i0, i1)
				gemm(false, true, m, i1-j0, d, 1, sc.o, d, vb[j0*ldk:], ldk, 0, ds[j0:], s)
				gemm(true, false, i1-j0, d, m, 1, pb[j0:], s, sc.o, d, 1, dvb[j0*ldk:], ldk)
				for r := range m {
					i, o := i0+r/group, r*s
					pr, dr := pb[o+j0:o+i+1], ds[o+j0:o+i1]
					c := dot(pr, dr[:len(pr)])
					for j, p := range pr {
						dr[j] = p * (dr[j] - c)
					}
					clear(dr[len(pr):])
				}
				gemm(false, false, m, d, i1-j0, scale, ds[j0:], s, kb[j0*ldk:], ldk, 0, sc.o, d)
				unstack(dqb, sc.o, a, i0, i1, true)
				gemm(true, false, i1-j0, d, m, scale, ds[j0:], s, sc.q, d, 1, dkb[j0*ldk:], ldk)
			})
		}
	})
}

// attentionOp: q [n, nh*d], k, v [n, nkv*d] and the bound segments -> [n, nh*d].
type attentionOp[T Float] struct {
	dims    attnDims
	seg     *[]int32
	p       []T   // [b, nkv, s, group, s], or nil to recompute in backward
	scratch [][]T // one dims.scratchLen() per worker
}

func (o *attentionOp[T]) name() string { return "CausalGQAttention" }
func (o *attentionOp[T]) fwd(in [][]T, out []T) {
	attentionForward(out, o.p, in[0], in[1], in[2], *o.seg, o.dims, o.scratch)
}
func (o *attentionOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	attentionBackward(dIn[0], dIn[1], dIn[2], dOut, o.p, in[0], in[1], in[2], *o.seg, o.dims, o.scratch)
}
