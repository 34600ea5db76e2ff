// Package tokenizer reads, writes and runs Hugging Face byte-level BPE
// tokenizers (tokenizer.json as shipped with Qwen2/Qwen3 and Llama 3) with
// the same ids as HF, builds byte-level tokenizers for students trained
// from scratch, and renders chat templates with an assistant-token mask.
//
// Of ours it may import only `internal/atomicfile`.
package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// ErrUnsupported marks tokenizer.json files that are valid but use features
// this package does not implement (WordPiece, Unigram, byte fallback, ...).
var ErrUnsupported = errors.New("unsupported tokenizer")

// Tokenizer is a byte-level BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	tokenToID map[string]int32 // vocab form ("Ġthe") and added-token content
	tokens    []string         // id → vocab form or added content; "" for holes
	pieces    [][]byte         // id → the bytes it decodes to
	special   []bool           // id → special added token

	byteID       [256]int32
	merges       map[uint64]merge
	ignoreMerges bool
	norm         normalizer
	pre          preTokenizer
	added        []addedToken
	matcher      *addedMatcher

	bos, eos, pad int32 // -1 when undefined

	raw []byte // the tokenizer.json this came from, written back by Save

	cacheMu sync.RWMutex
	cache   map[string][]int32 // piece → ids, for pieces shorter than cacheMaxPiece
}

const (
	cacheMaxPiece   = 64
	cacheMaxEntries = 1 << 16
)

// Load reads a tokenizer.json (or tokenizer.json.zst). BOS, EOS and pad are
// taken from a tokenizer_config.json next to it when there is one, else
// guessed from the well-known names.
func Load(path string) (*Tokenizer, error) {
	data, err := readMaybeZstd(path)
	if err != nil {
		return nil, err
	}
	t, err := FromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if cfg, err := os.ReadFile(cfgPath); err == nil {
		if err := t.applyConfig(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
	}
	return t, nil
}

func readMaybeZstd(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer: %w", err)
	}
	if !strings.HasSuffix(path, ".zst") {
		return data, nil
	}
	dec, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer dec.Close()
	out, err := io.ReadAll(dec)
	if err != nil {
		return nil, fmt.Errorf("%s: zstd: %w", path, err)
	}
	return out, nil
}

// FromJSON parses the contents of a tokenizer.json.
func FromJSON(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t, err := build(&f)
	if err != nil {
		return nil, err
	}
	t.raw = data
	t.guessSpecials()
	return t, nil
}

func build(f *fileJSON) (*Tokenizer, error) {
	m := &f.Model
	if m.Type != "BPE" && !(m.Type == "" && m.Merges != nil) {
		return nil, fmt.Errorf("model.type %q: %w (want BPE)", m.Type, ErrUnsupported)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("model.byte_fallback: %w (byte-level BPE needs none)", ErrUnsupported)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model.dropout %v: %w", *m.Dropout, ErrUnsupported)
	}
	if p := m.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("model.continuing_subword_prefix %q: %w", *p, ErrUnsupported)
	}
	if p := m.EndOfWordSuffix; p != nil && *p != "" {
		return nil, fmt.Errorf("model.end_of_word_suffix %q: %w", *p, ErrUnsupported)
	}
	if f.Decoder != nil && f.Decoder.Type != "ByteLevel" {
		return nil, fmt.Errorf("decoder.type %q: %w (want ByteLevel)", f.Decoder.Type, ErrUnsupported)
	}
	t := &Tokenizer{
		tokenToID:    make(map[string]int32, len(m.Vocab)+len(f.AddedTokens)),
		ignoreMerges: m.IgnoreMerges,
		bos:          -1, eos: -1, pad: -1,
		cache: map[string][]int32{},
	}
	var err error
	if t.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}

	size := int32(0)
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab[%q]: negative id %d", tok, id)
		}
		size = max(size, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("added_tokens %q: negative id %d", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t.tokens = make([]string, size)
	t.pieces = make([][]byte, size)
	t.special = make([]bool, size)
	for tok, id := range m.Vocab {
		b, ok := byteLevelDecode(tok)
		if !ok {
			return nil, fmt.Errorf("model.vocab[%q]: not in the byte-level alphabet: %w", tok, ErrUnsupported)
		}
		if t.tokens[id] != "" {
			return nil, fmt.Errorf("model.vocab: id %d used by %q and %q", id, t.tokens[id], tok)
		}
		t.tokens[id], t.pieces[id] = tok, b
		t.tokenToID[tok] = id
	}
	for b := 0; b < 256; b++ {
		id, ok := t.tokenToID[string(byteToRune[b])]
		if !ok {
			return nil, fmt.Errorf("model.vocab: no token for byte 0x%02x (%q); not a byte-level vocabulary: %w", b, byteToRune[b], ErrUnsupported)
		}
		t.byteID[b] = id
	}

	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	t.merges = make(map[uint64]merge, len(merges))
	for r, p := range merges {
		a, okA := t.tokenToID[p[0]]
		b, okB := t.tokenToID[p[1]]
		ab, okAB := t.tokenToID[p[0]+p[1]]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("model.merges[%d] %q %q: token not in vocab", r, p[0], p[1])
		}
		k := pairKey(a, b)
		if _, dup := t.merges[k]; !dup { // HF keeps the first rank
			t.merges[k] = merge{rank: int32(r), id: ab}
		}
	}

	for _, a := range f.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens id %d: empty content", a.ID)
		}
		if a.SingleWord {
			return nil, fmt.Errorf("added_tokens %q: single_word: %w", a.Content, ErrUnsupported)
		}
		if t.tokens[a.ID] == "" {
			t.tokens[a.ID], t.pieces[a.ID] = a.Content, []byte(a.Content)
		} else if t.tokens[a.ID] != byteLevelEncode([]byte(a.Content)) && t.tokens[a.ID] != a.Content {
			return nil, fmt.Errorf("added_tokens %q: id %d already holds %q", a.Content, a.ID, t.tokens[a.ID])
		}
		t.tokenToID[a.Content] = a.ID
		t.special[a.ID] = a.Special
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID, special: a.Special, lstrip: a.LStrip, rstrip: a.RStrip})
	}
	t.matcher = newAddedMatcher(t.added)
	return t, nil
}

// VocabSize is one more than the largest id (model vocab and added tokens).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenID returns the id of a token written as in tokenizer.json: the
// byte-level form for vocab entries ("Ġthe") or an added token's content.
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	id, ok := t.tokenToID[s]
	return id, ok
}

// Token returns the token string of id as written in tokenizer.json.
func (t *Tokenizer) Token(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.tokens) || t.tokens[id] == "" {
		return "", false
	}
	return t.tokens[id], true
}

// TokenBytes returns the bytes id decodes to (nil for an unknown id). A
// token may hold part of a UTF-8 sequence: streaming decoders join bytes.
func (t *Tokenizer) TokenBytes(id int32) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return nil
	}
	return t.pieces[id]
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// Save writes the tokenizer.json this tokenizer was read from or built as.
func (t *Tokenizer) Save(path string) error {
	if err := os.WriteFile(path, t.raw, 0o644); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}

// JSON returns the tokenizer.json contents Save writes.
func (t *Tokenizer) JSON() []byte { return append([]byte(nil), t.raw...) }

// IsAdded reports whether id is an added token (matched verbatim in text,
// stored as its content rather than in the byte-level alphabet).
func (t *Tokenizer) IsAdded(id int32) bool {
	for i := range t.added {
		if t.added[i].id == id {
			return true
		}
	}
	return false
}

// MarshalJSON returns the tokenizer.json contents, so a Tokenizer marshals
// as the file it is.
func (t *Tokenizer) MarshalJSON() ([]byte, error) { return t.JSON(), nil }
