package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// randomAdapters are adapters with B away from zero, so that A gets a
// gradient too.
func randomAdapters(t *testing.T, cfg *model.Config, targets []string, seed uint64) *lora.Adapters {
	t.Helper()
	a, err := lora.New(cfg, 3, 5, targets)
	if err != nil {
		t.Fatal(err)
	}
	a.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range a.List {
		for j := range a.List[i].B.Data {
			a.List[i].B.Data[j] = float32(0.2 * rng.NormFloat64())
		}
	}
	return a
}

// TestLoRAGradient checks the adapters' gradients by finite differences in
// float64, and that the frozen base gets none.
func TestLoRAGradient(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		targets []string
	}{{"qwen2", lora.Modules}, {"llama", []string{"q_proj", "v_proj", "down_proj"}}} {
		t.Run(tc.kind, func(t *testing.T) {
			cfg := tinyConfig(tc.kind)
			a := randomAdapters(t, cfg, tc.targets, 4)
			base := paramsOf[float64](randomWeights(cfg, 11))
			w := withAdapters(base, a, false)
			dw := withAdapters(base, lora.ZerosLike(a, cfg), true)
			var refs []paramRef
			for l := range w.layers {
				for m, ad := range w.layers[l].lora {
					if ad.a != nil {
						g := dw.layers[l].lora[m]
						refs = append(refs, paramRef{lora.Name(l, lora.Modules[m], "A"), ad.a, g.a},
							paramRef{lora.Name(l, lora.Modules[m], "B"), ad.b, g.b})
					}
				}
			}
			if len(refs) != 2*len(a.List) {
				t.Fatalf("%d adapter matrices in the net, want %d", len(refs), 2*len(a.List))
			}
			checkNetGradient(t, cfg, w, dw, refs, 1)
			if dw.embed != nil || dw.layers[0].q != nil || dw.layers[0].inNorm != nil {
				t.Error("the frozen base has gradient buffers")
			}
		})
	}
}

// TestLoRAMatchesMerged: the LoRA graph computes the model whose weights
// have the adapters merged in, and Merge leaves it computing the same.
func TestLoRAMatchesMerged(t *testing.T) {
	for _, kind := range []string{"qwen2", "llama"} {
		t.Run(kind, func(t *testing.T) {
			cfg := tinyConfig(kind)
			w := randomWeights(cfg, 21)
			a := randomAdapters(t, cfg, lora.Modules, 5)
			const batch, seq = 2, 7
			in := randomBatch(cfg, batch, seq, 2)
			g, err := NewLoRA(w, a, batch, seq)
			if err != nil {
				t.Fatal(err)
			}
			adapted, err := g.Forward(in.tokens, in.targets, in.segments)
			if err != nil {
				t.Fatal(err)
			}
			merged := model.NewWeights(cfg)
			for i, p := range w.Params() {
				copy(merged.Params()[i].Tensor.Data, p.Tensor.Data)
			}
			a.Merge(merged)
			if slices.ContainsFunc(a.List, func(ad lora.Adapter) bool {
				return slices.ContainsFunc(ad.B.Data, func(x float32) bool { return x != 0 })
			}) {
				t.Fatal("Merge left B non-zero")
			}
			full, err := New(merged, batch, seq)
			if err != nil {
				t.Fatal(err)
			}
			want, err := full.Forward(in.tokens, in.targets, in.segments)
			if err != nil {
				t.Fatal(err)
			}
			after, err := g.Forward(in.tokens, in.targets, in.segments) // base unmerged, B now zero
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Abs(float64(adapted[i]-want[i])) > 1e-4 {
					t.Errorf("position %d: LoRA graph logp %g, merged model %g", i, adapted[i], want[i])
				}
			}
			// With B zero the graph is the base model: B = 0 starts training
			// from the base exactly.
			plain, err := New(w, batch, seq)
			if err != nil {
				t.Fatal(err)
			}
			base, err := plain.Forward(in.tokens, in.targets, in.segments)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(after, base) {
				t.Error("a LoRA graph with B = 0 does not compute the base model")
			}
		})
	}
}

// TestLoRATrainable: a LoRA graph trains the adapters only.
func TestLoRATrainable(t *testing.T) {
	cfg := tinyConfig("qwen2")
	w := randomWeights(cfg, 1)
	a := randomAdapters(t, cfg, []string{"q_proj", "up_proj"}, 1)
	g, err := NewLoRA(w, a, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	params, grads := g.Trainable()
	if len(params) != 2*2*cfg.NumHiddenLayers || len(grads) != len(params) || g.Grads != nil {
		t.Fatalf("%d trainable, %d grads, full grads %v", len(params), len(grads), g.Grads != nil)
	}
	for i, p := range params {
		if p.Name != grads[i].Name || !slices.Equal(p.Tensor.Shape, grads[i].Tensor.Shape) {
			t.Errorf("param %s, grad %s", p.Name, grads[i].Name)
		}
	}
	if _, err := g.Forward([]int32{1, 2, 3, 4}, []int32{2, 3, 4, -1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.Backward([]float32{1, 1, 1, 0}); err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, gr := range grads {
		for _, x := range gr.Tensor.Data {
			norm += float64(x * x)
		}
	}
	if norm == 0 {
		t.Error("adapter gradients are all zero after Backward")
	}
}
