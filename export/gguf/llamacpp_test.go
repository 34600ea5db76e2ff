package gguf

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// llamaCppSpec and llamaCppOut are gguf_check.py run's input and output.
type llamaCppSpec struct {
	Texts         []string  `json:"texts"`
	Prompts       [][]int32 `json:"prompts"`
	GreedyTokens  int       `json:"greedy_tokens"`
	FixedIDs      []int32   `json:"fixed_ids"`
	ContextLength int       `json:"n_ctx"`
}

type llamaCppOut struct {
	Tokens [][]int32 `json:"tokens"`
	Greedy [][]int32 `json:"greedy"`
	Argmax []int32   `json:"argmax"`
}

// minAgreement is the least share of positions of the fixed text where
// llama.cpp's top-1 token on a file of that type must equal distill's fp32
// one (0: measured and logged only).
type minAgreement map[FileType]float64

// checkLlamaCpp exports st at each of types, loads each file in llama.cpp (llama-cpp-python) and checks, at f16, that llama.cpp
// tokenizes the chats and fixedText as distill does and that its greedy
// continuation of each chat equals distill's for 32 tokens; at every type,
// that its top-1 token at each position of fixedText agrees with distill's
// fp32 model at least as often as min says. It logs each file's size
// against the fp32 weights and the agreement.
func checkLlamaCpp(t *testing.T, st *student.Student, types []FileType, chats [][]tokenizer.Message, fixedText string, min minAgreement) {
	w, tok := st.Weights, st.Tok
	var texts []string
	var prompts [][]int32
	for _, c := range chats {
		s, err := st.Template.Format(c, true)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := st.Template.RenderPrompt(tok, c)
		if err != nil {
			t.Fatal(err)
		}
		texts, prompts = append(texts, s), append(prompts, ids)
	}
	texts = append(texts, fixedText)
	fixed := tok.Encode(fixedText)
	comps, err := model.Generate(context.Background(), w, prompts, model.SampleOptions{MaxNewTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[int32]bool{}
	for _, c := range comps {
		for _, id := range c.Tokens {
			distinct[id] = true
		}
	}
	t.Logf("distill's greedy continuations: %d distinct tokens in %d", len(distinct), 32*len(comps))
	if len(distinct) < 16 {
		t.Fatalf("distill's greedy continuations use only %d distinct tokens: too degenerate to compare", len(distinct))
	}
	logits := w.Forward(fixed)
	v := w.Config.VocabSize
	ours := make([]int32, len(fixed))
	for i := range ours {
		ours[i] = int32(argmax(logits[i*v : (i+1)*v]))
	}

	dir := t.TempDir()
	fp32 := 4 * w.Config.NumParams()
	for _, ft := range types {
		path, res := exportTo(t, st, dir, ft)
		spec := llamaCppSpec{FixedIDs: fixed, ContextLength: 1024}
		if ft == MostlyF16 {
			spec.Texts, spec.Prompts, spec.GreedyTokens = texts, prompts, 32
		}
		specPath := filepath.Join(dir, ft.String()+".json")
		writeJSON(t, specPath, spec)
		var out llamaCppOut
		ggufCheck(t, &out, "run", path, specPath)

		for i, s := range spec.Texts {
			if want := tok.Encode(s); !slices.Equal(out.Tokens[i], want) {
				t.Errorf("%s: llama.cpp tokenizes text %d as %v, distill as %v", ft, i, out.Tokens[i], want)
			}
		}
		for i := range spec.Prompts {
			if !slices.Equal(out.Greedy[i], comps[i].Tokens) {
				t.Errorf("%s: prompt %d: llama.cpp's greedy continuation %v, distill's %v", ft, i, out.Greedy[i], comps[i].Tokens)
			}
		}
		if len(out.Argmax) != len(ours) {
			t.Fatalf("%s: llama.cpp gave %d positions, want %d", ft, len(out.Argmax), len(ours))
		}
		same := 0
		for i := range ours {
			if ours[i] == out.Argmax[i] {
				same++
			}
		}
		agree := float64(same) / float64(len(ours))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-6s %9d bytes, %.3f× the fp32 weights (%d): llama.cpp's top-1 = distill's at %d/%d positions (%.1f%%); tensors %v",
			ft, fi.Size(), float64(fi.Size())/float64(fp32), fp32, same, len(ours), 100*agree, res.Tensors)
		if agree < min[ft] {
			t.Errorf("%s: top-1 agreement %.1f%%, want ≥ %.0f%%", ft, 100*agree, 100*min[ft])
		}
	}
}

// TestGGUFLlamaCppRealTokenizers exports random students with the real
// Qwen3 and Llama 3 tokenizers, so that llama.cpp's own tokenizer (the
// qwen2 and llama-bpe pre-tokenizers, merges, added tokens) is exercised,
// and checks tokenization and the f16 greedy continuations (checkLlamaCpp).
// The Llama model has q/k biases and Llama 3.1 RoPE scaling, so the q/k
// permutation and rope_freqs are exercised too. Weights are N(0, 0.5):
// large enough that the 32-token continuations vary (not one token
// repeated) and are not decided by f16 rounding. Such a random network is
// chaotic and its next-token distribution over 150k tokens flat, so its
// top-1 agreement after quantisation says little about the export (we
// measured 74–82% at q8_0 and 10–17% at q4_0); TestGGUFLlamaCppTrained
// checks the quantised types on a trained student.
func TestGGUFLlamaCppRealTokenizers(t *testing.T) {
	qwen := model.Config{ModelType: "qwen2", HiddenSize: 64, IntermediateSize: 192, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", MaxPositionEmbeddings: 1024, InitializerRange: 0.02,
		RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true}
	llama := model.Config{ModelType: "llama", HiddenSize: 64, IntermediateSize: 192, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", MaxPositionEmbeddings: 1024, InitializerRange: 0.02,
		RMSNormEps: 1e-5, RopeTheta: 500000, AttentionBias: true,
		RopeScaling: &model.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}}
	chats := [][]tokenizer.Message{
		{{Role: "user", Content: "What is 12 + 34?"}},
		{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Name a prime number."}},
		{{Role: "user", Content: "Translate to French: good morning"}},
		{{Role: "user", Content: "写一首关于秋天的诗。"}},
		{{Role: "user", Content: "x"}, {Role: "assistant", Content: "y"}, {Role: "user", Content: "Continue the pattern: 1, 1, 2, 3, 5,"}},
	}
	const text = `The quick brown fox jumps over the lazy dog; meanwhile, 3.14159 × 2 = 6.28318.
def add(a, b):
    return a + b  # it's the simplest function there is
Über den Wolken muss die Freiheit wohl grenzenlos sein. 你好，世界！今天天气很好。
<|im_start|>user
What is 69 + 66 × 3?<|im_end|>
Numbers such as 1234567 and 0.000042 are split differently by each tokenizer.`
	for _, tc := range []struct {
		family, template string
		cfg              model.Config
	}{{"qwen3", "qwen2.5", qwen}, {"llama3", "llama3", llama}} {
		t.Run(tc.family, func(t *testing.T) {
			checkLlamaCpp(t, testStudent(t, tc.cfg, realTokenizer(t, tc.family), tc.template, 0.5, 7), []FileType{MostlyF16}, chats, text, nil)
		})
	}
}

// TestGGUFLlamaCppTrained checks a student distill trained (testdata/
// students/arith-nano: qwen-nano, byte-level tokenizer, SFT on builtin
// arithmetic traces) in llama.cpp: tokenization and f16 greedy decoding as
// above, and top-1 agreement with distill's fp32 model of at least 95% at
// q8_0 and 85% at q4_0 on a text of the kind it was trained on.
func TestGGUFLlamaCppTrained(t *testing.T) {
	st, err := student.Open(repotest.Data(t, "students/arith-nano"))
	if err != nil {
		t.Fatal(err)
	}
	var chats [][]tokenizer.Message
	for _, q := range []string{"What is 12 + 34?", "What is 71 + 27 + 57?", "What is 9 + 88?", "What is 45 + 45 + 10?", "What is 63 + 19?"} {
		chats = append(chats, []tokenizer.Message{{Role: "user", Content: q}})
	}
	// Two worked problems as the model was trained on them, and one with a
	// wrong step, so that the scored positions include unlikely tokens.
	var text string
	for _, c := range [][2]string{
		{"What is 38 + 47?", "<think>\n38 + 47 = 85\n</think>\n\n\\boxed{85}"},
		{"What is 12 + 59 + 23?", "<think>\n12 + 59 = 71\n71 + 23 = 94\nCheck: 94 - 23 = 71.\n</think>\n\n\\boxed{94}"},
		{"What is 66 + 18?", "<think>\n66 + 18 = 74\n</think>\n\n\\boxed{74}"},
	} {
		s, err := st.Template.Format([]tokenizer.Message{{Role: "user", Content: c[0]}, {Role: "assistant", Content: c[1]}}, false)
		if err != nil {
			t.Fatal(err)
		}
		text += s
	}
	checkLlamaCpp(t, st, []FileType{MostlyF16, MostlyQ8_0, MostlyQ4_0, MostlyQ4_KM}, chats, text, minAgreement{MostlyQ8_0: 0.95, MostlyQ4_0: 0.85})
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
