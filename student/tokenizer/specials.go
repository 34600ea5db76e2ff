package tokenizer

import (
	"encoding/json"
	"fmt"
)

// BOS returns the beginning-of-sequence id, if the tokenizer has one.
func (t *Tokenizer) BOS() (int32, bool) { return t.bos, t.bos >= 0 }

// EOS returns the end-of-sequence id, if the tokenizer has one.
func (t *Tokenizer) EOS() (int32, bool) { return t.eos, t.eos >= 0 }

// Pad returns the padding id, if the tokenizer has one.
func (t *Tokenizer) Pad() (int32, bool) { return t.pad, t.pad >= 0 }

// SetSpecialTokens sets BOS, EOS and pad by token; "" leaves one unchanged.
func (t *Tokenizer) SetSpecialTokens(bos, eos, pad string) error {
	for _, s := range []struct {
		name, tok string
		dst       *int32
	}{{"bos", bos, &t.bos}, {"eos", eos, &t.eos}, {"pad", pad, &t.pad}} {
		if s.tok == "" {
			continue
		}
		id, ok := t.tokenToID[s.tok]
		if !ok {
			return fmt.Errorf("%s token %q: not in the vocabulary", s.name, s.tok)
		}
		*s.dst = id
	}
	return nil
}

// Well-known special tokens, in order of preference, for files that come
// without a tokenizer_config.json.
var (
	knownBOS = []string{"<|begin_of_text|>", "<｜begin▁of▁sentence｜>", "<s>"}
	knownEOS = []string{"<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|endoftext|>", "</s>"}
	knownPad = []string{"<|finetune_right_pad_id|>", "<|endoftext|>", "<pad>", "<｜end▁of▁sentence｜>"}
)

func (t *Tokenizer) guessSpecials() {
	pick := func(names []string) int32 {
		for _, n := range names {
			if id, ok := t.tokenToID[n]; ok {
				return id
			}
		}
		return -1
	}
	t.bos, t.eos, t.pad = pick(knownBOS), pick(knownEOS), pick(knownPad)
	if t.pad < 0 {
		t.pad = t.eos
	}
}

// applyConfig takes bos_token, eos_token and pad_token from the contents of
// a tokenizer_config.json; each may be a string, {"content": ...} or null.
func (t *Tokenizer) applyConfig(data []byte) error {
	var cfg struct {
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
		Pad json.RawMessage `json:"pad_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("tokenizer_config.json: %w", err)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int32
	}{{"bos_token", cfg.BOS, &t.bos}, {"eos_token", cfg.EOS, &t.eos}, {"pad_token", cfg.Pad, &t.pad}} {
		if len(f.raw) == 0 {
			continue // absent: keep the guess
		}
		var s string
		var obj struct {
			Content string `json:"content"`
		}
		switch {
		case string(f.raw) == "null":
			*f.dst = -1
			continue
		case json.Unmarshal(f.raw, &s) == nil:
		case json.Unmarshal(f.raw, &obj) == nil:
			s = obj.Content
		default:
			return fmt.Errorf("tokenizer_config.json: %s: want a string or {\"content\": ...}", f.name)
		}
		id, ok := t.tokenToID[s]
		if !ok {
			return fmt.Errorf("tokenizer_config.json: %s %q is not in the vocabulary", f.name, s)
		}
		*f.dst = id
	}
	return nil
}
