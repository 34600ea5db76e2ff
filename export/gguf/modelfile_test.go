package gguf

import (
	"strings"
	"testing"
	"text/template"

	"github.com/distill-dev/distill/student/tokenizer"
)

// TestOllamaTemplatesMatchChatTemplates renders each Ollama template with
// Go's text/template, as Ollama does, and compares it with distill's
// renderer (the Jinja template's output, with the generation prompt).
func TestOllamaTemplatesMatchChatTemplates(t *testing.T) {
	type msg struct{ Role, Content string }
	convs := [][]tokenizer.Message{
		{{Role: "user", Content: "What is 2 + 3?"}},
		{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}},
		{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}, {Role: "user", Content: "c\nd"}},
		{{Role: "system", Content: "S1"}, {Role: "user", Content: "你好"}, {Role: "assistant", Content: "x"}, {Role: "user", Content: "y"}},
	}
	for _, name := range tokenizer.TemplateNames() {
		t.Run(name, func(t *testing.T) {
			src, ok := ollamaTemplates[name]
			if !ok {
				t.Fatalf("no Ollama template for %s", name)
			}
			gt, err := template.New(name).Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			jt, err := tokenizer.TemplateFor(name)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range convs {
				want, err := jt.Format(c, true)
				if err != nil {
					t.Fatal(err)
				}
				data := struct{ Messages []msg }{}
				for _, m := range c {
					data.Messages = append(data.Messages, msg{m.Role, m.Content})
				}
				var b strings.Builder
				if err := gt.Execute(&b, data); err != nil {
					t.Fatal(err)
				}
				if b.String() != want {
					t.Errorf("conversation %d:\nOllama %q\nJinja  %q", i, b.String(), want)
				}
			}
		})
	}
}

func TestModelfile(t *testing.T) {
	tok := tokenizer.NewByteLevel(nil)
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Modelfile("student.gguf", tok, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM ./student.gguf\n", "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>", "PARAMETER stop \"<|im_end|>\"\n", "PARAMETER stop \"<|endoftext|>\"\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, got)
		}
	}
}
