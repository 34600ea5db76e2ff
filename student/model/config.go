// Package model holds the student architectures (Qwen2 and Llama 3 decoders):
// their Hugging Face configuration, presets, weights and inference.
//
// Of ours it may import only `internal/atomicfile`, `student/blas` and
// `student/kernel`.
package model

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// RopeScaling is HF's rope_scaling block; Llama 3.1 uses rope_type "llama3".
type RopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"` // older spelling of rope_type
	Factor                        float64 `json:"factor,omitempty"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
}

// TokenIDs is a token id field that HF writes either as one int or a list
// (Llama 3.1's eos_token_id is a list).
type TokenIDs []int

func (t *TokenIDs) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*t = TokenIDs{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("token id: want int or list of ints, got %s", b)
	}
	*t = many
	return nil
}

func (t TokenIDs) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]int(t))
}

// Config mirrors HF config.json for Qwen2ForCausalLM and LlamaForCausalLM.
type Config struct {
	Architectures         []string     `json:"architectures"`
	ModelType             string       `json:"model_type"` // "qwen2" or "llama"
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HeadDim               int          `json:"head_dim,omitempty"` // 0: hidden_size / num_attention_heads
	HiddenAct             string       `json:"hidden_act"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	AttentionBias         bool         `json:"attention_bias,omitempty"` // Llama's switch; Qwen2 always has q/k/v bias
	InitializerRange      float64      `json:"initializer_range"`
	BOSTokenID            TokenIDs     `json:"bos_token_id,omitempty"`
	EOSTokenID            TokenIDs     `json:"eos_token_id,omitempty"`
	TorchDtype            string       `json:"torch_dtype,omitempty"`
}

// UnmarshalJSON reads config.json as transformers 4 writes it (rope_theta,
// rope_scaling, torch_dtype) and as transformers 5 does: rope_parameters
// holds rope_theta and the scaling fields, and dtype replaces torch_dtype.
// Without this a checkpoint saved by transformers 5 had no rope_theta and
// was refused. Save keeps writing the 4.x names, which 5 still reads and
// older readers (vLLM, llama.cpp's converter) need.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config // without this method
	var v struct {
		plain
		RopeParameters *struct {
			RopeScaling
			RopeTheta float64 `json:"rope_theta"`
		} `json:"rope_parameters"`
		Dtype string `json:"dtype"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Config(v.plain)
	if p := v.RopeParameters; p != nil {
		if c.RopeTheta == 0 {
			c.RopeTheta = p.RopeTheta
		}
		if t := cmp.Or(p.RopeType, p.Type); c.RopeScaling == nil && t != "" && t != "default" {
			rs := p.RopeScaling
			c.RopeScaling = &rs
		}
	}
	c.TorchDtype = cmp.Or(c.TorchDtype, v.Dtype)
	return nil
}

// HeadDimension is the per-head width.
func (c *Config) HeadDimension() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// QKVBias reports whether the q, k and v projections carry a bias: always
// for Qwen2 (hard-coded in HF's modeling code), by attention_bias for Llama.
func (c *Config) QKVBias() bool { return c.ModelType == "qwen2" || c.AttentionBias }

// Validate checks the fields the model needs.
func (c *Config) Validate() error {
	switch c.ModelType {
	case "qwen2", "llama":
	default:
		return fmt.Errorf("model_type %q: want qwen2 or llama", c.ModelType)
	}
	if c.HiddenAct != "" && c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q: only silu is supported", c.HiddenAct)
	}
	pos := map[string]int{
		"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize, "intermediate_size": c.IntermediateSize,
		"num_hidden_layers": c.NumHiddenLayers, "num_attention_heads": c.NumAttentionHeads,
		"num_key_value_heads": c.NumKeyValueHeads,
	}
	for _, k := range []string{"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"} {
		if pos[k] <= 0 {
			return fmt.Errorf("%s must be positive, got %d", k, pos[k])
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.HeadDimension()%2 != 0 {
		return errors.New("head dimension must be even for rotary embeddings")
	}
	if c.RMSNormEps <= 0 {
		return fmt.Errorf("rms_norm_eps must be positive, got %g", c.RMSNormEps)
	}
	if c.RopeTheta <= 0 {
		return fmt.Errorf("rope_theta must be positive, got %g", c.RopeTheta)
	}
	if s := c.RopeScaling; s != nil {
		t := s.RopeType
		if t == "" {
			t = s.Type
		}
		switch t {
		case "", "default":
		case "llama3":
			if s.Factor <= 0 || s.LowFreqFactor <= 0 || s.HighFreqFactor <= s.LowFreqFactor || s.OriginalMaxPositionEmbeddings <= 0 {
				return errors.New("rope_scaling llama3: factor, low_freq_factor < high_freq_factor and original_max_position_embeddings are required")
			}
		default:
			return fmt.Errorf("rope_scaling type %q is not supported (default, llama3)", t)
		}
	}
	return nil
}

// NumParams counts the parameters the config implies.
func (c *Config) NumParams() int64 {
	h, v, l := int64(c.HiddenSize), int64(c.VocabSize), int64(c.NumHiddenLayers)
	hd := int64(c.HeadDimension())
	q := int64(c.NumAttentionHeads) * hd
	kv := int64(c.NumKeyValueHeads) * hd
	attn := h*q + 2*h*kv + q*h
	if c.QKVBias() {
		attn += q + 2*kv
	}
	mlp := 3 * h * int64(c.IntermediateSize)
	per := attn + mlp + 2*h
	n := v*h + l*per + h
	if !c.TieWordEmbeddings {
		n += v * h
	}
	return n
}

// LoadConfig reads and validates a config.json.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Save writes config.json as HF writes it.
func (c *Config) Save(path string) error {
	return atomicfile.WriteJSON(path, c)
}
