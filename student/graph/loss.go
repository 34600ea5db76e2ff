package graph

import (
	"github.com/distill-dev/distill/student/kernel"
)

// lossForward is the LM head fused with log-softmax and the target gather.
// Only the rows with a target (rows, ascending) are projected: prompt
// tokens masked out of the loss cost no vocabulary product. invTemp scales
// the logits (1/temperature): GRPO scores its samples under the
// distribution it drew them from, as TRL does.
//
//	hn [n,h], W [V,h], targets [n] -> logp [n] = log softmax(invTemp·hn·Wᵀ)[target], 0 where target < 0
//
// hc [len(rows), h] holds the gathered rows and probs [len(rows), V] the
// softmax, both for the backward pass, and lse [len(rows)] the log of each
// row's softmax denominator (logits scaled), from which lossRecompute
// rebuilds probs. logp at rows not given is left as it is.
func lossForward[T Float](logp, probs, lse, hc, hn, w []T, targets, rows []int32, h, vocab, workers int, invTemp T) {
	m := len(rows)
	headLogits(probs, hc, hn, w, rows, h, vocab, invTemp)
	parallelFor(workers, m, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			row := probs[c*vocab : (c+1)*vocab]
			mx := kernel.Max(row)
			t := targets[rows[c]]
			xt := row[t]
			sum := kernel.ExpSubSum(row, row, mx)
			// from the logit, not the probability, which may underflow
			lse[c] = mx + log(sum)
			logp[rows[c]] = xt - lse[c]
			kernel.Scale(row, 1/sum)
		}
	})
}

// headLogits gathers the given rows of hn into hc [m,h] and writes their
// scaled logits invTemp·hc·Wᵀ into probs [m,V].
func headLogits[T Float](probs, hc, hn, w []T, rows []int32, h, vocab int, invTemp T) {
	for c, r := range rows {
		copy(hc[c*h:(c+1)*h], hn[int(r)*h:(int(r)+1)*h])
	}
	pgemm(false, true, len(rows), vocab, h, invTemp, hc, h, w, h, 0, probs, vocab)
}

// lossRecompute rebuilds the hc and probs of lossForward for rows from the
// lse it kept: the backward pass of a chunk whose buffers another chunk
// has since used.
func lossRecompute[T Float](probs, lse, hc, hn, w []T, rows []int32, h, vocab, workers int, invTemp T) {
	m := len(rows)
	headLogits(probs, hc, hn, w, rows, h, vocab, invTemp)
	parallelFor(workers, m, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			row := probs[c*vocab : (c+1)*vocab]
			kernel.ExpSub(row, row, lse[c])
		}
	})
}

// lossBackward accumulates the gradients of lossForward given dlogp [n]:
//
//	dlogits [m,V] = dlogp·(onehot(target) - p),  dhn[rows] += invTemp·dlogits·W,  dW += invTemp·dlogitsᵀ·hc
//
// It overwrites probs with dlogits and uses dhc [m,h] as scratch. dw is nil
// when the head is frozen.
func lossBackward[T Float](dhn, dw, dhc, probs, hc, w, dlogp []T, targets, rows []int32, h, vocab, workers int, invTemp T) {
	m := len(rows)
	parallelFor(workers, m, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			r := rows[c]
			row := probs[c*vocab : (c+1)*vocab]
			k := -dlogp[r]
			kernel.Scale(row, k)
			row[targets[r]] -= k
		}
	})
	// dhc and dW (nil: frozen head) share the workers by cost (see
	// gemms); each worker adds its rows of dhc into dhn (rows are distinct).
	dX := product[T]{false, false, m, h, vocab, invTemp, probs, vocab, w, h, 0, dhc, h}
	dW := product[T]{true, false, vocab, h, m, invTemp, probs, vocab, hc, h, 1, dw, h}
	items, cost := []int{m, vocab}, []int{h * vocab, h * m}
	if dw == nil {
		items, cost = items[:1], cost[:1]
	}
	parallelShares(workers, items, cost, func(i, lo, hi int) {
		if i == 1 {
			dW.rows(lo, hi)
			return
		}
		dX.rows(lo, hi)
		for c := lo; c < hi; c++ {
			r := int(rows[c])
			axpy(1, dhc[c*h:(c+1)*h], dhn[r*h:(r+1)*h])
		}
	})
}

// lossOp: hn [n,h], W [V,h] and the bound targets -> logp [n].
//
// The rows with a target go through in chunks of at most chunk rows, so
// the softmax takes chunk×V floats rather than n×V (5 GB for 8,192 tokens
// of a 152k vocabulary). When they fit in one chunk, as at small
// vocabularies, backward uses forward's softmax; otherwise it recomputes
// each chunk's logits (one more head product).
type lossOp[T Float] struct {
	h, vocab, workers int
	chunk             int
	invTemp           T // 1/temperature of the softmax
	targets, rows     *[]int32
	probs, hc, dhc    []T // [chunk,V], [chunk,h], [chunk,h]
	lse               []T // [n]: log-sum-exp of each counted row
}

// lossChunk is how many rows a loss chunk holds: a softmax of at most 16M
// floats (64 MB in float32).
func lossChunk(n, vocab int) int { return max(1, min(n, (1<<24)/vocab)) }

func newLossOp[T Float](n, h, vocab, workers int, targets, rows *[]int32) *lossOp[T] {
	c := lossChunk(n, vocab)
	return &lossOp[T]{h: h, vocab: vocab, workers: workers, chunk: c, invTemp: 1, targets: targets, rows: rows,
		probs: make([]T, c*vocab), hc: make([]T, c*h), dhc: make([]T, c*h), lse: make([]T, n)}
}

func (o *lossOp[T]) name() string { return "LMHeadLogSoftmax" }
func (o *lossOp[T]) fwd(in [][]T, out []T) {
	clear(out)
	rows := *o.rows
	for c0 := 0; c0 < len(rows); c0 += o.chunk {
		c1 := min(c0+o.chunk, len(rows))
		lossForward(out, o.probs, o.lse[c0:c1], o.hc, in[0], in[1], *o.targets, rows[c0:c1], o.h, o.vocab, o.workers, o.invTemp)
	}
}
func (o *lossOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	rows := *o.rows
	for c0 := 0; c0 < len(rows); c0 += o.chunk {
		c1 := min(c0+o.chunk, len(rows))
		if len(rows) > o.chunk {
			lossRecompute(o.probs, o.lse[c0:c1], o.hc, in[0], in[1], rows[c0:c1], o.h, o.vocab, o.workers, o.invTemp)
		}
		lossBackward(dIn[0], dIn[1], o.dhc, o.probs, o.hc, in[1], dOut, *o.targets, rows[c0:c1], o.h, o.vocab, o.workers, o.invTemp)
	}
}
