package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/distill-dev/distill/student/model"
)

// tinyConfig is a Qwen2 (q/k/v bias, tied head) or Llama 3 (no bias,
// untied head, llama3 rope scaling with every frequency band in use) shape
// small enough for finite differences over the whole model.
func tinyConfig(kind string) *model.Config {
	c := &model.Config{ModelType: kind, VocabSize: 32, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", MaxPositionEmbeddings: 64,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: kind == "qwen2", InitializerRange: 0.3}
	if kind == "llama" {
		c.RMSNormEps = 1e-5
		c.RopeScaling = &model.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8}
	}
	return c
}

// randomWeights are weights with non-trivial norms and biases, so that
// their gradients are checked too.
func randomWeights(cfg *model.Config, seed uint64) *model.Weights {
	w := model.NewWeights(cfg)
	w.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range w.Params() {
		if len(p.Tensor.Shape) == 1 {
			for i := range p.Tensor.Data {
				p.Tensor.Data[i] += float32(0.2 * rng.NormFloat64())
			}
		}
	}
	return w
}

type batchInput struct {
	tokens, targets, segments []int32
	coef                      []float64
}

// randomBatch fills batch rows of seq tokens; the last row packs two
// segments and every third target is masked out.
func randomBatch(cfg *model.Config, batch, seq int, seed uint64) batchInput {
	rng := rand.New(rand.NewPCG(seed, 5))
	n := batch * seq
	in := batchInput{tokens: make([]int32, n), targets: make([]int32, n), segments: make([]int32, n), coef: make([]float64, n)}
	for i := range n {
		in.tokens[i] = int32(rng.IntN(cfg.VocabSize))
		in.targets[i] = int32(rng.IntN(cfg.VocabSize))
		if i%3 == 1 {
			in.targets[i] = -1
		}
		in.coef[i] = rng.Float64() - 0.3
		if r := i / seq; r == batch-1 && i%seq >= seq/2 {
			in.segments[i] = 1
		}
	}
	return in
}

type paramRef struct {
	name       string
	data, grad []float64
}

func paramRefs(w, g *params[float64]) []paramRef {
	refs := []paramRef{{"embed", w.embed, g.embed}, {"norm", w.norm, g.norm}}
	if w.head != nil {
		refs = append(refs, paramRef{"lm_head", w.head, g.head})
	}
	for l := range w.layers {
		a, b := &w.layers[l], &g.layers[l]
		refs = append(refs, paramRef{"in_norm", a.inNorm, b.inNorm}, paramRef{"q", a.q, b.q}, paramRef{"k", a.k, b.k},
			paramRef{"v", a.v, b.v}, paramRef{"o", a.o, b.o}, paramRef{"post_norm", a.postNorm, b.postNorm},
			paramRef{"gate", a.gate, b.gate}, paramRef{"up", a.up, b.up}, paramRef{"down", a.down, b.down})
		if a.qb != nil {
			refs = append(refs, paramRef{"q_bias", a.qb, b.qb}, paramRef{"k_bias", a.kb, b.kb}, paramRef{"v_bias", a.vb, b.vb})
		}
	}
	return refs
}

// TestModelGradient checks the gradient of -Σ coef·logp with respect to
// every parameter tensor of the whole model by central finite differences
// in float64.
func TestModelGradient(t *testing.T) {
	for _, kind := range []string{"qwen2", "llama"} {
		t.Run(kind, func(t *testing.T) {
			cfg := tinyConfig(kind)
			w32 := randomWeights(cfg, 11)
			w, dw := paramsOf[float64](w32), paramsOf[float64](model.NewWeights(cfg))
			checkNetGradient(t, cfg, w, dw, paramRefs(w, dw), 1)
		})
	}
}

// TestTemperatureGradient checks the gradients of log-probabilities taken
// at another temperature (GRPO's).
func TestTemperatureGradient(t *testing.T) {
	cfg := tinyConfig("qwen2")
	w, dw := paramsOf[float64](randomWeights(cfg, 12)), paramsOf[float64](model.NewWeights(cfg))
	checkNetGradient(t, cfg, w, dw, paramRefs(w, dw), 0.7)
}

// checkNetGradient builds the float64 net of w (gradients into dw) with
// its softmax at temperature temp and checks the gradients of refs by
// finite differences.
func checkNetGradient(t *testing.T, cfg *model.Config, w, dw *params[float64], refs []paramRef, temp float64) {
	t.Helper()
	const batch, seq = 2, 6
	nt, err := newNet(cfg, w, dw, batch, seq, false)
	if err != nil {
		t.Fatal(err)
	}
	nt.loss.invTemp = 1 / temp
	in := randomBatch(cfg, batch, seq, 1)
	loss := func() float64 {
		lp, err := nt.forward(in.tokens, in.targets, in.segments)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, x := range lp {
			s -= in.coef[i] * x
		}
		return s
	}
	loss()
	if err := nt.backward(in.coef); err != nil {
		t.Fatal(err)
	}
	checkGradients(t, refs, loss)
}

// checkGradients compares, at 8 random entries of each parameter, the
// gradient backward left in p.grad with a central finite difference of loss.
func checkGradients(t *testing.T, refs []paramRef, loss func() float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	const eps = 1e-6
	var worst float64
	for _, p := range refs {
		for range 8 {
			j := rng.IntN(len(p.data))
			x0 := p.data[j]
			p.data[j] = x0 + eps
			lp := loss()
			p.data[j] = x0 - eps
			lm := loss()
			p.data[j] = x0
			num := (lp - lm) / (2 * eps)
			err := math.Abs(num-p.grad[j]) / math.Max(1e-3, math.Abs(num))
			worst = max(worst, err)
			if err > 1e-5 {
				t.Errorf("%s[%d]: backward %.9g, finite difference %.9g", p.name, j, p.grad[j], num)
			}
		}
	}
	t.Logf("worst relative error %.2g", worst)
}

func logSoftmaxAt(logits []float32, t int32) float64 {
	mx := math.Inf(-1)
	for _, x := range logits {
		mx = max(mx, float64(x))
	}
	var s float64
	for _, x := range logits {
		s += math.Exp(float64(x) - mx)
	}
	return float64(logits[t]) - mx - math.Log(s)
}

// TestForwardMatchesInference compares Forward's logp with the log-softmax
// of student/model's inference logits (which are checked against PyTorch).
func TestForwardMatchesInference(t *testing.T) {
	for _, kind := range []string{"qwen2", "llama"} {
		t.Run(kind, func(t *testing.T) {
			cfg := tinyConfig(kind)
			w := randomWeights(cfg, 21)
			const batch, seq = 2, 9
			g, err := New(w, batch, seq)
			if err != nil {
				t.Fatal(err)
			}
			in := randomBatch(cfg, batch, seq, 2)
			lp, err := g.Forward(in.tokens, in.targets, nil)
			if err != nil {
				t.Fatal(err)
			}
			for r := range batch {
				logits := w.Forward(in.tokens[r*seq : (r+1)*seq])
				for i := range seq {
					k := r*seq + i
					want := 0.0
					if in.targets[k] >= 0 {
						want = logSoftmaxAt(logits[i*cfg.VocabSize:(i+1)*cfg.VocabSize], in.targets[k])
					}
					if math.Abs(float64(lp[k])-want) > 1e-4 {
						t.Errorf("row %d position %d: logp %g, inference %g", r, i, lp[k], want)
					}
				}
			}
		})
	}
}

// TestTemperatureMatchesInference: at temperature t, Forward's logp is the
// log-softmax of the inference logits divided by t.
func TestTemperatureMatchesInference(t *testing.T) {
	cfg := tinyConfig("llama")
	w := randomWeights(cfg, 22)
	const seq = 8
	g, err := New(w, 1, seq)
	if err != nil {
		t.Fatal(err)
	}
	g.SetTemperature(0.6)
	in := randomBatch(cfg, 1, seq, 4)
	lp, err := g.Forward(in.tokens, in.targets, nil)
	if err != nil {
		t.Fatal(err)
	}
	logits := w.Forward(in.tokens)
	for i := range seq {
		if in.targets[i] < 0 {
			continue
		}
		row := logits[i*cfg.VocabSize : (i+1)*cfg.VocabSize]
		scaled := make([]float32, len(row))
		for j, x := range row {
			scaled[j] = x / 0.6
		}
		if want := logSoftmaxAt(scaled, in.targets[i]); math.Abs(float64(lp[i])-want) > 1e-4 {
			t.Errorf("position %d: logp %g, inference at temperature 0.6 %g", i, lp[i], want)
		}
	}
}

// TestPackingMatchesSeparate runs two sequences packed into one row with
// segment ids and each alone at the start of its own row: logp must agree.
func TestPackingMatchesSeparate(t *testing.T) {
	cfg := tinyConfig("qwen2")
	w := randomWeights(cfg, 31)
	const seq, la = 12, 5
	in := randomBatch(cfg, 1, seq, 3)
	seg := make([]int32, seq)
	for i := la; i < seq; i++ {
		seg[i] = 7
	}
	packed, err := New(w, 1, seq)
	if err != nil {
		t.Fatal(err)
	}
	lpPacked, err := packed.Forward(in.tokens, in.targets, seg)
	if err != nil {
		t.Fatal(err)
	}
	// row 0: A then padding; row 1: B then padding (padding has no target,
	// and causal attention keeps it from affecting what precedes it)
	sep, err := New(w, 2, seq)
	if err != nil {
		t.Fatal(err)
	}
	tok, tgt := make([]int32, 2*seq), make([]int32, 2*seq)
	for i := range tgt {
		tgt[i] = -1
	}
	copy(tok, in.tokens[:la])
	copy(tgt, in.targets[:la])
	copy(tok[seq:], in.tokens[la:])
	copy(tgt[seq:], in.targets[la:])
	lpSep, err := sep.Forward(tok, tgt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]float32(nil), lpSep[:la]...), lpSep[seq:2*seq-la]...)
	for i := range seq {
		if math.Abs(float64(lpPacked[i]-want[i])) > 1e-5 {
			t.Errorf("position %d: packed %g, separate %g", i, lpPacked[i], want[i])
		}
	}
}

// TestGorgoniaMachine runs the same graph with gorgonia's TapeMachine,
// which calls the fused ops' Do, and compares with the trainer's executor.
func TestGorgoniaMachine(t *testing.T) {
	cfg := tinyConfig("llama")
	w := randomWeights(cfg, 41)
	g, err := New(w, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	in := randomBatch(cfg, 2, 7, 4)
	want, err := g.Forward(in.tokens, in.targets, in.segments)
	if err != nil {
		t.Fatal(err)
	}
	clear(g.net.logp.data)
	m := G.NewTapeMachine(g.net.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := g.net.logp.node.Value().Data().([]float32)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("position %d: TapeMachine %g, executor %g", i, got[i], want[i])
		}
	}
}

func TestInputErrors(t *testing.T) {
	cfg := tinyConfig("qwen2")
	g, err := New(randomWeights(cfg, 1), 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	ok := []int32{1, 2, 3, 4}
	for _, c := range []struct {
		name          string
		tok, tgt, seg []int32
	}{
		{"short tokens", ok[:3], ok, nil},
		{"short segments", ok, ok, ok[:2]},
		{"token out of vocab", []int32{1, 2, 32, 4}, ok, nil},
		{"negative token", []int32{1, -2, 3, 4}, ok, nil},
		{"target out of vocab", ok, []int32{1, 2, 3, 99}, nil},
	} {
		if _, err := g.Forward(c.tok, c.tgt, c.seg); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := g.Backward(make([]float32, 4)); err == nil {
		t.Error("Backward without Forward: no error")
	}
}

// TestStepAllocations: every buffer is allocated in New, so a step
// allocates only the returned logp and the goroutines of the parallel
// kernels, whatever the model size.
func TestStepAllocations(t *testing.T) {
	cfg := tinyConfig("qwen2")
	const batch, seq = 2, 16
	g, err := New(randomWeights(cfg, 1), batch, seq)
	if err != nil {
		t.Fatal(err)
	}
	in := randomBatch(cfg, batch, seq, 1)
	coef := make([]float32, batch*seq)
	var ms0, ms1 runtime.MemStats
	step := func() {
		if _, err := g.Forward(in.tokens, in.targets, in.segments); err != nil {
			t.Fatal(err)
		}
		if err := g.Backward(coef); err != nil {
			t.Fatal(err)
		}
	}
	step()
	runtime.ReadMemStats(&ms0)
	const steps = 10
	for range steps {
		step()
	}
	runtime.ReadMemStats(&ms1)
	perStep := (ms1.TotalAlloc - ms0.TotalAlloc) / steps
	t.Logf("%d bytes, %d objects per step", perStep, (ms1.Mallocs-ms0.Mallocs)/steps)
	if perStep > 64<<10 {
		t.Errorf("a step allocates %d bytes, want under 64 KiB", perStep)
	}
}

// TestNoTargets: a micro-batch without any counted target (all padding or
// prompt) gives logp 0 everywhere and no gradient.
func TestNoTargets(t *testing.T) {
	cfg := tinyConfig("llama")
	g, err := New(randomWeights(cfg, 1), 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	tok, tgt, coef := make([]int32, 8), make([]int32, 8), make([]float32, 8)
	for i := range tgt {
		tgt[i], coef[i] = -1, 1
	}
	lp, err := g.Forward(tok, tgt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Backward(coef); err != nil {
		t.Fatal(err)
	}
	for i, x := range lp {
		if x != 0 {
			t.Errorf("logp[%d] = %g, want 0", i, x)
		}
	}
	for _, p := range g.Grads.Params() {
		for _, x := range p.Tensor.Data {
			if x != 0 {
				t.Fatalf("%s has gradient %g", p.Name, x)
			}
		}
	}
}
