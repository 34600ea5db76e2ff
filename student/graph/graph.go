// Package graph is the training compute graph of the student decoders
// (Qwen2, Llama 3): a gorgonia ExprGraph of fused ops (embedding, RMSNorm,
// linear, RoPE, causal grouped-query attention with segment masking, SwiGLU,
// LM head with log-softmax) whose kernels work on raw slices with buffers
// allocated once, and call student/blas for every matrix product.
//
// Each fused op is a gorgonia Op: the graph is typed, shaped and sorted by
// gorgonia, and its TapeMachine can run it (through Do; tested). Training
// does not go through gorgonia's VMs or its differentiation (SymDiff/DoDiff):
// both allocate a Value per node per run, and SymDiff would add a backward
// node per op with its own output. The graph's executor instead walks
// gorgonia's topological order forward and backward, calling each op's
// forward and backward kernels on preallocated buffers, so a step allocates
// only its result. Kernels are generic over float32 and float64; the
// float64 instantiation exists for the finite-difference gradient checks.
//
// A Graph is not safe for concurrent use.
//
// Of ours it may import only `student/blas`, `student/kernel`, `student/lora`
// and `student/model`.
package graph

import (
	"errors"
	"fmt"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// Graph is the training graph of one model for micro-batches of batch×seq
// tokens.
type Graph struct {
	// Grads has the same layout and names as the weights; Backward adds to
	// it. Nil in a LoRA or frozen graph: Trainable lists what is trained.
	Grads *model.Weights

	params, grads []model.Named
	gradData      [][]float32 // the grads' data, for ZeroGrads
	net           *net[float32]
	forwards      bool // a Forward ran since the last Backward
	frozen        bool
}

// Option changes how a graph is built.
type Option func(*options)

type options struct{ recompute, frozen bool }

// GradientCheckpointing keeps only each layer's output through the forward
// pass and reruns a layer's forward before its backward (HF's
// gradient_checkpointing): the layers' activations take the memory of one
// layer instead of all, for about a third more compute. Results are
// bit-identical to a graph without it.
func GradientCheckpointing() Option { return func(o *options) { o.recompute = true } }

// Frozen builds a graph for Forward only (a reference model's
// log-probabilities): no gradient buffers for the weights, and, since no
// backward pass needs them, one set of intermediate buffers for all layers.
// Backward returns ErrFrozen.
func Frozen() Option { return func(o *options) { o.frozen, o.recompute = true, true } }

// ErrFrozen is returned by Backward on a graph built with Frozen.
var ErrFrozen = errors.New("graph: Backward on a graph built Frozen (forward only)")

func optionsOf(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ErrNoForward is returned by Backward without a Forward before it.
var ErrNoForward = errors.New("graph: Backward needs a Forward first (one Backward per Forward)")

// New builds the training graph of w for micro-batches of batch×seq tokens.
// The graph uses w's Data slices in place (no copy): an optimiser updating
// w.Params() in place is seen by the next Forward.
//
// New sets OpenBLAS to one thread for the whole process: the graph splits
// its products over GOMAXPROCS goroutines instead (see blas.SetThreads).
func New(w *model.Weights, batch, seq int, opts ...Option) (*Graph, error) {
	if w == nil || w.Config == nil {
		return nil, errors.New("graph: weights without a config")
	}
	o := optionsOf(opts)
	if o.frozen {
		frozen := &params[float32]{layers: make([]layerParams[float32], w.Config.NumHiddenLayers)}
		net, err := newNet(w.Config, paramsOf[float32](w), frozen, batch, seq, true)
		if err != nil {
			return nil, err
		}
		return &Graph{net: net, frozen: true}, nil
	}
	grads := model.NewWeights(w.Config)
	net, err := newNet(w.Config, paramsOf[float32](w), paramsOf[float32](grads), batch, seq, o.recompute)
	if err != nil {
		return nil, err
	}
	return newGraph(grads, w.Params(), grads.Params(), net), nil
}

// NewLoRA builds the training graph of w with the adapters a on its
// projections: only the adapters are trained. The base weights get no
// gradient (no memory, no product for them), and the backward pass skips
// the embedding. w and a are used in place, as in New.
func NewLoRA(w *model.Weights, a *lora.Adapters, batch, seq int, opts ...Option) (*Graph, error) {
	if w == nil || w.Config == nil || a == nil {
		return nil, errors.New("graph: LoRA needs weights with a config and adapters")
	}
	if len(a.List) != len(a.Targets)*w.Config.NumHiddenLayers {
		return nil, fmt.Errorf("graph: %d adapters for %d layers × %d targets", len(a.List), w.Config.NumHiddenLayers, len(a.Targets))
	}
	o := optionsOf(opts)
	if o.frozen {
		return nil, errors.New("graph: a LoRA graph trains its adapters; build a frozen graph with New")
	}
	ag := lora.ZerosLike(a, w.Config)
	base := paramsOf[float32](w)
	net, err := newNet(w.Config, withAdapters(base, a, false), withAdapters(base, ag, true), batch, seq, o.recompute)
	if err != nil {
		return nil, err
	}
	return newGraph(nil, a.Params(), ag.Params(), net), nil
}

func newGraph(g *model.Weights, params, grads []model.Named, net *net[float32]) *Graph {
	data := make([][]float32, len(grads))
	for i, p := range grads {
		data[i] = p.Tensor.Data
	}
	return &Graph{Grads: g, params: params, grads: grads, gradData: data, net: net}
}

// Trainable lists the parameters the graph trains and their gradients, in
// the same order: every weight for New, the adapters for NewLoRA.
func (g *Graph) Trainable() (params, grads []model.Named) { return g.params, g.grads }

// Forward runs the model on tokens [batch*seq] (row-major, batch rows of
// seq) and returns logp [batch*seq]: log p(targets[i] | tokens of row up to
// i) under the model, 0 where targets[i] < 0. segments [batch*seq] (nil =
// one segment per row) makes packing exact: a token attends only to earlier
// tokens of the same segment id in its row, and positions restart at 0 for
// each segment. The returned slice is the caller's (a copy).
func (g *Graph) Forward(tokens, targets, segments []int32) ([]float32, error) {
	lp, err := g.net.forward(tokens, targets, segments)
	if err != nil {
		g.forwards = false
		return nil, err
	}
	g.forwards = true
	out := make([]float32, len(lp))
	copy(out, lp)
	return out, nil
}

// Backward accumulates (adds) into g.Grads the gradient of -Σ_i coef[i] ·
// logp[i] for the last Forward. SFT passes coef[i] = 1/N for counted targets
// (mean cross-entropy); GRPO passes per-token coefficients computed from the
// returned logp.
func (g *Graph) Backward(coef []float32) error {
	if g.frozen {
		return ErrFrozen
	}
	if !g.forwards {
		return ErrNoForward
	}
	g.forwards = false
	if err := g.net.backward(coef); err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	return nil
}

// SetTemperature makes Forward return log-probabilities under the softmax
// of logits/t (and Backward differentiate them): t = 1 is the model's own
// distribution. It panics unless t > 0.
func (g *Graph) SetTemperature(t float64) {
	if !(t > 0) {
		panic(fmt.Sprintf("graph: temperature %v must be positive", t))
	}
	g.net.loss.invTemp = float32(1 / t)
}

// ZeroGrads sets every gradient to zero.
func (g *Graph) ZeroGrads() {
	parallelClear(g.gradData)
}

// Batch and Seq are the micro-batch shape the graph was built for.
func (g *Graph) Batch() int { return g.net.batch }
func (g *Graph) Seq() int   { return g.net.seq }
