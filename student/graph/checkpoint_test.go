package graph

import (
	"errors"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// TestGradientCheckpointingIsExact: recomputing each layer before its
// backward pass gives bit-identical log-probabilities and gradients, for
// full and LoRA graphs, over two steps (the shared buffers are reused).
func TestGradientCheckpointingIsExact(t *testing.T) {
	for _, tc := range []struct {
		kind string
		lora bool
	}{{"qwen2", false}, {"llama", false}, {"qwen2", true}} {
		name := tc.kind
		if tc.lora {
			name += "/lora"
		}
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig(tc.kind)
			cfg.NumHiddenLayers = 3
			w := randomWeights(cfg, 41)
			var a *lora.Adapters
			if tc.lora {
				a = randomAdapters(t, cfg, []string{"q_proj", "o_proj", "up_proj"}, 6)
			}
			build := func(opts ...Option) *Graph {
				var g *Graph
				var err error
				if a != nil {
					g, err = NewLoRA(w, a, 2, 8, opts...)
				} else {
					g, err = New(w, 2, 8, opts...)
				}
				if err != nil {
					t.Fatal(err)
				}
				return g
			}
			plain, ckpt := build(), build(GradientCheckpointing())
			for step := range 2 {
				in := randomBatch(cfg, 2, 8, uint64(step+7))
				coef := make([]float32, len(in.coef))
				for i, c := range in.coef {
					coef[i] = float32(c)
				}
				var lps [2][]float32
				var grads [2][]model.Named
				for i, g := range []*Graph{plain, ckpt} {
					g.ZeroGrads()
					lp, err := g.Forward(in.tokens, in.targets, in.segments)
					if err != nil {
						t.Fatal(err)
					}
					if err := g.Backward(coef); err != nil {
						t.Fatal(err)
					}
					lps[i] = lp
					_, grads[i] = g.Trainable()
				}
				if !slices.Equal(lps[0], lps[1]) {
					t.Fatalf("step %d: logp differs with checkpointing", step)
				}
				for j, p := range grads[0] {
					if !slices.Equal(p.Tensor.Data, grads[1][j].Tensor.Data) {
						t.Errorf("step %d: gradient of %s differs with checkpointing", step, p.Name)
					}
				}
			}
		})
	}
}

// TestFrozen: a frozen graph computes the same log-probabilities with no
// weight gradients, and refuses Backward.
func TestFrozen(t *testing.T) {
	cfg := tinyConfig("llama")
	cfg.NumHiddenLayers = 3
	w := randomWeights(cfg, 43)
	plain, err := New(w, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := New(w, 2, 8, Frozen())
	if err != nil {
		t.Fatal(err)
	}
	in := randomBatch(cfg, 2, 8, 3)
	want, err := plain.Forward(in.tokens, in.targets, in.segments)
	if err != nil {
		t.Fatal(err)
	}
	got, err := frozen.Forward(in.tokens, in.targets, in.segments)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("a frozen graph computes other log-probabilities")
	}
	if params, grads := frozen.Trainable(); frozen.Grads != nil || len(params) != 0 || len(grads) != 0 {
		t.Error("a frozen graph has gradients")
	}
	if err := frozen.Backward(make([]float32, len(got))); !errors.Is(err, ErrFrozen) {
		t.Errorf("Backward on a frozen graph: %v, want ErrFrozen", err)
	}
	if _, err := NewLoRA(w, randomAdapters(t, cfg, lora.Modules, 1), 2, 8, Frozen()); err == nil {
		t.Error("NewLoRA accepted Frozen")
	}
}

// TestAttentionRecomputeIsExact: recomputing the attention probabilities in
// the backward pass (long sequences) gives bit-identical log-probabilities
// and gradients to keeping them.
func TestAttentionRecomputeIsExact(t *testing.T) {
	cfg := tinyConfig("qwen2")
	w := randomWeights(cfg, 44)
	in := randomBatch(cfg, 2, 70, 5) // two query blocks of 64 and 6
	coef := make([]float32, len(in.coef))
	for i, c := range in.coef {
		coef[i] = float32(c)
	}
	run := func() ([]float32, []model.Named) {
		g, err := New(w, 2, 70)
		if err != nil {
			t.Fatal(err)
		}
		lp, err := g.Forward(in.tokens, in.targets, in.segments)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Backward(coef); err != nil {
			t.Fatal(err)
		}
		_, grads := g.Trainable()
		return lp, grads
	}
	keptLP, kept := run()
	defer func(l int) { keepProbsLimit = l }(keepProbsLimit)
	keepProbsLimit = 0
	lp, recomputed := run()
	if !slices.Equal(lp, keptLP) {
		t.Fatal("logp differs when the probabilities are recomputed")
	}
	for i, p := range kept {
		if !slices.Equal(p.Tensor.Data, recomputed[i].Tensor.Data) {
			t.Errorf("gradient of %s differs when the probabilities are recomputed", p.Name)
		}
	}
}
