package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// SaveConfig writes a tokenizer_config.json for this tokenizer, so that
// transformers' AutoTokenizer knows its special tokens and, with a
// template, renders chats as Render does. For a chat model EOS is the
// template's end-of-turn token, as in the Qwen2.5, Llama 3 and R1 instruct
// checkpoints; tmpl may be nil.
func (t *Tokenizer) SaveConfig(path string, tmpl *Template) error {
	name := func(id int32) any {
		if id < 0 {
			return nil
		}
		return t.tokens[id]
	}
	cfg := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"bos_token":                    name(t.bos),
		"eos_token":                    name(t.eos),
		"pad_token":                    name(t.pad),
		"unk_token":                    nil,
		"add_bos_token":                false,
		"clean_up_tokenization_spaces": false,
		"split_special_tokens":         false,
	}
	if tmpl != nil {
		if err := tmpl.Check(t); err != nil {
			return fmt.Errorf("save tokenizer config: %w", err)
		}
		cfg["chat_template"] = tmpl.Jinja
		cfg["eos_token"] = tmpl.EndOfTurn
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("save tokenizer config: %w", err)
	}
	return nil
}
