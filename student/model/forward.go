package model

import (
	"fmt"

	"github.com/distill-dev/distill/student/blas"
	"github.com/distill-dev/distill/student/kernel"
)

// runner evaluates the decoder on a set of rows (tokens of one or more
// sequences) with reusable scratch buffers. Weights are read, never cached
// in another form, so training may update them between calls.
type runner struct {
	w       *Weights
	c       *Config
	invFreq []float64 // RopeInvFreq of c

	x, xn, q, k, v, att, gate, up, cos, sin []float32
	pos                                     []int
	scores                                  [][]float32 // attention's, per worker
}

func newRunner(w *Weights) *runner {
	return &runner{w: w, c: w.Config, invFreq: RopeInvFreq(w.Config)}
}

// rotate applies the rotary embedding in place to every head of the n rows
// of x, with the tables forward filled for the rows' positions.
//
//	x: [n, heads*D]
func (r *runner) rotate(x []float32, n int) {
	half := len(r.invFreq)
	row := len(x) / n
	for j := range n {
		kernel.Rope(x[j*row:(j+1)*row], x[j*row:(j+1)*row], r.cos[j*half:(j+1)*half], r.sin[j*half:(j+1)*half])
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// forward runs tokens (one per row) through the decoder, writing their keys
// and values into the rows' caches, and fills logits for the rows listed in
// out (by index into rows), in that order.
//
//	tokens: [n]; rows: [n]; out: [m] row indices; logits: [m, V]
func (r *runner) forward(tokens []int32, rows []row, out []int, logits []float32) {
	c, w := r.c, r.w
	n, h := len(tokens), c.HiddenSize
	d := c.HeadDimension()
	qDim, kvDim := c.NumAttentionHeads*d, c.NumKeyValueHeads*d
	inter := c.IntermediateSize
	eps := float32(c.RMSNormEps)

	r.x, r.xn = grow(r.x, n*h), grow(r.xn, n*h)
	r.q, r.k, r.v = grow(r.q, n*qDim), grow(r.k, n*kvDim), grow(r.v, n*kvDim)
	r.att = grow(r.att, n*qDim)
	r.gate, r.up = grow(r.gate, n*inter), grow(r.up, n*inter)
	r.cos, r.sin = grow(r.cos, n*d/2), grow(r.sin, n*d/2)
	if cap(r.pos) < n {
		r.pos = make([]int, n)
	}
	r.pos = r.pos[:n]

	// x[n,H] = embed[tokens]
	for i, t := range tokens {
		copy(r.x[i*h:(i+1)*h], w.Embed.Data[int(t)*h:(int(t)+1)*h])
		r.pos[i] = rows[i].pos
	}
	kernel.RopeTables(r.cos, r.sin, r.invFreq, r.pos)

	for l := range w.Layers {
		L := &w.Layers[l]
		// attention block: x += o(attn(rope(q(norm(x))), rope(k(.)), v(.)))
		kernel.RMSNorm(r.xn, nil, r.x, L.InputNorm.Data, eps)
		r.qkv(L, n)
		r.rotate(r.q, n)
		r.rotate(r.k, n)
		for i, rw := range rows {
			rw.cache.put(l, rw.pos, r.k[i*kvDim:(i+1)*kvDim], r.v[i*kvDim:(i+1)*kvDim])
		}
		attend(r.att, r.q, rows, l, c, &r.scores)
		matMulBT(r.x, r.att, L.O.Data, n, qDim, h, true) // residual add via beta=1

		// MLP block: x += down(silu(gate(norm(x))) * up(norm(x)))
		kernel.RMSNorm(r.xn, nil, r.x, L.PostNorm.Data, eps)
		r.gateUp(L, n)
		matMulBT(r.x, r.gate, L.Down.Data, n, inter, h, true)
	}
	if len(out) == 0 {
		return
	}
	// final norm and head on the requested rows only: [m,H] · head[V,H]ᵀ
	m := len(out)
	sel := r.xn[:m*h]
	for j, i := range out {
		kernel.RMSNorm(sel[j*h:(j+1)*h], nil, r.x[i*h:(i+1)*h], w.Norm.Data, eps)
	}
	matMulBT(logits, sel, w.Head().Data, m, h, c.VocabSize, false)
}

// gateUp computes gate = silu(xn·Gateᵀ) * (xn·Upᵀ) for n rows, each core
// taking the same columns of both products and gating them at once: one
// split for the three steps, and SwiGLU runs on all cores.
//
//	xn: [n, H] → gate: [n, I]; up: [n, I] scratch
func (r *runner) gateUp(L *Layer, n int) {
	h, inter := r.c.HiddenSize, r.c.IntermediateSize
	parallelCols(inter, 2*n*h*inter, func(lo, hi int) {
		blas.GemmBTFew(n, hi-lo, h, r.xn, h, L.Gate.Data[lo*h:hi*h], h, r.gate[lo:], inter, false)
		blas.GemmBTFew(n, hi-lo, h, r.xn, h, L.Up.Data[lo*h:hi*h], h, r.up[lo:], inter, false)
		for i := range n {
			g := r.gate[i*inter+lo : i*inter+hi]
			kernel.SwiGLU(g, nil, g, r.up[i*inter+lo:i*inter+hi])
		}
	})
}

// qkv computes the three projections q, k, v of xn (each + its bias) in
// one split across cores: the output features of the three, end to end,
// divided among them.
//
//	xn: [n, H] → q: [n, nH*D]; k, v: [n, nKV*D]
func (r *runner) qkv(L *Layer, n int) {
	h := r.c.HiddenSize
	type proj struct {
		y    []float32
		w, b *Tensor
	}
	ps := [3]proj{{r.q, &L.Q, &L.QBias}, {r.k, &L.K, &L.KBias}, {r.v, &L.V, &L.VBias}}
	total := 0
	for _, p := range ps {
		total += len(p.w.Data) / h
	}
	parallelCols(total, n*h*total, func(lo, hi int) {
		base := 0
		for _, p := range ps {
			out := len(p.w.Data) / h
			a, b := max(lo-base, 0), min(hi-base, out)
			base += out
			if a >= b {
				continue
			}
			blas.GemmBTFew(n, b-a, h, r.xn, h, p.w.Data[a*h:b*h], h, p.y[a:], out, false)
			if len(p.b.Data) == 0 {
				continue
			}
			// the bias after the product, as kernel.Linear adds it
			for i := range n {
				y := p.y[i*out+a : i*out+b]
				for j, v := range p.b.Data[a:b] {
					y[j] += v
				}
			}
		}
	})
}

// CheckTokens reports the first token id outside the vocabulary and
// sequences longer than max_position_embeddings.
func (w *Weights) CheckTokens(tokens []int32) error {
	if len(tokens) == 0 {
		return fmt.Errorf("empty token sequence")
	}
	if mp := w.Config.MaxPositionEmbeddings; mp > 0 && len(tokens) > mp {
		return fmt.Errorf("%w: %d tokens, max_position_embeddings is %d", ErrContextTooLong, len(tokens), mp)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= w.Config.VocabSize {
			return fmt.Errorf("token %d at position %d is outside the vocabulary [0, %d)", t, i, w.Config.VocabSize)
		}
	}
	return nil
}

// Forward returns the logits of every position of one sequence.
// It panics on ids that CheckTokens rejects.
//
//	tokens: [T] → [T, V]
func (w *Weights) Forward(tokens []int32) []float32 {
	if err := w.CheckTokens(tokens); err != nil {
		panic("model: Forward: " + err.Error())
	}
	t := len(tokens)
	kc := newKVCache(w.Config, t)
	rows := make([]row, t)
	out := make([]int, t)
	for i := range rows {
		rows[i] = row{cache: kc, pos: i}
		out[i] = i
	}
	logits := make([]float32, t*w.Config.VocabSize)
	newRunner(w).forward(tokens, rows, out, logits)
	return logits
}

// Logits returns the logits of the last position of one sequence.
// It panics on ids that CheckTokens rejects.
//
//	tokens: [T] → [V]
func (w *Weights) Logits(tokens []int32) []float32 {
	if err := w.CheckTokens(tokens); err != nil {
		panic("model: Logits: " + err.Error())
	}
	t := len(tokens)
	kc := newKVCache(w.Config, t)
	rows := make([]row, t)
	for i := range rows {
		rows[i] = row{cache: kc, pos: i}
	}
	logits := make([]float32, w.Config.VocabSize)
	newRunner(w).forward(tokens, rows, []int{t - 1}, logits)
	return logits
}
