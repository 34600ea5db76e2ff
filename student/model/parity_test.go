package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
)

// expected is written by scripts/torch_reference.py fixtures: plain
// PyTorch implementations of HF's Qwen2 and Llama on the same checkpoint.
type expected struct {
	Cases []struct {
		Tokens     []int32     `json:"tokens"`
		LastLogits []float32   `json:"last_logits"`
		AllLogits  [][]float32 `json:"all_logits"`
		Greedy     []int32     `json:"greedy"`
	} `json:"cases"`
}

// relErr is max |got − want| / max |want|.
func relErr(got, want []float32) float64 {
	var md, mr float64
	for i := range want {
		md = math.Max(md, math.Abs(float64(got[i]-want[i])))
		mr = math.Max(mr, math.Abs(float64(want[i])))
	}
	return md / mr
}

func TestParityWithPyTorch(t *testing.T) {
	for _, name := range []string{"qwen2-tiny", "llama3-tiny", "qwen2-tiny-bf16"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			w, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var exp expected
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			if len(exp.Cases) == 0 {
				t.Fatal("no cases in expected.json")
			}
			v := w.Config.VocabSize
			prompts := make([][]int32, len(exp.Cases))
			for i, c := range exp.Cases {
				prompts[i] = c.Tokens
				if e := relErr(w.Logits(c.Tokens), c.LastLogits); e > 1e-4 {
					t.Errorf("case %d (%d tokens): last logits relative error %.2g > 1e-4", i, len(c.Tokens), e)
				}
				if c.AllLogits != nil {
					all := w.Forward(c.Tokens)
					for p, want := range c.AllLogits {
						if e := relErr(all[p*v:(p+1)*v], want); e > 1e-4 {
							t.Errorf("case %d position %d: logits relative error %.2g > 1e-4", i, p, e)
						}
					}
				}
			}
			// All prompts in one batch: different lengths share each decode step.
			got, err := model.Generate(t.Context(), w, prompts, model.SampleOptions{MaxNewTokens: len(exp.Cases[0].Greedy)})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range exp.Cases {
				if !slices.Equal(got[i].Tokens, c.Greedy) {
					t.Errorf("case %d: greedy %v, PyTorch %v", i, got[i].Tokens, c.Greedy)
				}
			}
		})
	}
}
