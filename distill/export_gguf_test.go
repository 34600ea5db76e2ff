package distill

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

func TestExportGGUFWritesFileAndModelfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ollama", "nano.gguf")
	var log bytes.Buffer
	err := runExportGGUF(context.Background(), ExportGGUFOptions{Model: repotest.Data(t, "students/arith-nano"), Out: out, Type: "Q4_K_M", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "GGUF" || b[4] != 3 {
		t.Errorf("header %q", b[:8])
	}
	mf, err := os.ReadFile(filepath.Join(filepath.Dir(out), "Modelfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM ./nano.gguf\n", "<|im_start|>", `PARAMETER stop "<|im_end|>"`} {
		if !strings.Contains(string(mf), want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, mf)
		}
	}
	if !strings.Contains(log.String(), "q4_k_m") || !strings.Contains(log.String(), "× the fp32 weights") {
		t.Errorf("log: %s", log.String())
	}
}

func TestExportGGUFRefuses(t *testing.T) {
	nano := repotest.Data(t, "students/arith-nano")
	// A byte-level tokenizer whose split pattern llama.cpp has no name for.
	custom := tokenizer.NewByteLevel(nil).JSON()
	custom = bytes.Replace(custom, []byte(`"Regex": "(?i:`), []byte(`"Regex": "\\d{1,2}|(?i:`), 1)
	tok, err := tokenizer.FromJSON(custom)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.Presets["qwen-nano"].Config
	cfg.VocabSize = tok.VocabSize()
	w := model.NewWeights(&cfg)
	w.Init(1)
	odd := filepath.Join(t.TempDir(), "odd")
	if err := (&student.Student{Weights: w, Tok: tok, Template: tmpl}).Save(odd, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts ExportGGUFOptions
		want string
	}{
		{"type", ExportGGUFOptions{Model: nano, Out: filepath.Join(dir, "a.gguf"), Type: "q3_k"}, `--type: GGUF type "q3_k"`},
		{"out", ExportGGUFOptions{Model: nano, Out: filepath.Join(dir, "a.bin"), Type: "f16"}, "ending in .gguf"},
		{"model", ExportGGUFOptions{Model: filepath.Join(dir, "none"), Out: filepath.Join(dir, "a.gguf"), Type: "f16"}, "--model"},
		{"pre-tokenizer", ExportGGUFOptions{Model: odd, Out: filepath.Join(dir, "a.gguf"), Type: "f16"}, "none of Qwen2's, Llama 3's or GPT-2's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Log = &bytes.Buffer{}
			err := runExportGGUF(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
			if _, err := os.Stat(tc.opts.Out); err == nil {
				t.Errorf("%s written despite the error", tc.opts.Out)
			}
		})
	}
}
