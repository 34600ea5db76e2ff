package model

import (
	"math"
	"runtime"

	"github.com/distill-dev/distill/student/blas"
	"github.com/distill-dev/distill/student/kernel"
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
//	q: [n, nH*D] (rotated); out: [n, nH*D]; cache k of layer l: [nKV, cap, D]; v: [nKV*D, cap]
func attend(out, q []float32, rows []row, l int, c *Config, scratch *[][]float32) {
	nH, nKV, d := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDimension()
	group := nH / nKV
	scale := float32(1 / math.Sqrt(float64(d)))
	jobs := len(rows) * nKV

	// one handles the query heads of one KV head for one row: two products
	// through the small-m kernel, scores[group,t] = (q·scale)·Kᵀ off the
	// cache's [t, D] keys and out[group,D] = p·V off its [D, t] values,
	// each key and value row read once for the whole group.
	one := func(j int, scratch []float32) []float32 {
		r, g := j/nKV, j%nKV
		rw := rows[r]
		t, cp := rw.pos+1, rw.cache.cap
		// p·V sums over t8 positions, the scores past t set to 0, so that
		// the kernel needs no tail (the cache's capacity is a multiple of 8).
		t8 := (t + 7) &^ 7
		if cap(scratch) < group*(t8+d) {
			scratch = make([]float32, group*(t8+d), 2*group*(t8+d))
		}
		scores := scratch[:group*t8]           // [group, t8]
		qs := scratch[group*t8 : group*(t8+d)] // [group, D]
		for i, x := range q[r*nH*d+g*group*d : r*nH*d+(g+1)*group*d] {
			qs[i] = x * scale
		}
		k := rw.cache.k[l][g*cp*d : (g*cp+t)*d]  // [t, D]
		vT := rw.cache.v[l][g*d*cp : (g+1)*d*cp] // [D, cap]
		blas.GemmBTFew(group, t, d, qs, d, k, d, scores, t8, false)
		for i := range group {
			softmax(scores[i*t8 : i*t8+t])
			clear(scores[i*t8+t : (i+1)*t8])
		}
		og := out[r*nH*d+g*group*d : r*nH*d+(g+1)*group*d]
		blas.GemmBTFew(group, d, t8, scores, t8, vT, cp, og, d, false)
		return scratch
	}

	// Work grows with the attended length; split across cores only when it
	// outweighs the cost of a split.
	work := 0
	for _, rw := range rows {
		work += (rw.pos + 1) * nH * d
	}
	workers := cores.size()
	for len(*scratch) < workers {
		*scratch = append(*scratch, nil)
	}
	sc := *scratch
	if work < 1<<15 {
		for j := range jobs {
			sc[0] = one(j, sc[0])
		}
		return
	}
	// Rows differ in length (prefill), so the cores take small chunks in
	// turn rather than fixed halves.
	chunk := max(1, jobs/(8*runtime.GOMAXPROCS(0)))
	cores.run((jobs+chunk-1)/chunk, func(w, c int) {
		for j := c * chunk; j < min((c+1)*chunk, jobs); j++ {
			sc[w] = one(j, sc[w])
		}
	})
}

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
