// Package student ties a checkpoint's parts together: weights, tokenizer and
// chat template, as training, evaluation, GRPO and serving all need them.
//
// Of ours it may import only `student/checkpoint`, `student/lora`,
// `student/model` and `student/tokenizer`.
package student

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Student is a loaded checkpoint.
type Student struct {
	Dir      string
	Weights  *model.Weights
	Tok      *tokenizer.Tokenizer
	Template *tokenizer.Template
}

// Open loads the checkpoint in dir: config.json, safetensors and
// tokenizer.json are required. A PEFT LoRA adapter directory (a LoRA run's
// checkpoints/step-N or OUT/adapter) opens as its base with the adapters
// merged in, when the base it names is a local checkpoint directory.
func Open(dir string) (*Student, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, lora.ConfigFile)); err == nil {
			return openAdapter(dir)
		}
	}
	w, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if tok.VocabSize() > w.Config.VocabSize {
		return nil, fmt.Errorf("checkpoint %s: tokenizer has %d ids but vocab_size is %d", dir, tok.VocabSize(), w.Config.VocabSize)
	}
	tmpl, err := templateOf(dir, tok)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return &Student{Dir: dir, Weights: w, Tok: tok, Template: tmpl}, nil
}

func openAdapter(dir string) (*Student, error) {
	base, err := lora.BaseOf(dir)
	if err != nil {
		return nil, err
	}
	st, err := Open(base)
	if err != nil {
		return nil, fmt.Errorf("LoRA adapter %s: base %s: %w", dir, base, err)
	}
	a, err := lora.Load(dir, st.Weights.Config)
	if err != nil {
		return nil, err
	}
	a.Merge(st.Weights)
	st.Dir = dir
	return st, nil
}

// TemplateOf returns the chat template of the checkpoint in dir, reading
// its tokenizer but not its weights.
func TemplateOf(dir string) (*tokenizer.Template, error) {
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return templateOf(dir, tok)
}

// templateOf finds the chat template a checkpoint was saved with: the one
// whose Jinja source it holds, else the one its special tokens suggest
// (checkpoints from elsewhere). The source is read where transformers
// reads it: chat_template.jinja, which transformers 5 writes (a checkpoint
// of ours that went through save_pretrained keeps its template only
// there), else tokenizer_config.json's chat_template, which Save writes.
func templateOf(dir string, tok *tokenizer.Tokenizer) (*tokenizer.Template, error) {
	src, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
	if err != nil {
		var tc struct {
			ChatTemplate string `json:"chat_template"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
			// chat_template may also be a list of named templates: not ours.
			_ = json.Unmarshal(b, &tc)
		}
		src = []byte(tc.ChatTemplate)
	}
	if len(src) > 0 {
		for _, name := range tokenizer.TemplateNames() {
			if t, err := tokenizer.TemplateFor(name); err == nil && (t.Jinja == string(src) || t.TrainingJinja == string(src)) {
				return t, nil
			}
		}
	}
	return DetectTemplate(tok)
}

// DetectTemplate picks the chat template whose special tokens the tokenizer
// has: DeepSeek-R1 distills, Llama 3, or Qwen's ChatML.
func DetectTemplate(tok *tokenizer.Tokenizer) (*tokenizer.Template, error) {
	for _, name := range []string{"deepseek-r1", "llama3", "qwen2.5"} {
		t, err := tokenizer.TemplateFor(name)
		if err != nil {
			return nil, err
		}
		has := true
		for _, s := range t.Tokens {
			if _, ok := tok.TokenID(s); !ok {
				has = false
				break
			}
		}
		if has {
			return t, nil
		}
	}
	return nil, errors.New("cannot tell the chat template from the tokenizer's special tokens; none of deepseek-r1, llama3, chatml fits")
}

// Save writes the student as an HF checkpoint in dir (atomically, see
// checkpoint.Save) with its tokenizer, and a tokenizer_config.json holding
// the chat template's Jinja so transformers renders chats as we do.
func (s *Student) Save(dir string, gen checkpoint.GenerationConfig) error {
	tj, err := s.Tok.MarshalJSON()
	if err != nil {
		return err
	}
	if err := checkpoint.Save(dir, s.Weights, tj, gen); err != nil {
		return err
	}
	return s.Tok.SaveConfig(filepath.Join(dir, "tokenizer_config.json"), s.Template)
}
