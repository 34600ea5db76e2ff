// Package student ties a checkpoint's parts together: weights, tokenizer and
// chat template, as training, evaluation, GRPO and serving all need them.
package student

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/student/checkpoint"
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

// tokenizerConfig is the part of HF's tokenizer_config.json we write and
// read. The chat template is recorded by name: our templates are Go code,
// and a checkpoint from elsewhere falls back to detection from its tokens.
type tokenizerConfig struct {
	ChatTemplateName string `json:"distill_chat_template,omitempty"`
	BOSToken         string `json:"bos_token,omitempty"`
	EOSToken         string `json:"eos_token,omitempty"`
	PadToken         string `json:"pad_token,omitempty"`
}

// Open loads the checkpoint in dir: config.json, safetensors and
// tokenizer.json are required.
func Open(dir string) (*Student, error) {
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

func templateOf(dir string, tok *tokenizer.Tokenizer) (*tokenizer.Template, error) {
	var tc tokenizerConfig
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		if err := json.Unmarshal(b, &tc); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: %w", err)
		}
	}
	if tc.ChatTemplateName != "" {
		return tokenizer.TemplateFor(tc.ChatTemplateName)
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
// checkpoint.Save) with its tokenizer and the name of its chat template.
func (s *Student) Save(dir string, gen checkpoint.GenerationConfig) error {
	tj, err := s.Tok.MarshalJSON()
	if err != nil {
		return err
	}
	if err := checkpoint.Save(dir, s.Weights, tj, gen); err != nil {
		return err
	}
	tc := tokenizerConfig{ChatTemplateName: s.Template.Name}
	if id, ok := s.Tok.EOS(); ok {
		tc.EOSToken, _ = s.Tok.Token(id)
	}
	if id, ok := s.Tok.Pad(); ok {
		tc.PadToken, _ = s.Tok.Token(id)
	}
	if id, ok := s.Tok.BOS(); ok {
		tc.BOSToken, _ = s.Tok.Token(id)
	}
	b, err := json.MarshalIndent(tc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), append(b, '\n'), 0o644)
}
