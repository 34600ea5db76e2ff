package model

import (
	"fmt"
	"sort"
)

func qwen2(vocab, hidden, inter, layers, heads, kv int, tie bool) Config {
	return Config{
		Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: vocab, HiddenSize: hidden, IntermediateSize: inter, NumHiddenLayers: layers,
		NumAttentionHeads: heads, NumKeyValueHeads: kv, HiddenAct: "silu",
		MaxPositionEmbeddings: 32768, RMSNormEps: 1e-6, RopeTheta: 1e6,
		TieWordEmbeddings: tie, InitializerRange: 0.02, TorchDtype: "bfloat16",
		BOSTokenID: TokenIDs{151643}, EOSTokenID: TokenIDs{151643},
	}
}

func llama3(vocab, hidden, inter, layers, heads, kv int, tie bool) Config {
	return Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
		VocabSize: vocab, HiddenSize: hidden, IntermediateSize: inter, NumHiddenLayers: layers,
		NumAttentionHeads: heads, NumKeyValueHeads: kv, HiddenAct: "silu",
		MaxPositionEmbeddings: 131072, RMSNormEps: 1e-5, RopeTheta: 500000,
		RopeScaling:       &RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192},
		TieWordEmbeddings: tie, InitializerRange: 0.02, TorchDtype: "bfloat16",
		BOSTokenID: TokenIDs{128000}, EOSTokenID: TokenIDs{128001, 128008, 128009},
	}
}

// qwenMath is Qwen2.5-Math's context: 4,096 positions at RoPE base 10,000
// (the R1 report's 1.5B and 7B Qwen distills start from these bases).
func qwenMath(c Config) Config {
	c.MaxPositionEmbeddings = 4096
	c.RopeTheta = 10000
	return c
}

// small gives the CPU-sized presets settings that suit training from scratch:
// a short context and no special token ids (the tokenizer built for the
// student supplies them).
func small(c Config) Config {
	c.MaxPositionEmbeddings = 2048
	c.RopeScaling = nil
	c.RopeTheta = 10000
	c.TorchDtype = "float32"
	c.BOSTokenID, c.EOSTokenID = nil, nil
	return c
}

// Preset is a named student shape.
type Preset struct {
	Name      string
	Published string // the model whose shape it is, empty for CPU sizes
	Config    Config
}

// Presets are the shapes of the bases the R1 report distils into (from
// their HF config.json) and CPU-sized students. Vocabulary sizes of the CPU sizes are
// replaced by the tokenizer's when a student is built from scratch.
var Presets = map[string]Preset{
	"qwen-1.5b":  {"qwen-1.5b", "Qwen/Qwen2.5-Math-1.5B", qwenMath(qwen2(151936, 1536, 8960, 28, 12, 2, true))},
	"qwen-7b":    {"qwen-7b", "Qwen/Qwen2.5-Math-7B", qwenMath(qwen2(152064, 3584, 18944, 28, 28, 4, false))},
	"qwen-14b":   {"qwen-14b", "Qwen/Qwen2.5-14B", qwen2(152064, 5120, 13824, 48, 40, 8, false)},
	"qwen-32b":   {"qwen-32b", "Qwen/Qwen2.5-32B", qwen2(152064, 5120, 27648, 64, 40, 8, false)},
	"llama-8b":   {"llama-8b", "meta-llama/Llama-3.1-8B", llama3(128256, 4096, 14336, 32, 32, 8, false)},
	"llama-70b":  {"llama-70b", "meta-llama/Llama-3.3-70B-Instruct", llama3(128256, 8192, 28672, 80, 64, 8, false)},
	"qwen-nano":  {"qwen-nano", "", small(qwen2(512, 128, 384, 2, 4, 2, true))},
	"qwen-tiny":  {"qwen-tiny", "", small(qwen2(8192, 256, 768, 4, 8, 2, true))},
	"llama-tiny": {"llama-tiny", "", small(llama3(8192, 256, 768, 4, 8, 2, true))},
	"qwen-small": {"qwen-small", "", small(qwen2(8192, 512, 1536, 8, 8, 2, true))},
}

// PresetNames lists the presets, largest last within each family.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := Presets[names[i]].Config, Presets[names[j]].Config
		if a.ModelType != b.ModelType {
			return a.ModelType > b.ModelType
		}
		return a.NumParams() < b.NumParams()
	})
	return names
}

// LookupPreset returns a copy of the named preset's config.
func LookupPreset(name string) (*Config, error) {
	p, ok := Presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown student preset %q (known: %v)", name, PresetNames())
	}
	c := p.Config
	c.Architectures = append([]string(nil), c.Architectures...)
	if c.RopeScaling != nil {
		rs := *c.RopeScaling
		c.RopeScaling = &rs
	}
	return &c, nil
}
