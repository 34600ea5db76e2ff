package tokenizer

import (
	"slices"
	"testing"
)

func TestPreTokenizerFamilyAndMerges(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tok         func(t *testing.T) *Tokenizer
		family      string
		merges      int
		first, last [2]string
	}{
		{"byte-level", func(*testing.T) *Tokenizer { return NewByteLevel(nil) }, "qwen2", 0, [2]string{}, [2]string{}},
		{"qwen3", func(t *testing.T) *Tokenizer { return realTokenizer(t, "qwen3") }, "qwen2", 151387, [2]string{"Ġ", "Ġ"}, [2]string{"â½", "Ĺ"}},
		{"llama3", func(t *testing.T) *Tokenizer { return realTokenizer(t, "llama3") }, "llama3", 280147, [2]string{"Ġ", "Ġ"}, [2]string{"éĶ", "¦"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.tok(t)
			if got := tok.PreTokenizerFamily(); got != tc.family {
				t.Errorf("family %q, want %q", got, tc.family)
			}
			m := tok.Merges()
			if len(m) != tc.merges {
				t.Fatalf("%d merges, want %d", len(m), tc.merges)
			}
			if len(m) > 0 && (!slices.Equal(m[0][:], tc.first[:]) || !slices.Equal(m[len(m)-1][:], tc.last[:])) {
				t.Errorf("merges %q … %q, want %q … %q", m[0], m[len(m)-1], tc.first, tc.last)
			}
		})
	}
}
