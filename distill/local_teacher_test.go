package distill

import (
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/teacher"
)

// A local: teacher answers from a saved checkpoint and is named after its
// directory unless --model names it.
func TestOpenLocal(t *testing.T) {
	tok := tokenizer.NewByteLevel(nil)
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	c := model.Presets["qwen-nano"].Config
	c.VocabSize = tok.VocabSize()
	w := model.NewWeights(&c)
	w.Init(1)
	dir := filepath.Join(t.TempDir(), "student")
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	lt, name, err := openLocal(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if name != "student" {
		t.Errorf("model %q, want the directory's name", name)
	}
	if _, name, _ := openLocal(dir, "mine"); name != "mine" {
		t.Errorf("model %q, want --model's", name)
	}
	resp, err := lt.Complete(t.Context(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "1+1?"}}, MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "student" || resp.Usage.CompletionTokens == 0 || resp.Usage.CompletionTokens > 5 {
		t.Errorf("response %+v", resp)
	}
	if _, _, err := openLocal(t.TempDir(), ""); err == nil {
		t.Error("empty directory: no error")
	}
}
