package model

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// row is one token of a forward pass: the cache of its sequence and its
// position there. Rows of one sequence come in position order.
type row struct {
	cache *kvCache
	pos   int
}

// attend computes grouped-query causal attention for each row against the
// keys and values of its own sequence at positions 0..pos (already written
// to the cache for this layer).
//
//	q: [n, nH*D] (rotated); out: [n, nH*D]; cache k, v of layer l: [cap, nKV*D]
func attend(out, q []float32, rows []row, l int, c *Config) {
	nH, nKV, d := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDimension()
	group := nH / nKV
	scale := float32(1 / math.Sqrt(float64(d)))
	n := len(rows)
	jobs := n * nH

	one := func(lo, hi int, scores []float32) []float32 {
		for j := lo; j < hi; j++ {
			r, h := j/nH, j%nH
			rw := rows[r]
			t := rw.pos + 1
			if cap(scores) < t {
				scores = make([]float32, t, 2*t)
			}
			scores = scores[:t]
			qh := q[r*nH*d+h*d : r*nH*d+(h+1)*d]
			off := (h / group) * d
			kc, vc := rw.cache.k[l], rw.cache.v[l]
			stride := nKV * d
			maxS := float32(math.Inf(-1))
			for p := 0; p < t; p++ {
				kp := kc[p*stride+off : p*stride+off+d]
				var s float32
				for i, x := range qh {
					s += x * kp[i]
				}
				s *= scale
				scores[p] = s
				if s > maxS {
					maxS = s
				}
			}
			var sum float32
			for p := range scores {
				e := float32(math.Exp(float64(scores[p] - maxS)))
				scores[p] = e
				sum += e
			}
			oh := out[r*nH*d+h*d : r*nH*d+(h+1)*d]
			clear(oh)
			inv := 1 / sum
			for p, e := range scores {
				wgt := e * inv
				vp := vc[p*stride+off : p*stride+off+d]
				for i, x := range vp {
					oh[i] += wgt * x
				}
			}
		}
		return scores
	}

	// Work grows with the attended length; split across cores only when it
	// outweighs the cost of starting goroutines.
	work := 0
	for _, rw := range rows {
		work += (rw.pos + 1) * nH * d
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || work < 1<<16 || jobs < 2 {
		one(0, jobs, nil)
		return
	}
	if workers > jobs {
		workers = jobs
	}
	// Rows differ in length (prefill), so workers take small chunks from a
	// shared counter rather than fixed halves.
	chunk := max(1, jobs/(8*workers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scores []float32
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= jobs {
					return
				}
				scores = one(lo, min(lo+chunk, jobs), scores)
			}
		}()
	}
	wg.Wait()
}
