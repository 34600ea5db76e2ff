package gguf

import (
	"fmt"
	"strings"

	"github.com/distill-dev/distill/student/tokenizer"
)

// llama.cpp's token types (enum llama_token_type).
const (
	tokenNormal      int32 = 1
	tokenControl     int32 = 3
	tokenUserDefined int32 = 4
	tokenUnused      int32 = 5
)

// preTokenizerNames maps the tokenizer's split pattern family to the name
// llama.cpp selects its pre-tokenizer regex by (tokenizer.ggml.pre). The
// converter finds the name by hashing the tokenization of a test text; a
// byte-level student from scratch has no merges and so no known hash, but
// its split is Qwen2's, which is all the name selects.
var preTokenizerNames = map[string]string{"qwen2": "qwen2", "llama3": "llama-bpe", "gpt2": "gpt-2"}

// vocabulary is the tokenizer.* metadata of llama.cpp's BPE ("gpt2")
// vocabulary, as the converter's _set_vocab_gpt2 and SpecialVocab write
// it: one token per id up to vocabSize (ids without a token are
// "[PADi]", unused), byte-level token strings, added tokens as their
// text, control for special ones, merges as "a b", the special ids, and
// the chat template.
func vocabulary(tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, vocabSize int) ([]kv, error) {
	fam := tok.PreTokenizerFamily()
	pre, ok := preTokenizerNames[fam]
	if !ok {
		return nil, fmt.Errorf("tokenizer: its pre-tokenizer split pattern is none of Qwen2's, Llama 3's or GPT-2's, and llama.cpp picks its pre-tokenizer by name, so it would split text differently; not exported")
	}
	if tok.VocabSize() > vocabSize {
		return nil, fmt.Errorf("tokenizer has %d ids but vocab_size is %d", tok.VocabSize(), vocabSize)
	}
	tokens := make([]string, vocabSize)
	kinds := make([]int32, vocabSize)
	for id := range vocabSize {
		s, ok := tok.Token(int32(id))
		switch {
		case !ok:
			tokens[id], kinds[id] = fmt.Sprintf("[PAD%d]", id), tokenUnused
		case tok.IsAdded(int32(id)) && (tok.IsSpecial(int32(id)) || looksSpecial(s)):
			tokens[id], kinds[id] = s, tokenControl
		case tok.IsAdded(int32(id)):
			tokens[id], kinds[id] = s, tokenUserDefined
		default:
			tokens[id], kinds[id] = s, tokenNormal
		}
	}
	pairs := tok.Merges()
	merges := make([]string, len(pairs))
	for i, p := range pairs {
		if strings.Contains(p[0], " ") || strings.Contains(p[1], " ") {
			return nil, fmt.Errorf("tokenizer: merge %d %q %q holds a space, which llama.cpp's merge list cannot", i, p[0], p[1])
		}
		merges[i] = p[0] + " " + p[1]
	}
	kvs := []kv{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", pre},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", kinds},
		// Written even when empty (a byte-level student): llama.cpp refuses
		// a BPE vocabulary without the key.
		{"tokenizer.ggml.merges", merges},
	}
	for _, s := range []struct {
		key string
		id  func() (int32, bool)
	}{{"bos", tok.BOS}, {"eos", tok.EOS}, {"padding", tok.Pad}} {
		if id, ok := s.id(); ok {
			kvs = append(kvs, kv{"tokenizer.ggml." + s.key + "_token_id", uint32(id)})
		}
	}
	// distill never adds BOS or EOS when encoding; its chat templates write
	// BOS as text, as llama.cpp renders them.
	kvs = append(kvs, kv{"tokenizer.ggml.add_bos_token", false}, kv{"tokenizer.ggml.add_eos_token", false})
	if tmpl != nil {
		kvs = append(kvs, kv{"tokenizer.chat_template", tmpl.Jinja})
	}
	return kvs, nil
}

// looksSpecial is the converter's does_token_look_special for the
// families we write: <|…|> and DeepSeek's <｜…｜> are control tokens
// even where the tokenizer does not mark them special.
func looksSpecial(s string) bool {
	return (strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>")) ||
		(strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>"))
}
