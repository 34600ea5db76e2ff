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

// The local: teacher hook is wired and answers from a saved checkpoint.
func TestLocalTeacherHook(t *testing.T) {
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
	if localTeacher == nil {
		t.Fatal("localTeacher hook is not set")
	}
	lt, err := localTeacher(dir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := lt.Complete(t.Context(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "1+1?"}}, MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "student" || resp.Usage.CompletionTokens == 0 || resp.Usage.CompletionTokens > 5 {
		t.Errorf("response %+v", resp)
	}
	if _, err := localTeacher(t.TempDir()); err == nil {
		t.Error("empty directory: no error")
	}
}
