// Package tokens estimates how many tokens a byte-level BPE tokenizer makes
// of a text, without a vocabulary. The builtin teacher reports its usage with
// it and the dataset stage fills num_tokens with it when a trace carries no
// usage, so the two agree.
//
// It imports nothing of ours.
package tokens

import "unicode/utf8"

// Estimate approximates the Llama 3 tokenizer's count of s in one pass:
// digits in groups of up to three (Llama 3 splits numbers so; Qwen2 splits
// every digit, so arithmetic counts about a quarter low against it), a run
// of letters one token per six letters (common words are one token), a space
// merged into the word, symbol or newline after it, a run of newlines one
// token (both tokenizers have merges for them), any other ASCII symbol or
// space one token, and each non-ASCII rune (CJK, ×, ÷) one token.
func Estimate(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n += (j - i + 2) / 3
			i = j
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			j := i
			for j < len(s) && s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z' {
				j++
			}
			n += (j - i + 5) / 6
			i = j
		case c == ' ' && i+1 < len(s) && s[i+1] != ' ':
			i++ // merged with what follows
		case c == '\n':
			for i < len(s) && s[i] == '\n' {
				i++
			}
			n++
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			n++
			i += size
		}
	}
	return n
}
