package model

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// SampleOptions control generation. The warpers apply in HF's order:
// temperature, then top-k, then top-p.
type SampleOptions struct {
	Temperature  float64 // 0: greedy (argmax)
	TopP         float64 // nucleus mass in (0, 1); 0 or ≥ 1 disables
	TopK         int     // keep the k most likely tokens; 0 disables
	MaxNewTokens int     // must be positive
	StopTokens   []int32 // generation ends after emitting one of these (it is included in the output)
	Seed         uint64  // sequence i draws from its own stream (Seed, i)
}

// sampler picks the next token of one sequence; it owns that sequence's
// random stream and scratch space, so sequences can be sampled in parallel
// and results do not depend on batch composition.
type sampler struct {
	rng  *rand.Rand
	cand []cand
	heap []float32
}

type cand struct {
	p  float64
	id int32
}

func newSampler(seed uint64, index int) *sampler {
	return &sampler{rng: rand.New(rand.NewPCG(seed, uint64(index)^0x9e3779b97f4a7c15))}
}

// argmax returns the first index of the largest logit, as torch.argmax.
func argmax(logits []float32) int32 {
	best, top := 0, logits[0]
	for i, v := range logits {
		if v > top {
			best, top = i, v
		}
	}
	return int32(best)
}

// next draws a token from logits [V] under o.
func (s *sampler) next(logits []float32, o *SampleOptions) int32 {
	if o.Temperature <= 0 {
		return argmax(logits)
	}
	floor := float32(math.Inf(-1))
	if o.TopK > 0 && o.TopK < len(logits) {
		// HF keeps every token whose score is ≥ the k-th largest, ties included.
		floor = s.kthLargest(logits, o.TopK)
	}
	top := logits[argmax(logits)]
	invT := 1 / o.Temperature

	// softmax(logits / T) over the tokens top-k kept (the others are -inf).
	s.cand = s.cand[:0]
	var sum float64
	for i, x := range logits {
		if x >= floor {
			p := math.Exp(float64(x-top) * invT)
			s.cand = append(s.cand, cand{p, int32(i)})
			sum += p
		}
	}
	c := s.cand
	for i := range c {
		c[i].p /= sum
	}

	if o.TopP > 0 && o.TopP < 1 {
		// HF sorts ascending and removes the prefix whose cumulative mass is
		// ≤ 1 − top_p, always keeping the most likely token. Tokens below
		// tau = (1 − top_p)/n together weigh less than 1 − top_p, so they
		// are all in that prefix: drop them before sorting.
		tau := (1 - o.TopP) / float64(len(c))
		var cum float64
		j := 0
		for _, x := range c {
			if x.p < tau {
				cum += x.p
			} else {
				c[j] = x
				j++
			}
		}
		c = c[:j]
		slices.SortFunc(c, func(a, b cand) int {
			if a.p != b.p {
				return cmp.Compare(b.p, a.p)
			}
			return cmp.Compare(a.id, b.id)
		})
		keep := len(c)
		for i := len(c) - 1; i > 0; i-- {
			if cum+c[i].p > 1-o.TopP {
				break
			}
			cum += c[i].p
			keep = i
		}
		c = c[:keep]
		sum = 0
		for _, x := range c {
			sum += x.p
		}
		for i := range c {
			c[i].p /= sum
		}
	}
	u := s.rng.Float64()
	for _, x := range c {
		u -= x.p
		if u < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// kthLargest returns the k-th largest value of x (1-based) with a min-heap
// of the k largest seen: O(V log k), no copy of the logits.
func (s *sampler) kthLargest(x []float32, k int) float32 {
	h := append(s.heap[:0], x[:k]...)
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for _, v := range x[k:] {
		if v > h[0] {
			h[0] = v
			siftDown(h, 0)
		}
	}
	s.heap = h
	return h[0]
}

func siftDown(h []float32, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
