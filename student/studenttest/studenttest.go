// Package studenttest saves tiny students for the tests of the packages
// that train, sample and evaluate them.
package studenttest

import (
	"path/filepath"
	"testing"

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
