package gguf

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// TestGGUFMatchesLlamaQuantize exports small students (rows of 256, so the
// k-quants apply) as f32, has llama.cpp's own quantiser
// (llama_model_quantize, what llama-quantize runs) quantise that file, and
// compares it with distill's export at the same type tensor by tensor:
// names, shapes, the type chosen for each tensor and every byte. It covers
// qwen2 with an output matrix and llama with tied embeddings, q/k biases
// and Llama 3.1 RoPE scaling.
func TestGGUFMatchesLlamaQuantize(t *testing.T) {
	tok := tokenizer.NewByteLevel(nil)
	qwen := model.Config{ModelType: "qwen2", HiddenSize: 256, IntermediateSize: 512, NumHiddenLayers: 4,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", MaxPositionEmbeddings: 512,
		RMSNormEps: 1e-6, RopeTheta: 10000}
	llama := model.Config{ModelType: "llama", HiddenSize: 256, IntermediateSize: 512, NumHiddenLayers: 4,
		NumAttentionHeads: 4, NumKeyValueHeads: 1, HiddenAct: "silu", MaxPositionEmbeddings: 1024,
		RMSNormEps: 1e-5, RopeTheta: 500000, TieWordEmbeddings: true, AttentionBias: true,
		RopeScaling: &model.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}}
	for _, tc := range []struct {
		name string
		cfg  model.Config
	}{{"qwen2", qwen}, {"llama", llama}} {
		t.Run(tc.name, func(t *testing.T) {
			st := testStudent(t, tc.cfg, tok, "chatml", 0.05, 3)
			dir := t.TempDir()
			f32, _ := exportTo(t, st, dir, AllF32)
			for _, ft := range []FileType{MostlyQ8_0, MostlyQ4_0, MostlyQ4_KM} {
				ours, _ := exportTo(t, st, dir, ft)
				theirs := filepath.Join(dir, "llama-"+ft.String()+".gguf")
				ggufCheck(t, nil, "requantize", f32, theirs, ft.String())
				var cmp struct {
					OnlyA   []string `json:"only_a"`
					OnlyB   []string `json:"only_b"`
					Tensors []struct {
						Name           string `json:"name"`
						TypeA          string `json:"type_a"`
						TypeB          string `json:"type_b"`
						ShapeA         []int  `json:"shape_a"`
						ShapeB         []int  `json:"shape_b"`
						Equal          bool   `json:"equal"`
						DifferingBytes int    `json:"differing_bytes"`
					} `json:"tensors"`
				}
				ggufCheck(t, &cmp, "compare", ours, theirs)
				if len(cmp.OnlyA)+len(cmp.OnlyB) > 0 {
					t.Errorf("%s: tensors only in ours %v, only in llama.cpp's %v", ft, cmp.OnlyA, cmp.OnlyB)
				}
				counts := map[string]int{}
				for _, x := range cmp.Tensors {
					counts[x.TypeA]++
					switch {
					case x.TypeA != x.TypeB:
						t.Errorf("%s: %s is %s, llama.cpp chose %s", ft, x.Name, x.TypeA, x.TypeB)
					case !slices.Equal(x.ShapeA, x.ShapeB):
						t.Errorf("%s: %s has shape %v, llama.cpp's %v", ft, x.Name, x.ShapeA, x.ShapeB)
					case !x.Equal:
						t.Errorf("%s: %s (%s): %d bytes differ from llama.cpp's", ft, x.Name, x.TypeA, x.DifferingBytes)
					}
				}
				t.Logf("%s: %d tensors %v, all compared with llama.cpp's", ft, len(cmp.Tensors), counts)
			}
		})
	}
}
