package distill

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/train"
)

// A recipe's input paths are relative to the recipe, not to the working
// directory (they were taken as given); outputs, specs, presets and Hub ids
// are kept as written.
func TestLoadConfigPathsRelativeToRecipe(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "recipes")
	if err := os.MkdirAll(filepath.Join(root, "ckpt"), 0o755); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(dir, "r.yaml")
	writeFile(t, recipe, `out: runs/x
generate:
  teacher: local:../teacher
  prompts: ../data/train.jsonl
filter:
  decontaminate:
    files: [../data/test.jsonl, /abs/bench.jsonl]
train:
  init: ../ckpt
  student: qwen-nano
  data: [{path: ../data/math}, {path: /abs/code, weight: 0.5}]
  extra_data: [{path: ../data/chat, max_rows: 200}]
rl:
  prompts: builtin:arith:1-2
  model: Qwen/Qwen2.5-Math-1.5B
eval:
  prompts: https://example.com/x.jsonl
`)
	opts := DefaultRunOptions()
	if err := loadConfig(recipe, &opts); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	for _, tc := range []struct{ name, got, want string }{
		{"out", opts.Out, "runs/x"},
		{"generate.teacher", opts.Generate.Teacher, "local:" + filepath.Join(root, "teacher")},
		{"generate.prompts", opts.Generate.Prompts, filepath.Join(data, "train.jsonl")},
		{"train.init", opts.Train.Init, filepath.Join(root, "ckpt")},
		{"train.student", opts.Train.Student, "qwen-nano"},
		{"rl.prompts", opts.RL.Prompts, "builtin:arith:1-2"},
		{"rl.model", opts.RL.Model, "Qwen/Qwen2.5-Math-1.5B"},
		{"eval.prompts", opts.Eval.Prompts, "https://example.com/x.jsonl"},
		{"eval.model (default, unset)", opts.Eval.Model, ""},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if want := (train.Mixture{{Path: filepath.Join(data, "math")}, {Path: "/abs/code", Weight: 0.5}}); !slices.Equal(opts.Train.Data, want) {
		t.Errorf("train.data = %v, want %v", opts.Train.Data, want)
	}
	if want := (train.Mixture{{Path: filepath.Join(data, "chat"), MaxRows: 200}}); !slices.Equal(opts.Train.ExtraData, want) {
		t.Errorf("train.extra_data = %v, want %v", opts.Train.ExtraData, want)
	}
	if want := []string{filepath.Join(data, "test.jsonl"), "/abs/bench.jsonl"}; !slices.Equal(opts.Filter.Decontam.Files, want) {
		t.Errorf("filter.decontaminate.files = %q, want %q", opts.Filter.Decontam.Files, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
