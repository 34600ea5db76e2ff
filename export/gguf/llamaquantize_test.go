package gguf

import (
	"bytes"
	"os"
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
				t.Logf("%s: %d tensors %v, each compared with llama.cpp's (type, shape, bytes)", ft, len(cmp.Tensors), counts)
			}
		})
	}
}

// TestQuantizeQ5KMatchesLlamaQuantize checks Q5_K, which distill writes only
// for attn_v of 70B models at q4_k_m, against llama.cpp's quantiser: its
// Q5_K_M file type quantises most matrices of a small student to Q5_K, and
// each of those must equal Quantize(Q5_K) of the same weights.
func TestQuantizeQ5KMatchesLlamaQuantize(t *testing.T) {
	cfg := model.Config{ModelType: "qwen2", HiddenSize: 256, IntermediateSize: 512, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", MaxPositionEmbeddings: 512,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true}
	st := testStudent(t, cfg, tokenizer.NewByteLevel(nil), "chatml", 0.05, 5)
	dir := t.TempDir()
	f32, _ := exportTo(t, st, dir, AllF32)
	theirs := filepath.Join(dir, "llama-q5_k_m.gguf")
	ggufCheck(t, nil, "requantize", f32, theirs, "q5_k_m")
	var types map[string]string
	ggufCheck(t, &types, "dump", theirs, dir)
	slots, err := plan(st.Weights.Config, AllF32)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range slots {
		if types[s.name] != "Q5_K" {
			continue
		}
		n++
		want, err := os.ReadFile(filepath.Join(dir, s.name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Quantize(Q5_K, s.data(st.Weights), s.shape[len(s.shape)-1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Q5_K differs from llama.cpp's", s.name)
		}
	}
	if n < 8 {
		t.Fatalf("llama.cpp's Q5_K_M file has %d Q5_K tensors (%v); want the matrices of 2 layers", n, types)
	}
	t.Logf("%d Q5_K tensors equal llama.cpp's", n)
}
