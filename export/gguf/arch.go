package gguf

import (
	"fmt"
	"math"

	"github.com/distill-dev/distill/student/model"
)

// archOf is the llama.cpp architecture of a config: Qwen2 and Llama
// checkpoints map to llama.cpp's own qwen2 and llama.
func archOf(cfg *model.Config) (string, error) {
	switch cfg.ModelType {
	case "qwen2", "llama":
		return cfg.ModelType, nil
	}
	return "", fmt.Errorf("model_type %q: GGUF export supports qwen2 and llama", cfg.ModelType)
}

// hyperparameters are the {arch}.* keys llama.cpp's converter writes for
// Qwen2 and Llama (TextModel and LlamaModel.set_gguf_parameters).
func hyperparameters(cfg *model.Config) ([]kv, error) {
	arch, err := archOf(cfg)
	if err != nil {
		return nil, err
	}
	k := func(s string) string { return arch + "." + s }
	kvs := []kv{
		{k("block_count"), uint32(cfg.NumHiddenLayers)},
		{k("context_length"), uint32(cfg.MaxPositionEmbeddings)},
		{k("embedding_length"), uint32(cfg.HiddenSize)},
		{k("feed_forward_length"), uint32(cfg.IntermediateSize)},
		{k("attention.head_count"), uint32(cfg.NumAttentionHeads)},
		{k("attention.head_count_kv"), uint32(cfg.NumKeyValueHeads)},
		{k("rope.freq_base"), float32(cfg.RopeTheta)},
		{k("attention.layer_norm_rms_epsilon"), float32(cfg.RMSNormEps)},
	}
	// The converter writes the head width when the HF config has head_dim,
	// which transformers' LlamaConfig always does and Qwen2Config only when
	// the checkpoint sets it.
	if cfg.HeadDim > 0 || arch == "llama" {
		d := uint32(cfg.HeadDimension())
		kvs = append(kvs, kv{k("attention.key_length"), d}, kv{k("attention.value_length"), d})
	}
	if arch == "llama" {
		kvs = append(kvs, kv{k("vocab_size"), uint32(cfg.VocabSize)}, kv{k("rope.dimension_count"), uint32(cfg.HeadDimension())})
	}
	return kvs, nil
}

// ropeFactors is the rope_freqs tensor the converter writes for Llama 3.1's
// "llama3" RoPE scaling (LlamaModel.generate_extra_tensors): llama.cpp
// divides each rotary frequency by its factor, 1 for short wavelengths,
// rope_scaling.factor for long ones, interpolated in between. nil when the
// config has no such scaling.
func ropeFactors(cfg *model.Config) []float32 {
	s := cfg.RopeScaling
	if s == nil || (s.RopeType != "llama3" && s.Type != "llama3") {
		return nil
	}
	d := cfg.HeadDimension()
	old := float32(s.OriginalMaxPositionEmbeddings)
	low, high, factor := float32(s.LowFreqFactor), float32(s.HighFreqFactor), float32(s.Factor)
	lowWave, highWave := old/low, old/high
	out := make([]float32, d/2)
	// The converter computes in float32 torch tensors, where a/x is
	// x.reciprocal()·a; these are the same operations, so the factors are
	// the same floats.
	for i := range out {
		freq := 1 / float32(math.Pow(cfg.RopeTheta, float64(float32(2*i)/float32(d))))
		wave := (1 / freq) * float32(2*math.Pi)
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = factor
		default:
			smooth := (float32((1/wave)*old) - low) / (high - low)
			out[i] = 1 / (float32((1-smooth)/factor) + smooth)
		}
	}
	return out
}
