package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a dense float32 array in row-major order. Linear weights keep
// HF's [out, in] layout so that checkpoints load without transposes.
type Tensor struct {
	Shape []int
	Data  []float32
}

func newTensor(shape ...int) Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return Tensor{Shape: shape, Data: make([]float32, n)}
}

// Layer is one decoder block.
type Layer struct {
	InputNorm           Tensor // [H]
	Q, K, V, O          Tensor // [nH*D, H], [nKV*D, H], [nKV*D, H], [H, nH*D]
	QBias, KBias, VBias Tensor // [nH*D], [nKV*D], [nKV*D]; empty without bias
	PostNorm            Tensor // [H]
	Gate, Up, Down      Tensor // [I, H], [I, H], [H, I]
}

// Weights are all parameters of a decoder.
type Weights struct {
	Config *Config
	Embed  Tensor // [V, H]
	Layers []Layer
	Norm   Tensor // [H]
	LMHead Tensor // [V, H]; empty when tied to Embed
}

// NewWeights allocates zeroed weights for cfg.
func NewWeights(cfg *Config) *Weights {
	h, v, i := cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	d := cfg.HeadDimension()
	q, kv := cfg.NumAttentionHeads*d, cfg.NumKeyValueHeads*d
	w := &Weights{Config: cfg, Embed: newTensor(v, h), Norm: newTensor(h)}
	if !cfg.TieWordEmbeddings {
		w.LMHead = newTensor(v, h)
	}
	w.Layers = make([]Layer, cfg.NumHiddenLayers)
	for l := range w.Layers {
		L := &w.Layers[l]
		L.InputNorm, L.PostNorm = newTensor(h), newTensor(h)
		L.Q, L.K, L.V, L.O = newTensor(q, h), newTensor(kv, h), newTensor(kv, h), newTensor(h, q)
		if cfg.QKVBias() {
			L.QBias, L.KBias, L.VBias = newTensor(q), newTensor(kv), newTensor(kv)
		}
		L.Gate, L.Up, L.Down = newTensor(i, h), newTensor(i, h), newTensor(h, i)
	}
	return w
}

// Named is a parameter with its HF tensor name.
type Named struct {
	Name   string
	Tensor *Tensor
}

// Params lists every parameter under its HF name, in a fixed order.
func (w *Weights) Params() []Named {
	ps := []Named{{"model.embed_tokens.weight", &w.Embed}}
	for l := range w.Layers {
		L := &w.Layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		ps = append(ps,
			Named{p + "input_layernorm.weight", &L.InputNorm},
			Named{p + "self_attn.q_proj.weight", &L.Q},
			Named{p + "self_attn.k_proj.weight", &L.K},
			Named{p + "self_attn.v_proj.weight", &L.V},
		)
		if len(L.QBias.Data) > 0 {
			ps = append(ps,
				Named{p + "self_attn.q_proj.bias", &L.QBias},
				Named{p + "self_attn.k_proj.bias", &L.KBias},
				Named{p + "self_attn.v_proj.bias", &L.VBias},
			)
		}
		ps = append(ps,
			Named{p + "self_attn.o_proj.weight", &L.O},
			Named{p + "post_attention_layernorm.weight", &L.PostNorm},
			Named{p + "mlp.gate_proj.weight", &L.Gate},
			Named{p + "mlp.up_proj.weight", &L.Up},
			Named{p + "mlp.down_proj.weight", &L.Down},
		)
	}
	ps = append(ps, Named{"model.norm.weight", &w.Norm})
	if len(w.LMHead.Data) > 0 {
		ps = append(ps, Named{"lm_head.weight", &w.LMHead})
	}
	return ps
}

// Head is the output projection: lm_head, or the embedding when tied.
func (w *Weights) Head() *Tensor {
	if len(w.LMHead.Data) > 0 {
		return &w.LMHead
	}
	return &w.Embed
}

// Init fills the weights as HF's _init_weights does: normal(0,
// initializer_range) for matrices, ones for norms, zeros for biases.
func (w *Weights) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	std := w.Config.InitializerRange
	if std == 0 {
		std = 0.02
	}
	for _, p := range w.Params() {
		switch {
		case len(p.Tensor.Shape) == 1 && isNorm(p.Name):
			for i := range p.Tensor.Data {
				p.Tensor.Data[i] = 1
			}
		case len(p.Tensor.Shape) == 1:
			clear(p.Tensor.Data)
		default:
			for i := range p.Tensor.Data {
				p.Tensor.Data[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
}

func isNorm(name string) bool {
	n := len(name)
	return n >= len("norm.weight") && name[n-len("norm.weight"):] == "norm.weight"
}

// NumParams counts the allocated parameters.
func (w *Weights) NumParams() int64 {
	var n int64
	for _, p := range w.Params() {
		n += int64(len(p.Tensor.Data))
	}
	return n
}

// CheckFinite reports the first parameter holding a NaN or Inf.
func (w *Weights) CheckFinite() error {
	for _, p := range w.Params() {
		for _, x := range p.Tensor.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("parameter %s is not finite", p.Name)
			}
		}
	}
	return nil
}
