package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DefaultSpecialTokens are the added tokens every NewByteLevel tokenizer
// has: enough for ChatML and R1-style <think> traces.
var DefaultSpecialTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"}

// NewByteLevel returns a tokenizer for students trained from scratch: the
// 256 byte tokens (id = byte value) and no merges, so every byte is one
// token, plus DefaultSpecialTokens and extra as added tokens from id 256.
// It is a standard tokenizer.json (BPE model, byte-level pre-tokenizer and
// decoder, Qwen2's split pattern) that transformers loads. EOS and pad are
// <|endoftext|>; there is no BOS.
func NewByteLevel(extra []string) *Tokenizer {
	vocab := make(map[string]int32, 256)
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = int32(b)
	}
	f := newFileJSON(vocab, nil)
	seen := map[string]bool{}
	for _, s := range append(append([]string(nil), DefaultSpecialTokens...), extra...) {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		// <think> and </think> stay visible when special tokens are skipped,
		// as in Qwen3's file.
		special := s != "<think>" && s != "</think>"
		f.AddedTokens = append(f.AddedTokens, outAddedToken{ID: int32(256 + len(f.AddedTokens)), Content: s, Special: special})
	}
	data, err := marshalFile(f)
	if err != nil {
		panic(fmt.Sprintf("tokenizer: building byte-level tokenizer.json: %v", err))
	}
	t, err := FromJSON(data)
	if err != nil {
		panic(fmt.Sprintf("tokenizer: reading back byte-level tokenizer.json: %v", err))
	}
	return t
}

// outFileJSON is tokenizer.json as written: every field HF's serializer
// writes, so that `tokenizers` and transformers load it without defaults.
type outFileJSON struct {
	Version       string          `json:"version"`
	Truncation    any             `json:"truncation"`
	Padding       any             `json:"padding"`
	AddedTokens   []outAddedToken `json:"added_tokens"`
	Normalizer    any             `json:"normalizer"`
	PreTokenizer  any             `json:"pre_tokenizer"`
	PostProcessor any             `json:"post_processor"`
	Decoder       any             `json:"decoder"`
	Model         outModelJSON    `json:"model"`
}

type outAddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type outModelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 any              `json:"dropout"`
	UnkToken                any              `json:"unk_token"`
	ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         string           `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  [][2]string      `json:"merges"`
}

func byteLevelComponent() map[string]any {
	return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
}

func newFileJSON(vocab map[string]int32, merges [][2]string) *outFileJSON {
	if merges == nil {
		merges = [][2]string{}
	}
	return &outFileJSON{
		Version:     "1.0",
		AddedTokens: []outAddedToken{},
		Normalizer:  map[string]any{"type": "NFC"},
		PreTokenizer: map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": patternQwen2}, "behavior": "Isolated", "invert": false},
			byteLevelComponent(),
		}},
		PostProcessor: byteLevelComponent(),
		Decoder:       byteLevelComponent(),
		Model: outModelJSON{
			Type: "BPE", Vocab: vocab, Merges: merges,
		},
	}
}

func marshalFile(f *outFileJSON) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <|im_start|> readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
