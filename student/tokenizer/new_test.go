package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestNewByteLevel(t *testing.T) {
	tok := NewByteLevel([]string{"<tool>", "<|im_end|>", ""})
	if got, want := tok.VocabSize(), 256+len(DefaultSpecialTokens)+1; got != want {
		t.Errorf("VocabSize = %d, want %d (duplicates and empty extras dropped)", got, want)
	}
	for i, s := range append(DefaultSpecialTokens, "<tool>") {
		if id, ok := tok.TokenID(s); !ok || id != int32(256+i) {
			t.Errorf("TokenID(%q) = %d, %v; want %d", s, id, ok, 256+i)
		}
	}
	if id, ok := tok.EOS(); !ok || tok.Decode([]int32{id}) != "<|endoftext|>" {
		t.Errorf("EOS = %d, %v", id, ok)
	}
	if _, ok := tok.BOS(); ok {
		t.Error("byte-level tokenizer has a BOS")
	}
	text := "<|im_start|>user\n12+7=?<|im_end|>\né🤗"
	ids := tok.Encode(text)
	want := []int32{257, 'u', 's', 'e', 'r', '\n', '1', '2', '+', '7', '=', '?', 258, '\n', 0xC3, 0xA9, 0xF0, 0x9F, 0xA4, 0x97}
	if !equalIDs(ids, want) {
		t.Errorf("Encode(%q) = %v, want %v", text, ids, want)
	}
	if got := tok.Decode(ids); got != text {
		t.Errorf("Decode = %q", got)
	}
	if !tok.IsSpecial(257) || tok.IsSpecial(259) {
		t.Error("<|im_start|> should be special, <think> not (as in Qwen3)")
	}
}

// A saved byte-level tokenizer is a standard tokenizer.json: it loads back
// to the same tokenizer here, and the reference implementation loads it and
// gives the same ids.
func TestByteLevelSaveLoadReference(t *testing.T) {
	tok := NewByteLevel(nil)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if m := doc["model"].(map[string]any); m["type"] != "BPE" || len(m["vocab"].(map[string]any)) != 256 {
		t.Errorf("model section: type %v, %d vocab entries", m["type"], len(m["vocab"].(map[string]any)))
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	corpus := append(append([]string(nil), edgeCases...), randomStrings(200, 3)...)
	inputs := make([]any, len(corpus))
	for i, s := range corpus {
		inputs[i] = s
		if a, b := tok.Encode(s), back.Encode(s); !equalIDs(a, b) {
			t.Fatalf("reloaded tokenizer: Encode(%q) = %v, want %v", s, b, a)
		}
	}
	ref := runReference(t, path, nil, inputs)
	for i, s := range corpus {
		var want []int32
		if err := json.Unmarshal(ref[i], &want); err != nil {
			t.Fatal(err)
		}
		if got := tok.Encode(s); !equalIDs(got, want) {
			t.Errorf("Encode(%q) = %v, reference %v", s, got, want)
		}
	}
}

// Saving a loaded tokenizer writes the file it came from.
func TestSaveRoundTrip(t *testing.T) {
	tok := realTokenizer(t, "qwen3")
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := "Saved <|im_start|>and loaded 你好 123"
	if a, b := tok.Encode(s), back.Encode(s); !equalIDs(a, b) || back.VocabSize() != tok.VocabSize() {
		t.Errorf("reloaded: %v vs %v", b, a)
	}
}

func TestLoadErrors(t *testing.T) {
	valid := func(mutate func(m map[string]any)) []byte {
		var m map[string]any
		raw := NewByteLevel(nil).JSON()
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		out, _ := json.Marshal(m)
		return out
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "tokenizer.json"},
		{"wordpiece", valid(func(m map[string]any) { m["model"].(map[string]any)["type"] = "WordPiece" }), `model.type "WordPiece"`},
		{"missing byte", valid(func(m map[string]any) { delete(m["model"].(map[string]any)["vocab"].(map[string]any), "a") }), "no token for byte 0x61"},
		{"bad merge", valid(func(m map[string]any) { m["model"].(map[string]any)["merges"] = []any{[]any{"a", "b"}} }), `model.merges[0] "a" "b": token not in vocab`},
		{"bad merge string", valid(func(m map[string]any) { m["model"].(map[string]any)["merges"] = []any{"ab"} }), `model.merges[0] "ab"`},
		{"normalizer", valid(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Lowercase"} }), `normalizer: type "Lowercase"`},
		{"pretokenizer", valid(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }), `type "Whitespace"`},
		{"decoder", valid(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder.type "WordPiece"`},
	}
	for _, tc := range tests {
		_, err := FromJSON(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: err = %v", err)
	}
}

// Load reads tokenizer.json.zst as well, and tokenizer_config.json next to
// it sets the special tokens.
func TestLoadZstdAndConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json.zst")
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, enc.EncodeAll(NewByteLevel(nil).JSON(), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"bos_token": {"content": "<|im_start|>", "special": true}, "eos_token": "<|im_end|>", "pad_token": null}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	bos, okB := tok.BOS()
	eos, okE := tok.EOS()
	_, okP := tok.Pad()
	if !okB || bos != 257 || !okE || eos != 258 || okP {
		t.Errorf("BOS %d %v, EOS %d %v, pad %v; want 257, 258, none", bos, okB, eos, okE, okP)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"eos_token": "<nope>"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `eos_token "<nope>" is not in the vocabulary`) {
		t.Errorf("bad eos_token: err = %v", err)
	}
}
