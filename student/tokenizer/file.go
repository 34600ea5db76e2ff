package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// fileJSON is the part of Hugging Face's tokenizer.json that byte-level BPE
// tokenizers use. Unknown fields are ignored, as HF does for most of them.
type fileJSON struct {
	AddedTokens  []addedTokenJSON `json:"added_tokens"`
	Normalizer   *componentJSON   `json:"normalizer"`
	PreTokenizer *componentJSON   `json:"pre_tokenizer"`
	Decoder      *componentJSON   `json:"decoder"`
	Model        modelJSON        `json:"model"`
}

type addedTokenJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// componentJSON covers normalizers, pre-tokenizers and decoders: a type and
// the fields the supported types use.
type componentJSON struct {
	Type           string           `json:"type"`
	Normalizers    []*componentJSON `json:"normalizers"`
	Pretokenizers  []*componentJSON `json:"pretokenizers"`
	Decoders       []*componentJSON `json:"decoders"`
	Pattern        *patternJSON     `json:"pattern"`
	Behavior       string           `json:"behavior"`
	Invert         bool             `json:"invert"`
	AddPrefixSpace bool             `json:"add_prefix_space"`
	UseRegex       *bool            `json:"use_regex"`
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	ByteFallback            bool             `json:"byte_fallback"`
	Dropout                 *float64         `json:"dropout"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
}

// parseMerges accepts both merge encodings found in the wild: the newer
// [["a","b"], ...] (Qwen3) and the older ["a b", ...] (Llama 3, GPT-2).
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf("model.merges: neither [[a,b],...] nor [\"a b\",...]: %w", err)
	}
	pairs = make([][2]string, len(lines))
	for i, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] %q: want two tokens separated by a space", i, l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}
