package graph

import "math"

// lossForward is the LM head fused with log-softmax and the target gather.
// Only the rows with a target (rows, ascending) are projected: prompt
// tokens masked out of the loss cost no vocabulary product. invTemp scales
// the logits (1/temperature): GRPO scores its samples under the
// distribution it drew them from, as TRL does.
//
//	hn [n,h], W [V,h], targets [n] -> logp [n] = log softmax(invTemp·hn·Wᵀ)[target], 0 where target < 0
//
// hc [len(rows), h] holds the gathered rows and probs [len(rows), V] the
// softmax, both for the backward pass.
func lossForward[T Float](logp, probs, hc, hn, w []T, targets, rows []int32, h, vocab, workers int, invTemp T) {
	clear(logp)
	m := len(rows)
	for c, r := range rows {
		copy(hc[c*h:(c+1)*h], hn[int(r)*h:(int(r)+1)*h])
	}
	pgemm(false, true, m, vocab, h, invTemp, hc, h, w, h, 0, probs, vocab)
	parallelFor(workers, m, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			row := probs[c*vocab : (c+1)*vocab]
			mx := T(math.Inf(-1))
			for _, x := range row {
				mx = max(mx, x)
			}
			t := targets[rows[c]]
			xt := row[t]
			var sum T
			for j, x := range row {
				e := exp(x - mx)
				row[j] = e
				sum += e
			}
			// from the logit, not the probability, which may underflow
			logp[rows[c]] = xt - mx - log(sum)
			inv := 1 / sum
			for j := range row {
				row[j] *= inv
			}
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
			for j := range row {
				row[j] *= k
			}
			row[targets[r]] -= k
		}
	})
	pgemm(false, false, m, h, vocab, invTemp, probs, vocab, w, h, 0, dhc, h)
	for c, r := range rows {
		axpy(1, dhc[c*h:(c+1)*h], dhn[int(r)*h:(int(r)+1)*h])
	}
	if dw != nil { // nil: frozen head
		pgemm(true, false, vocab, h, m, invTemp, probs, vocab, hc, h, 1, dw, h)
	}
}

// lossOp: hn [n,h], W [V,h] and the bound targets -> logp [n].
type lossOp[T Float] struct {
	h, vocab, workers int
	invTemp           T // 1/temperature of the softmax
	targets, rows     *[]int32
	probs, hc, dhc    []T // [n,V], [n,h], [n,h]; the first len(rows) rows in use
}

func (o *lossOp[T]) name() string { return "LMHeadLogSoftmax" }
func (o *lossOp[T]) fwd(in [][]T, out []T) {
	lossForward(out, o.probs, o.hc, in[0], in[1], *o.targets, *o.rows, o.h, o.vocab, o.workers, o.invTemp)
}
func (o *lossOp[T]) bwd(in, dIn [][]T, _, dOut []T) {
	lossBackward(dIn[0], dIn[1], o.dhc, o.probs, o.hc, in[1], dOut, *o.targets, *o.rows, o.h, o.vocab, o.workers, o.invTemp)
}
