package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/distill-dev/distill/student/blas"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// BenchConfig describes the training step `distill bench train` times.
type BenchConfig struct {
	Student string // preset name
	SeqLen  int
	Batch   int
	Threads int // 0: leave GOMAXPROCS as it is
	Seed    uint64
	LoRA    int // > 0: adapters of this rank on every projection, base frozen
	// Recompute turns gradient checkpointing on.
	Recompute bool
}

// Bench is a preset with random weights and one batch of random tokens: the
// step that scripts/bench/torch_train_step.py times in PyTorch.
type Bench struct {
	Params  int64  // parameters of the model, adapters excluded
	Mode    string // "full" or "LoRA rank R (xM trainable)", then ", gradient checkpointing"
	Backend string // the BLAS in use
	Tokens  int    // tokens per step

	g       *graph.Graph
	tokens  []int32
	targets []int32
	coef    []float32
}

// NewBench builds the graph of c.Student with random weights (and adapters)
// and a batch of random tokens, and sets the threads.
func NewBench(c BenchConfig) (*Bench, error) {
	if c.SeqLen <= 0 || c.Batch <= 0 || c.LoRA < 0 {
		return nil, fmt.Errorf("sequence length %d and batch %d must be positive and LoRA rank %d not negative", c.SeqLen, c.Batch, c.LoRA)
	}
	cfg, err := model.LookupPreset(c.Student)
	if err != nil {
		return nil, err
	}
	blas.SetThreads(c.Threads)
	w := model.NewWeights(cfg)
	w.Init(c.Seed)
	var gopts []graph.Option
	b := &Bench{Params: cfg.NumParams(), Mode: "full", Backend: blas.Backend(), Tokens: c.Batch * c.SeqLen}
	if c.Recompute {
		gopts = append(gopts, graph.GradientCheckpointing())
		b.Mode = "full, gradient checkpointing"
	}
	if c.LoRA > 0 {
		a, err := lora.New(cfg, c.LoRA, 2*float64(c.LoRA), lora.Modules)
		if err != nil {
			return nil, fmt.Errorf("LoRA rank %d: %w", c.LoRA, err)
		}
		a.Init(c.Seed)
		b.g, err = graph.NewLoRA(w, a, c.Batch, c.SeqLen, gopts...)
		b.Mode = fmt.Sprintf("LoRA rank %d (%.2fM trainable)%s", c.LoRA, float64(a.NumParams())/1e6, strings.TrimPrefix(b.Mode, "full"))
	} else {
		b.g, err = graph.New(w, c.Batch, c.SeqLen, gopts...)
	}
	if err != nil {
		return nil, err
	}
	n := b.Tokens
	rng := rand.New(rand.NewPCG(c.Seed, 1))
	b.tokens, b.targets, b.coef = make([]int32, n+1), make([]int32, n), make([]float32, n)
	for i := range b.tokens {
		b.tokens[i] = int32(rng.IntN(cfg.VocabSize))
	}
	copy(b.targets, b.tokens[1:])
	for i := range b.coef {
		b.coef[i] = 1 / float32(n)
	}
	return b, nil
}

// Step zeroes the gradients and runs Forward and Backward of the mean
// cross-entropy; it returns the loss.
func (b *Bench) Step() (float64, error) {
	b.g.ZeroGrads()
	lp, err := b.g.Forward(b.tokens[:b.Tokens], b.targets, nil)
	if err != nil {
		return 0, err
	}
	if err := b.g.Backward(b.coef); err != nil {
		return 0, err
	}
	var loss float64
	for _, x := range lp {
		loss -= float64(x) / float64(b.Tokens)
	}
	return loss, nil
}
