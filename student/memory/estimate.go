// Package memory estimates what each stage that runs a student in this
// process (train, rl, eval, serve) needs and what the machine has, so that
// the stage can refuse a run that cannot fit before it allocates the bulk
// of it.
//
// Of ours it may import only `student/model`.
package memory

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/distill-dev/distill/student/model"
)

// bytesPerFloat: the native trainer works in float32 throughout.
const bytesPerFloat = 4

// Runtime is what the process holds before a stage allocates its model:
// the Go runtime, the CLI's own heap and OpenBLAS's buffers. Measured once
// as the peak anonymous RSS of `distill models` in a child process (5–6 MB,
// distill's TestStageMemory baseline row); the mapped binary is file-backed
// memory the kernel can drop, as is a checkpoint being read.
const Runtime = 6e6

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
	// Frozen: a forward-only graph (student/graph.Frozen, GRPO's
	// reference): no gradients or optimizer, and only the forward values
	// of a checkpointed layout are ever written.
	Frozen bool
}

// Breakdown is an estimate in bytes.
type Breakdown struct {
	Params      int64 // parameters of the model
	Trainable   int64 // parameters with gradients and optimizer state
	Weights     int64 // all parameters, fp32 (LoRA adapters included)
	Grads       int64 // one fp32 gradient per trainable parameter
	Optimizer   int64 // AdamW's two fp32 moments per trainable parameter
	Activations int64 // forward values and their gradients for one micro-batch
	Reference   int64 // GRPO with a KL penalty: the frozen starting model and its forward values
	KVCache     int64 // generation: keys and values of every sequence in flight
	Decode      int64 // generation: logits, sampling candidates and the decoder's scratch
	Runtime     int64 // the process before the stage allocates (Runtime)
	Total       int64
}

func (b *Breakdown) sum() {
	b.Total = b.Weights + b.Grads + b.Optimizer + b.Activations + b.Reference + b.KVCache + b.Decode + b.Runtime
}

// Estimate is the memory of one training step of cfg on batch sequences of
// seqLen tokens, for the fused graph in student/graph, where every op's
// output keeps a value and a gradient buffer of the same size, and the
// layers share one set of gradient buffers for their intermediates (a
// layer's backward pass needs only its own). With n = batch·seqLen tokens,
// h hidden, q = heads·head_dim, kv = kv_heads·head_dim, I intermediate, V
// vocab, L layers, in float32 elements:
//
//	per layer:  n·(6h + 3q + 3kv + 3I)    outputs of norm, q/k/v, RoPE'd q/k,
//	                                      attention, o_proj, residuals, norm,
//	                                      gate, up, SwiGLU, down (the layer's
//	                                      output with its gradient: n·h more)
//	          + batch·heads·seqLen²       attention probabilities kept for backward
//	                                      (up to 2²⁴ floats; recomputed beyond)
//	          + 2n                        RMSNorm 1/rms per row
//	          + n·I                       SwiGLU's σ(gate) kept for backward
//	          + 2n·7r                     LoRA: the rank-r intermediate of each adapter
//	once:       n·(6h + 3q + 3kv + 3I)    the shared gradients of one layer's
//	            − n·h                     intermediates (not its output's)
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
	bd.Runtime = Runtime
	params := bd.Params
	if opt.Frozen {
		bd.Trainable = 0
	}
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
	c := max(1, min(n, (1<<24)/v)) // student/graph's loss chunk
	block := min(64, s) * s
	var acts int64
	if opt.Frozen {
		// Values only (their gradients are never written): each layer's
		// output, one layer's intermediates, the head's forward half.
		perLayer := n*(6*h+3*q+3*kv+3*inter) + probs + 2*n + n*inter
		acts = nl*n*h + perLayer - n*h + 2*n*h + c*v + 2*n + w*block
	} else {
		inner := n * (6*h + 3*q + 3*kv + 3*inter) // one of each of a layer's outputs
		perLayer := 2*inner + probs + 2*n + n*inter
		if r > 0 {
			perLayer += 2 * n * 7 * r
		}
		layers := nl*(perLayer-inner+n*h) + inner - n*h
		if opt.GradientCheckpointing {
			layers = nl*2*n*h + perLayer - 2*n*h
		}
		acts = layers + 4*n*h + c*v + 2*c*h + 3*n + w*2*block
	}

	bd.Weights = params * bytesPerFloat
	bd.Grads = bd.Trainable * bytesPerFloat
	bd.Optimizer = 2 * bd.Trainable * bytesPerFloat
	bd.Activations = acts * bytesPerFloat
	bd.sum()
	return bd
}

// prefillRows is student/model's bound on the rows of one prefill pass.
const prefillRows = 1024

// Generation is the memory of generating seqs sequences together, each
// holding up to context positions (prompt and completion, within
// max_position_embeddings), with student/model's KV-cached decoder
// (Generate, and Batcher for a served checkpoint):
//
//	weights:  every parameter, fp32
//	KV cache: 2·L·context·kv per sequence, allocated whole when it starts
//	decode:   seqs·V logits, twice during the prefill (the chunk's and the
//	          kept last rows'); with sampling, a candidate (p, id) of 16
//	          bytes per vocabulary entry per sequence; the decoder's
//	          scratch for r = min(seqs·context, 1024) rows:
//	          r·(2h + 2q + 2kv + 2I + d)
func Generation(cfg *model.Config, seqs, context int, sampling bool) Breakdown {
	h, inter, v := int64(cfg.HiddenSize), int64(cfg.IntermediateSize), int64(cfg.VocabSize)
	d := int64(cfg.HeadDimension())
	q, kv := int64(cfg.NumAttentionHeads)*d, int64(cfg.NumKeyValueHeads)*d
	n, ctx := int64(seqs), int64(context)
	if mp := int64(cfg.MaxPositionEmbeddings); mp > 0 {
		ctx = min(ctx, mp)
	}
	rows := min(n*ctx, prefillRows)
	bd := Breakdown{Params: cfg.NumParams(), Runtime: Runtime}
	bd.Weights = bd.Params * bytesPerFloat
	bd.KVCache = n * 2 * int64(cfg.NumHiddenLayers) * ctx * kv * bytesPerFloat
	bd.Decode = (2*n*v + rows*(2*h+2*q+2*kv+2*inter+d)) * bytesPerFloat
	if sampling {
		bd.Decode += 16 * n * v
	}
	bd.sum()
	return bd
}

// GRPOShape is a GRPO run as student/rl runs it.
type GRPOShape struct {
	MicroBatch, SeqLen int // the policy graph's rows
	// Sequences are sampled together in each rollout (prompts per step ×
	// generations), each holding up to Context positions.
	Sequences, Context int
	Sampling           bool // temperature > 0
	// Reference: beta ≠ 0 keeps the frozen starting model and a forward
	// graph for it. (Several iterations per batch need no old-policy copy:
	// the sampling policy's log-probabilities are computed once and kept.)
	Reference             bool
	Workers               int
	GradientCheckpointing bool // the policy's graph recomputes each layer in its backward pass
	// LoRARank > 0 trains adapters on the frozen starting model, which is
	// then also the reference (no second copy), and samples from a copy of
	// it with the adapters added.
	LoRARank int
}

// GRPO is the memory of a GRPO run: training the policy (Estimate, every
// weight or adapters), the reference when there is one, and a rollout's KV caches
// and decoding buffers, which come on top of the graphs the previous
// update filled.
func GRPO(cfg *model.Config, g GRPOShape) Breakdown {
	bd := Estimate(cfg, g.MicroBatch, g.SeqLen, Options{Workers: g.Workers, GradientCheckpointing: g.GradientCheckpointing, LoRARank: g.LoRARank})
	ref := Estimate(cfg, g.MicroBatch, g.SeqLen, Options{Workers: g.Workers, Frozen: true})
	if g.Reference {
		bd.Reference = ref.Activations
		if g.LoRARank == 0 {
			bd.Reference += ref.Weights
		}
	}
	if g.LoRARank > 0 {
		bd.Weights += ref.Weights // the merged copy the rollouts sample from
	}
	gen := Generation(cfg, g.Sequences, g.Context, g.Sampling)
	bd.KVCache, bd.Decode = gen.KVCache, gen.Decode
	bd.sum()
	return bd
}

// ErrDoesNotFit is wrapped by Check when a run needs more than is available.
var ErrDoesNotFit = errors.New("run does not fit in memory")

// Check returns an error wrapping ErrDoesNotFit when the estimate exceeds
// available bytes; available ≤ 0 means unknown and always passes.
func (b Breakdown) Check(available int64) error {
	if available <= 0 || b.Total <= available {
		return nil
	}
	return fmt.Errorf("%w: needs about %s (%s), %s available", ErrDoesNotFit, Format(b.Total), b.Parts(), Format(available))
}

// Hold makes the Go collector keep the process within a tenth above the
// estimate. Rollouts and decoding make garbage (and serving HTTP more),
// which the collector's default (GOGC=100) lets grow to the size of the
// live heap before it collects, so without a limit such a stage peaks up
// to twice what it keeps; the tenth spares the collector from running
// without pause when the estimate is a little short. A GOMEMLIMIT the
// user set wins.
func (b Breakdown) Hold() {
	if os.Getenv("GOMEMLIMIT") == "" && b.Total > 0 {
		debug.SetMemoryLimit(b.Total + b.Total/10)
	}
}

// Parts lists the breakdown's non-zero parts, such as "weights 1.2 GB,
// KV cache 300.0 MB".
func (b Breakdown) Parts() string {
	var parts []string
	for _, p := range []struct {
		name string
		n    int64
	}{{"weights", b.Weights}, {"gradients", b.Grads}, {"AdamW", b.Optimizer}, {"activations", b.Activations},
		{"reference model", b.Reference}, {"KV cache", b.KVCache}, {"decoding", b.Decode}, {"runtime", b.Runtime}} {
		if p.n > 0 {
			parts = append(parts, p.name+" "+Format(p.n))
		}
	}
	return strings.Join(parts, ", ")
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
