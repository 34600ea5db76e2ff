package graph

import (
	"errors"
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// params views a model.Weights as slices of T: the same memory for float32,
// a converted copy for float64 (gradient checks).
type params[T Float] struct {
	embed, norm, head []T
	layers            []layerParams[T]
	loraScale         T // alpha/r of the adapters, 0 without
}

type layerParams[T Float] struct {
	inNorm, q, k, v, o, qb, kb, vb, postNorm, gate, up, down []T
	lora                                                     [7]adapterParams[T] // by index in lora.Modules; nil slices where not adapted
}

// adapterParams are one projection's LoRA matrices, A [r,in] and B [out,r].
type adapterParams[T Float] struct {
	a, b []T
	rank int
}

func slicesOf[T Float](t *model.Tensor) []T {
	if len(t.Data) == 0 {
		return nil
	}
	if d, ok := any(t.Data).([]T); ok {
		return d
	}
	d := make([]T, len(t.Data))
	for i, x := range t.Data {
		d[i] = T(x)
	}
	return d
}

func paramsOf[T Float](w *model.Weights) *params[T] {
	p := &params[T]{embed: slicesOf[T](&w.Embed), norm: slicesOf[T](&w.Norm), head: slicesOf[T](&w.LMHead)}
	for l := range w.Layers {
		L := &w.Layers[l]
		p.layers = append(p.layers, layerParams[T]{
			inNorm: slicesOf[T](&L.InputNorm), q: slicesOf[T](&L.Q), k: slicesOf[T](&L.K), v: slicesOf[T](&L.V),
			o: slicesOf[T](&L.O), qb: slicesOf[T](&L.QBias), kb: slicesOf[T](&L.KBias), vb: slicesOf[T](&L.VBias),
			postNorm: slicesOf[T](&L.PostNorm), gate: slicesOf[T](&L.Gate), up: slicesOf[T](&L.Up), down: slicesOf[T](&L.Down),
		})
	}
	return p
}

// withAdapters adds the LoRA matrices of a to p. frozen drops p's base
// slices: the gradients of a LoRA graph, which has none for the base.
func withAdapters[T Float](p *params[T], a *lora.Adapters, frozen bool) *params[T] {
	if frozen {
		p = &params[T]{layers: make([]layerParams[T], len(p.layers))}
	}
	p.loraScale = T(a.Scale())
	for i := range a.List {
		ad := &a.List[i]
		p.layers[ad.Layer].lora[slices.Index(lora.Modules, ad.Module)] = adapterParams[T]{
			a: slicesOf[T](&ad.A), b: slicesOf[T](&ad.B), rank: a.Rank}
	}
	return p
}

// net is the decoder as a gorgonia graph of fused ops, with its own
// executor: forward in topological order, backward in reverse.
type net[T Float] struct {
	cfg        *model.Config
	batch, seq int
	g          *G.ExprGraph
	order      []*fusedOp[T]
	forwards   []*fusedOp[T] // order less the ops a group runs (forwardSchedule)
	ownGrads   [][]T         // the activations' gradients the layers do not share
	logp       *value[T]
	loss       *lossOp[T]

	// The gradient buffers the layers share, cleared before each layer's
	// backward pass; with gradient checkpointing, the ops of each layer in
	// execution order (forwardSchedule), rerun before the layer's backward
	// pass.
	recompute   bool
	layerOps    [][]*fusedOp[T]
	sharedGrads [][]T

	// bound inputs, refilled by each forward
	tokens, targets, seg, pos, rows []int32
	rowsBuf                         []int32
}

// ErrShape reports inputs whose length does not match the graph's batch×seq.
var ErrShape = errors.New("graph: input length does not match batch×seq")

// newNet builds the graph. With recompute (gradient checkpointing) the
// layers share one set of intermediate buffers and keep only their
// outputs; backward reruns each layer's forward pass before its own.
func newNet[T Float](cfg *model.Config, w, dw *params[T], batch, seq int, recompute bool) (*net[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if batch <= 0 || seq <= 0 {
		return nil, fmt.Errorf("graph: batch %d and seq %d must be positive", batch, seq)
	}
	n := batch * seq
	h, vocab, inter := cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	d := cfg.HeadDimension()
	nh, nkv := cfg.NumAttentionHeads, cfg.NumKeyValueHeads
	nt := &net[T]{cfg: cfg, batch: batch, seq: seq, recompute: recompute,
		tokens: make([]int32, n), targets: make([]int32, n), seg: make([]int32, n), pos: make([]int32, n), rowsBuf: make([]int32, n)}
	b := newBuilder[T]()
	nt.g = b.g
	wk := workers()
	cos, sin := ropeTables[T](cfg, seq)

	headW, headG := w.head, dw.head
	if headW == nil {
		headW, headG = w.embed, dw.embed
	}
	embed := b.param("model.embed_tokens.weight", w.embed, dw.embed, vocab, h)
	head := embed
	if w.head != nil {
		head = b.param("lm_head.weight", headW, headG, vocab, h)
	}
	x, err := b.apply(&embedOp[T]{tokens: &nt.tokens, h: h}, []int{n, h}, embed)
	if err != nil {
		return nil, err
	}
	var errs []error
	must := func(v *value[T], err error) *value[T] {
		errs = append(errs, err)
		return v
	}
	// Scratch the ops keep between their forward and backward passes: one
	// per layer, or one for all layers with recompute.
	kept := map[string][]T{}
	scratchOf := func(key string, size int) []T {
		if !recompute {
			return make([]T, size)
		}
		if kept[key] == nil {
			kept[key] = make([]T, size)
		}
		return kept[key]
	}
	// Attention's per-worker [s,s] scratch lives only within one pass of
	// one op: all layers share it.
	dims := attnDims{batch, seq, nh, nkv, d, attnBlock}
	scratch := make([][]T, wk)
	for i := range scratch {
		scratch[i] = make([]T, dims.scratchLen())
	}
	for l := range cfg.NumHiddenLayers {
		L, D := &w.layers[l], &dw.layers[l]
		b.layer = l
		b.share(true, recompute)
		p := fmt.Sprintf("model.layers.%d.", l)
		par := func(name string, data, grad []T, shape ...int) *value[T] {
			return b.param(p+name, data, grad, shape...)
		}
		// linear is the projection of module m (index in lora.Modules),
		// through its adapter when it has one.
		linear := func(x *value[T], in, out, m int, ws ...*value[T]) *value[T] {
			ins := append([]*value[T]{x}, ws...)
			ad := L.lora[m]
			if ad.a == nil {
				return must(b.apply(&linearOp[T]{n: n, in: in, out: out}, []int{n, out}, ins...))
			}
			r := ad.rank
			name := lora.Modules[m]
			ins = append(ins, b.param(lora.Name(l, name, "A"), ad.a, D.lora[m].a, r, in),
				b.param(lora.Name(l, name, "B"), ad.b, D.lora[m].b, out, r))
			return must(b.apply(&loraLinearOp[T]{linearOp: linearOp[T]{n: n, in: in, out: out}, rank: r, scale: w.loraScale,
				bias: len(ws) == 2, u: scratchOf(name+".u", n*r), du: scratchOf(name+".du", n*r)}, []int{n, out}, ins...))
		}
		h1 := must(b.apply(&rmsnormOp[T]{n: n, h: h, eps: T(cfg.RMSNormEps), rstd: scratchOf("rstd1", n)}, []int{n, h},
			x, par("input_layernorm.weight", L.inNorm, D.inNorm, h)))
		qw := []*value[T]{par("self_attn.q_proj.weight", L.q, D.q, nh*d, h)}
		kw := []*value[T]{par("self_attn.k_proj.weight", L.k, D.k, nkv*d, h)}
		vw := []*value[T]{par("self_attn.v_proj.weight", L.v, D.v, nkv*d, h)}
		if L.qb != nil {
			qw = append(qw, par("self_attn.q_proj.bias", L.qb, D.qb, nh*d))
			kw = append(kw, par("self_attn.k_proj.bias", L.kb, D.kb, nkv*d))
			vw = append(vw, par("self_attn.v_proj.bias", L.vb, D.vb, nkv*d))
		}
		q := linear(h1, h, nh*d, 0, qw...)
		k := linear(h1, h, nkv*d, 1, kw...)
		v := linear(h1, h, nkv*d, 2, vw...)
		b.together(q, k, v)
		qr := must(b.apply(&ropeOp[T]{heads: nh, d: d, cos: cos, sin: sin, pos: &nt.pos}, []int{n, nh * d}, q))
		kr := must(b.apply(&ropeOp[T]{heads: nkv, d: d, cos: cos, sin: sin, pos: &nt.pos}, []int{n, nkv * d}, k))
		var probs []T
		if dims.keepsProbs() {
			probs = scratchOf("p", batch*nh*seq*seq)
		}
		att := must(b.apply(&attentionOp[T]{dims: dims, seg: &nt.seg, p: probs, scratch: scratch}, []int{n, nh * d}, qr, kr, v))
		a := linear(att, nh*d, h, 3, par("self_attn.o_proj.weight", L.o, D.o, h, nh*d))
		x2 := must(b.apply(&addOp[T]{}, []int{n, h}, x, a))
		h2 := must(b.apply(&rmsnormOp[T]{n: n, h: h, eps: T(cfg.RMSNormEps), rstd: scratchOf("rstd2", n)}, []int{n, h},
			x2, par("post_attention_layernorm.weight", L.postNorm, D.postNorm, h)))
		gt := linear(h2, h, inter, 4, par("mlp.gate_proj.weight", L.gate, D.gate, inter, h))
		up := linear(h2, h, inter, 5, par("mlp.up_proj.weight", L.up, D.up, inter, h))
		b.together(gt, up)
		m := must(b.apply(&swigluOp[T]{sig: scratchOf("sig", n*inter), workers: wk}, []int{n, inter}, gt, up))
		dn := linear(m, inter, h, 6, par("mlp.down_proj.weight", L.down, D.down, h, inter))
		b.share(false, false) // the layer's output is the next one's input: kept
		x = must(b.apply(&addOp[T]{}, []int{n, h}, x2, dn))
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	b.layer = -1
	hn, err := b.apply(&rmsnormOp[T]{n: n, h: h, eps: T(cfg.RMSNormEps), rstd: make([]T, n)}, []int{n, h},
		x, b.param("model.norm.weight", w.norm, dw.norm, h))
	if err != nil {
		return nil, err
	}
	nt.loss = newLossOp[T](n, h, vocab, wk, &nt.targets, &nt.rows)
	nt.logp, err = b.apply(nt.loss, []int{n}, hn, head)
	if err != nil {
		return nil, err
	}

	// Execution order from gorgonia's topological sort (outputs first).
	sorted, err := G.Sort(nt.g)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		if op, ok := sorted[i].Op().(*fusedOp[T]); ok {
			nt.order = append(nt.order, op)
		}
	}
	if len(nt.order) != len(b.ops) {
		return nil, fmt.Errorf("graph: sorted %d ops, built %d", len(nt.order), len(b.ops))
	}
	nt.forwards = forwardSchedule(nt.order)
	for _, a := range b.acts {
		if !a.shared { // the shared ones are cleared as each layer's backward pass begins
			nt.ownGrads = append(nt.ownGrads, a.grad)
		}
	}
	set := sole(b.ops)
	for _, v := range b.pool {
		if !set[&v.grad[0]] {
			nt.sharedGrads = append(nt.sharedGrads, v.grad)
		}
	}
	if recompute {
		nt.layerOps = make([][]*fusedOp[T], cfg.NumHiddenLayers)
		for _, op := range nt.order {
			if op.layer >= 0 {
				nt.layerOps[op.layer] = append(nt.layerOps[op.layer], op)
			}
		}
		for l, ops := range nt.layerOps {
			nt.layerOps[l] = forwardSchedule(ops)
		}
	}
	return nt, nil
}

// sole lets the linear layers and SwiGLUs that are the only consumers of
// a shared value (in every layer) overwrite its gradient instead of adding
// to it, and returns the first elements of those gradient buffers: they
// need no clearing before a layer's backward pass. At qwen-small that is
// the inputs of the o and down projections and of SwiGLU, 56% of the
// shared gradients (the inputs of q, k, v and gate, up have several
// consumers).
func sole[T Float](ops []*fusedOp[T]) map[*T]bool {
	consumers := map[*value[T]]int{}
	for _, op := range ops {
		for _, v := range op.in {
			consumers[v]++
		}
	}
	only := func(op *fusedOp[T], i int) bool { v := op.in[i]; return v.shared && consumers[v] == 1 }
	set := map[*T]bool{} // by buffer, whether every value in it is overwritten
	mark := func(v *value[T], ok bool) {
		p := &v.grad[0]
		if s, seen := set[p]; !seen || s {
			set[p] = ok
		}
	}
	for _, op := range ops {
		switch k := op.impl.(type) {
		case *linearOp[T]:
			k.setsDX = only(op, 0)
			if op.in[0].shared {
				mark(op.in[0], k.setsDX)
			}
		case *swigluOp[T]:
			k.sets = only(op, 0) && only(op, 1)
			for _, v := range op.in {
				if v.shared {
					mark(v, k.sets)
				}
			}
		default:
			for _, v := range op.in {
				if v.shared {
					mark(v, false)
				}
			}
		}
	}
	return set
}

// forwardSchedule is order for the forward pass: of a group of linear
// layers run as one, only the first met, which runs them all.
func forwardSchedule[T Float](order []*fusedOp[T]) []*fusedOp[T] {
	out := make([]*fusedOp[T], 0, len(order))
	for _, op := range order {
		if op.group == nil || !slices.ContainsFunc(out, func(o *fusedOp[T]) bool { return o.group != nil && o.group[0] == op.group[0] }) {
			out = append(out, op)
		}
	}
	return out
}

// bind checks and copies the inputs of one forward pass and derives the
// positions (restarting at 0 in each segment) and the rows with a target.
func (nt *net[T]) bind(tokens, targets, segments []int32) error {
	n, vocab := nt.batch*nt.seq, int32(nt.cfg.VocabSize)
	if len(tokens) != n || len(targets) != n || (segments != nil && len(segments) != n) {
		return fmt.Errorf("%w: tokens %d, targets %d, segments %d, want %d×%d", ErrShape, len(tokens), len(targets), len(segments), nt.batch, nt.seq)
	}
	nt.rows = nt.rowsBuf[:0]
	for i, t := range tokens {
		if t < 0 || t >= vocab {
			return fmt.Errorf("graph: token %d at position %d is outside the vocabulary [0,%d)", t, i, vocab)
		}
		switch tg := targets[i]; {
		case tg >= vocab:
			return fmt.Errorf("graph: target %d at position %d is outside the vocabulary [0,%d)", tg, i, vocab)
		case tg >= 0:
			nt.rows = append(nt.rows, int32(i))
		}
	}
	copy(nt.tokens, tokens)
	copy(nt.targets, targets)
	if segments == nil {
		clear(nt.seg)
	} else {
		copy(nt.seg, segments)
	}
	// position = number of earlier tokens of the same segment in the row;
	// segments are contiguous in practice, so look back to the segment start.
	for r := range nt.batch {
		row := nt.seg[r*nt.seq : (r+1)*nt.seq]
		pos := nt.pos[r*nt.seq : (r+1)*nt.seq]
		for i := range row {
			if i > 0 && row[i] == row[i-1] {
				pos[i] = pos[i-1] + 1
				continue
			}
			pos[i] = 0
			for j := range i {
				if row[j] == row[i] {
					pos[i]++
				}
			}
		}
	}
	return nil
}

func (nt *net[T]) forward(tokens, targets, segments []int32) ([]T, error) {
	if err := nt.bind(tokens, targets, segments); err != nil {
		return nil, err
	}
	for _, op := range nt.forwards {
		op.forward()
	}
	return nt.logp.data, nil
}

// backward accumulates the parameter gradients of -Σ coef·logp.
func (nt *net[T]) backward(coef []T) error {
	if len(coef) != len(nt.logp.data) {
		return fmt.Errorf("%w: coef %d, want %d", ErrShape, len(coef), len(nt.logp.data))
	}
	parallelClear(nt.ownGrads)
	for i, c := range coef {
		nt.logp.grad[i] = -c
	}
	last := len(nt.layerOps) - 1
	cur := -1
	for i := len(nt.order) - 1; i >= 0; i-- {
		op := nt.order[i]
		if op.layer >= 0 && op.layer != cur {
			// Entering a layer's backward pass: the shared buffers hold the
			// gradients of the layer above and, with recompute, the last
			// layer's intermediates.
			cur = op.layer
			if nt.recompute && cur != last {
				for _, f := range nt.layerOps[cur] {
					f.forward()
				}
			}
			parallelClear(nt.sharedGrads)
		}
		op.backward()
	}
	return nil
}
