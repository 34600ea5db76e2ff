// Package memory estimates what training a student needs and what the
// machine has, so that `distill train` can refuse a run that cannot fit
// before it allocates anything.
package memory

import (
	"errors"
	"fmt"

	"github.com/distill-dev/distill/student/model"
)

// bytesPerFloat: the native trainer works in float32 throughout.
const bytesPerFloat = 4

// Options describe the run beyond its shape.
type Options struct {
	// LoRARank > 0 trains low-rank adapters on every linear projection of
	// every layer (q, k, v, o, gate, up, down: PEFT's "all-linear") and
	// freezes the base weights; 0 is full fine-tuning.
	LoRARank int
	// Workers is the number of compute threads; each attention worker holds
	// a seq×seq scratch buffer. 0 counts as 1.
	Workers int
	// GradientCheckpointing: the layers share one layer's intermediates
	// and keep only their outputs (student/graph.GradientCheckpointing).
	GradientCheckpointing bool
}

// Breakdown is an estimate in bytes.
type Breakdown struct {
	Params      int64 // parameters of the model
	Trainable   int64 // parameters with gradients and optimizer state
	Weights     int64 // all parameters, fp32 (LoRA adapters included)
	Grads       int64 // one fp32 gradient per trainable parameter
	Optimizer   int64 // AdamW's two fp32 moments per trainable parameter
	Activations int64 // forward values and their gradients for one micro-batch
	Total       int64
}

// Estimate is the memory of one training step of cfg on batch sequences of
// seqLen tokens, for the fused graph in student/graph, where every op's
// output keeps a value and a gradient buffer of the same size. With n =
// batch·seqLen tokens, h hidden, q = heads·head_dim, kv = kv_heads·head_dim,
// I intermediate, V vocab, L layers, in float32 elements:
//
//	per layer:  2n·(6h + 3q + 3kv + 3I)   outputs of norm, q/k/v, RoPE'd q/k,
//	                                      attention, o_proj, residuals, norm,
//	                                      gate, up, SwiGLU, down, each ×2
//	          + batch·heads·seqLen²       attention probabilities kept for backward
//	                                      (up to 2²⁴ floats; recomputed beyond)
//	          + 2n                        RMSNorm 1/rms per row
//	          + n·I                       SwiGLU's σ(gate) kept for backward
//	          + 2n·7r                     LoRA: the rank-r intermediate of each adapter
//	head:       4n·h + c·V + 2c·h + 3n    embedding and final norm outputs ×2,
//	                                      softmax and gathered rows of a chunk
//	                                      of c = min(n, 2²⁴/V) rows, logp ×2, lse
//	scratch:    workers·2·min(64, seqLen)·seqLen   a block of probabilities and their gradients
//
// With gradient checkpointing the layers keep only their outputs (2n·h each,
// with their gradients) and share one layer's intermediates.
// At long sequences the seqLen² term dominates; at small models the n·V
// softmax does.
func Estimate(cfg *model.Config, batch, seqLen int, opt Options) Breakdown {
	h, inter, v := int64(cfg.HiddenSize), int64(cfg.IntermediateSize), int64(cfg.VocabSize)
	d := int64(cfg.HeadDimension())
	q, kv := int64(cfg.NumAttentionHeads)*d, int64(cfg.NumKeyValueHeads)*d
	nl := int64(cfg.NumHiddenLayers)
	b, s := int64(batch), int64(seqLen)
	n := b * s
	r := int64(opt.LoRARank)
	w := int64(max(opt.Workers, 1))

	var bd Breakdown
	bd.Params = cfg.NumParams()
	bd.Trainable = bd.Params
	params := bd.Params
	if r > 0 {
		// (in + out)·r for each adapted projection.
		adapters := nl * r * ((h + q) + 2*(h+kv) + (q + h) + 3*(h+inter))
		bd.Trainable = adapters
		params += adapters
	}
	// student/graph keeps the attention probabilities up to 2²⁴ floats and
	// recomputes them in backward beyond.
	probs := b * int64(cfg.NumAttentionHeads) * s * s
	if probs > 1<<24 {
		probs = 0
	}
	perLayer := 2*n*(6*h+3*q+3*kv+3*inter) + probs + 2*n + n*inter
	if r > 0 {
		perLayer += 2 * n * 7 * r
	}
	layers := nl * perLayer
	if opt.GradientCheckpointing {
		layers = nl*2*n*h + perLayer - 2*n*h
	}
	c := max(1, min(n, (1<<24)/v)) // student/graph's loss chunk
	acts := layers + 4*n*h + c*v + 2*c*h + 3*n + w*2*min(64, s)*s

	bd.Weights = params * bytesPerFloat
	bd.Grads = bd.Trainable * bytesPerFloat
	bd.Optimizer = 2 * bd.Trainable * bytesPerFloat
	bd.Activations = acts * bytesPerFloat
	bd.Total = bd.Weights + bd.Grads + bd.Optimizer + bd.Activations
	return bd
}

// ErrDoesNotFit is wrapped by Check when a run needs more than is available.
var ErrDoesNotFit = errors.New("training run does not fit in memory")

// Check returns an error wrapping ErrDoesNotFit when the estimate exceeds
// available bytes; available ≤ 0 means unknown and always passes.
func (b Breakdown) Check(available int64) error {
	if available <= 0 || b.Total <= available {
		return nil
	}
	return fmt.Errorf("%w: needs about %s (weights %s, grads %s, AdamW %s, activations %s), %s available; lower --batch or --seq-len, or use LoRA",
		ErrDoesNotFit, Format(b.Total), Format(b.Weights), Format(b.Grads), Format(b.Optimizer), Format(b.Activations), Format(available))
}

// Format writes bytes in decimal units (those model cards use): MB below
// 1 GB, TB from 1 TB.
func Format(n int64) string {
	switch {
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n < 1e12:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	default:
		return fmt.Sprintf("%.2f TB", float64(n)/1e12)
	}
}
