package distill

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/tokenizer"
)

// tokenizeFixture writes the byte-level tokenizer (one id per byte, so the
// expected ids can be written by hand) into a temporary checkpoint dir.
func tokenizeFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := tokenizer.NewByteLevel(nil).Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTokenize(t *testing.T) {
	dir := tokenizeFixture(t)
	tests := []struct {
		name, tokenizer string
		decode          bool
		in, want        string
		chat            string
		gen             bool
	}{
		{name: "chat", tokenizer: dir, chat: "chatml", in: `[{"role":"user","content":"1+1"},{"role":"assistant","content":"2"}]`,
			// <|im_start|>user\n1+1<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n: "2<|im_end|>" is masked
			want: `{"ids":[257,117,115,101,114,10,49,43,49,258,10,257,97,115,115,105,115,116,97,110,116,10,50,258,10],"assistant_mask":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0]}` + "\n"},
		{name: "chat prompt", tokenizer: dir, chat: "chatml", gen: true, in: `[{"role":"user","content":"1"}]`,
			want: `{"ids":[257,117,115,101,114,10,49,258,10,257,97,115,115,105,115,116,97,110,116,10],"assistant_mask":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}` + "\n"},
		{"encode", filepath.Join(dir, "tokenizer.json"), false,
			"\"ab\"\n\n\"<|im_start|>é\"\n\"\"", "[97,98]\n[257,195,169]\n[]\n", "", false},
		{"directory", dir, false, `"1+1"`, "[49,43,49]\n", "", false},
		{"decode", dir, true, "[97,98]\n[257,195,169]\n[195]\n[]\n", "\"ab\"\n\"<|im_start|>é\"\n\"\uFFFD\"\n\"\"\n", "", false},
	}
	for _, tc := range tests {
		var out strings.Builder
		err := runTokenize(t.Context(), TokenizeOptions{Tokenizer: tc.tokenizer, Decode: tc.decode, Chat: tc.chat, GenerationPrompt: tc.gen,
			In: strings.NewReader(tc.in), Out: &out})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if out.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, out.String(), tc.want)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	dir := tokenizeFixture(t)
	tests := []struct {
		name, tokenizer string
		decode          bool
		in, want        string
		chat            string
	}{
		{"not a string", dir, false, "\"ok\"\n[1,2]\n", "stdin line 2: want a JSON string", ""},
		{"bad json", dir, false, "\"ok\"\n\n\"unterminated\n", "stdin line 3", ""},
		{"not ids", dir, true, "[1]\n\"text\"\n", "stdin line 2: want a JSON array of token ids", ""},
		{"id out of range", dir, true, "[1, 99999]\n", "stdin line 1: id 99999 at position 1 is outside the vocabulary (0..260)", ""},
		{"missing tokenizer", filepath.Join(dir, "nope.json"), false, "", "--tokenizer", ""},
		{"unknown template", dir, false, "", "--chat: chat template \"gpt\": unknown", "gpt"},
		{"chat and decode", dir, true, "", "--chat and --decode", "chatml"},
		{"chat not messages", dir, false, `"text"`, "stdin line 1: want a JSON array of {\"role\", \"content\"} messages", "chatml"},
		{"chat bad role", dir, false, `[{"role":"tool","content":"x"}]`, `stdin line 1: chat template chatml: message 0: role "tool"`, "chatml"},
		{"chat missing tokens", dir, false, `[{"role":"user","content":"x"}]`, `stdin line 1: chat template llama3 needs "<|begin_of_text|>"`, "llama3"},
	}
	for _, tc := range tests {
		var out strings.Builder
		err := runTokenize(t.Context(), TokenizeOptions{Tokenizer: tc.tokenizer, Decode: tc.decode, Chat: tc.chat, In: strings.NewReader(tc.in), Out: &out})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
