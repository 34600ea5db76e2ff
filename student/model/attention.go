package model

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/distill-dev/distill/student/kernel"
	"gonum.org/v1/gonum/blas/gonum"
)

// row is one token of a forward pass: the cache of its sequence and its
// position there. Rows of one sequence come in position order.
type row struct {
	cache *kvCache
	pos   int
}

// attend computes grouped-query causal attention for each row against the
// keys and values of its own sequence at positions 0..pos (already written
// to the cache for this layer): softmax(q·kᵀ/√D)·v per query head, query
// head h reading KV head h/(nH/nKV) as HF's repeat_kv does.
//
// scratch holds each worker's scores between calls: a decode step calls
// attend once per layer, and fresh buffers each time would be garbage that
// grows the heap with the context.
//
//	q: [n, nH*D] (rotated); out: [n, nH*D]; cache k, v of layer l: [nKV*D, cap]
func attend(out, q []float32, rows []row, l int, c *Config, scratch *[][]float32) {
	nH, nKV, d := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDimension()
	group := nH / nKV
	scale := float32(1 / math.Sqrt(float64(d)))
	jobs := len(rows) * nKV

	// one handles the query heads of one KV head for one row. With the
	// cache transposed, q·kᵀ is D axpys and p·v is D dots, each as long as
	// the context, in gonum's SIMD level-1 routines; each key and value row
	// is loaded once for the whole group.
	one := func(j int, scores []float32) []float32 {
		r, g := j/nKV, j%nKV
		rw := rows[r]
		t, cp := rw.pos+1, rw.cache.cap
		if cap(scores) < group*t {
			scores = make([]float32, group*t, 2*group*t)
		}
		scores = scores[:group*t] // [group, t]
		clear(scores)
		qg := q[r*nH*d+g*group*d : r*nH*d+(g+1)*group*d]
		kT := rw.cache.k[l][g*d*cp : (g+1)*d*cp] // [D, cap]
		vT := rw.cache.v[l][g*d*cp : (g+1)*d*cp]
		for e := 0; e < d; e++ {
			kr := kT[e*cp : e*cp+t]
			for i := 0; i < group; i++ {
				vec.Saxpy(t, qg[i*d+e]*scale, kr, 1, scores[i*t:(i+1)*t], 1)
			}
		}
		og := out[r*nH*d+g*group*d : r*nH*d+(g+1)*group*d]
		for i := 0; i < group; i++ {
			p := scores[i*t : (i+1)*t]
			softmax(p)
			for e := 0; e < d; e++ {
				og[i*d+e] = vec.Sdot(t, p, 1, vT[e*cp:e*cp+t], 1)
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
	workers := min(runtime.GOMAXPROCS(0), jobs)
	for len(*scratch) < max(workers, 1) {
		*scratch = append(*scratch, nil)
	}
	sc := *scratch
	if workers < 2 || work < 1<<15 {
		for j := range jobs {
			sc[0] = one(j, sc[0])
		}
		return
	}
	// Rows differ in length (prefill), so workers take small chunks from a
	// shared counter rather than fixed halves.
	chunk := max(1, jobs/(8*workers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= jobs {
					return
				}
				for j := lo; j < min(lo+chunk, jobs); j++ {
					sc[w] = one(j, sc[w])
				}
			}
		}()
	}
	wg.Wait()
}

// vec is gonum's level-1 BLAS: SIMD assembly on amd64 and no cgo call,
// the fastest for the many short vectors of attention.
var vec gonum.Implementation

// softmax normalises x in place, in float32 as HF's eager attention does.
func softmax(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	inv := 1 / kernel.ExpSubSum(x, x, m)
	for i := range x {
		x[i] *= inv
	}
}
