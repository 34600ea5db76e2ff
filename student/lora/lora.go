// Package lora holds low-rank adapters (Hu et al., LoRA) for the student
// decoders and reads and writes them as PEFT does, so that an adapter
// trained here loads with peft.PeftModel.from_pretrained on the base model:
//
//	adapter_config.json          LoraConfig (peft_type LORA, r, lora_alpha, target_modules, …)
//	adapter_model.safetensors    base_model.model.model.layers.L.self_attn.q_proj.lora_A.weight [r, in]
//	                             base_model.model.model.layers.L.self_attn.q_proj.lora_B.weight [out, r]
//
// An adapted projection computes y = x·Wᵀ + b + (alpha/r)·(x·Aᵀ)·Bᵀ with W
// frozen; B starts at zero, so training starts from the base model exactly.
//
// Of ours it may import only `internal/atomicfile`, `student/model` and
// `student/safetensors`.
package lora

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/distill-dev/distill/student/model"
)

// Modules are the projections an adapter can target, in PEFT's names and
// in the order every listing here uses.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// AllLinear is PEFT's "all-linear": every projection of every layer (the
// LM head excluded), the default here as in TRL's and open-r1's LoRA recipes.
const AllLinear = "all-linear"

// ErrConfig reports adapter settings that cannot be used.
var ErrConfig = errors.New("lora")

// Adapter is the pair of low-rank matrices of one projection.
type Adapter struct {
	Layer  int
	Module string       // one of Modules
	A      model.Tensor // [r, in]
	B      model.Tensor // [out, r]
}

// Adapters are the adapters of one model, sorted by layer then module.
type Adapters struct {
	Base    string // the base model (PEFT's base_model_name_or_path)
	Rank    int
	Alpha   float64
	Targets []string // a subset of Modules, in their order
	List    []Adapter
}

// ParseTargets turns "all-linear" or a comma-separated list of module names
// (e.g. "q_proj,v_proj", PEFT's target_modules) into a subset of Modules.
func ParseTargets(s string) ([]string, error) {
	if s == "" || s == AllLinear {
		return slices.Clone(Modules), nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(Modules, m) {
			return nil, fmt.Errorf("%w: target module %q is not one of %s or %s", ErrConfig, m, strings.Join(Modules, ", "), AllLinear)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Modules, a) - slices.Index(Modules, b) })
	return out, nil
}

// Shape is the [out, in] shape of a module's weight in cfg.
func Shape(cfg *model.Config, module string) (out, in int) {
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	d := cfg.HeadDimension()
	q, kv := cfg.NumAttentionHeads*d, cfg.NumKeyValueHeads*d
	switch module {
	case "q_proj":
		return q, h
	case "k_proj", "v_proj":
		return kv, h
	case "o_proj":
		return h, q
	case "gate_proj", "up_proj":
		return inter, h
	case "down_proj":
		return h, inter
	}
	panic("lora: unknown module " + module)
}

// Base is the frozen weight a module's adapter sits on.
func Base(w *model.Weights, layer int, module string) *model.Tensor {
	L := &w.Layers[layer]
	switch module {
	case "q_proj":
		return &L.Q
	case "k_proj":
		return &L.K
	case "v_proj":
		return &L.V
	case "o_proj":
		return &L.O
	case "gate_proj":
		return &L.Gate
	case "up_proj":
		return &L.Up
	case "down_proj":
		return &L.Down
	}
	panic("lora: unknown module " + module)
}

// New allocates zeroed adapters of rank r on the target modules of every
// layer of cfg.
func New(cfg *model.Config, rank int, alpha float64, targets []string) (*Adapters, error) {
	switch {
	case rank <= 0:
		return nil, fmt.Errorf("%w: rank %d must be positive", ErrConfig, rank)
	case alpha <= 0 || math.IsNaN(alpha) || math.IsInf(alpha, 0):
		return nil, fmt.Errorf("%w: alpha %v must be a positive number", ErrConfig, alpha)
	case len(targets) == 0:
		return nil, fmt.Errorf("%w: no target module", ErrConfig)
	}
	a := &Adapters{Rank: rank, Alpha: alpha, Targets: slices.Clone(targets)}
	for l := range cfg.NumHiddenLayers {
		for _, m := range targets {
			if !slices.Contains(Modules, m) {
				return nil, fmt.Errorf("%w: target module %q is not one of %s", ErrConfig, m, strings.Join(Modules, ", "))
			}
			out, in := Shape(cfg, m)
			a.List = append(a.List, Adapter{Layer: l, Module: m,
				A: model.Tensor{Shape: []int{rank, in}, Data: make([]float32, rank*in)},
				B: model.Tensor{Shape: []int{out, rank}, Data: make([]float32, out*rank)}})
		}
	}
	return a, nil
}

// ZerosLike allocates adapters of a's shape, all zero (its gradients).
func ZerosLike(a *Adapters, cfg *model.Config) *Adapters {
	z, err := New(cfg, a.Rank, a.Alpha, a.Targets)
	if err != nil {
		panic(err) // a was built by New with the same arguments
	}
	return z
}

// Scale is PEFT's scaling, alpha/r.
func (a *Adapters) Scale() float64 { return a.Alpha / float64(a.Rank) }

// Init sets A as PEFT does (kaiming_uniform_ with a=√5: U(±1/√in)) from the
// seed, and B to zero.
func (a *Adapters) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x10a))
	for i := range a.List {
		ad := &a.List[i]
		bound := 1 / math.Sqrt(float64(ad.A.Shape[1]))
		for j := range ad.A.Data {
			ad.A.Data[j] = float32((2*rng.Float64() - 1) * bound)
		}
		clear(ad.B.Data)
	}
}

// Name is the PEFT tensor name of a module's lora_A or lora_B weight.
func Name(layer int, module, which string) string {
	group := "self_attn"
	if slices.Index(Modules, module) >= slices.Index(Modules, "gate_proj") {
		group = "mlp"
	}
	return fmt.Sprintf("base_model.model.model.layers.%d.%s.%s.lora_%s.weight", layer, group, module, which)
}

// Params lists the adapter matrices under their PEFT names, A before B.
func (a *Adapters) Params() []model.Named {
	ps := make([]model.Named, 0, 2*len(a.List))
	for i := range a.List {
		ad := &a.List[i]
		ps = append(ps, model.Named{Name: Name(ad.Layer, ad.Module, "A"), Tensor: &ad.A},
			model.Named{Name: Name(ad.Layer, ad.Module, "B"), Tensor: &ad.B})
	}
	return ps
}

// NumParams counts the adapters' parameters.
func (a *Adapters) NumParams() int64 {
	var n int64
	for _, p := range a.Params() {
		n += int64(len(p.Tensor.Data))
	}
	return n
}

// Merge adds every adapter into its base weight, W += (alpha/r)·B·A, and
// sets B to zero, so that the adapted model computes the same function
// before and after: a graph built on w and a keeps working.
func (a *Adapters) Merge(w *model.Weights) {
	a.AddTo(w)
	for i := range a.List {
		clear(a.List[i].B.Data)
	}
}

// AddTo adds every adapter into its base weight in w, W += (alpha/r)·B·A,
// and leaves the adapters as they are: w (a copy of the base) then computes
// what the adapted model computes, e.g. for sampling from it.
func (a *Adapters) AddTo(w *model.Weights) {
	s := float32(a.Scale())
	for i := range a.List {
		ad := &a.List[i]
		W := Base(w, ad.Layer, ad.Module)
		out, in, r := ad.B.Shape[0], ad.A.Shape[1], a.Rank
		for o := range out {
			wr := W.Data[o*in : (o+1)*in]
			for k := range r {
				c := s * ad.B.Data[o*r+k]
				if c == 0 {
					continue
				}
				for j, x := range ad.A.Data[k*in : (k+1)*in] {
					wr[j] += c * x
				}
			}
		}
	}
}
