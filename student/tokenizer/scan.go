package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// scanner is a hand-written matcher for the Qwen2 (maxDigits 1) and Llama 3
// (maxDigits 3) split patterns, about an order of magnitude faster than
// regexp2. It follows the alternatives in order, as a backtracking regex
// does:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits}
//	| ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// \s is unicode.IsSpace, as in regexp2 and Rust's regex engines.
type scanner struct {
	maxDigits int
}

type runeClass uint8

const (
	classOther runeClass = iota
	classLetter
	classNumber
	classSpace
	classNewline // \r or \n, also a space
)

var asciiClass [128]runeClass

func init() {
	for c := 0; c < 128; c++ {
		r := rune(c)
		switch {
		case r == '\r' || r == '\n':
			asciiClass[c] = classNewline
		case unicode.IsSpace(r):
			asciiClass[c] = classSpace
		case unicode.IsLetter(r):
			asciiClass[c] = classLetter
		case unicode.IsNumber(r):
			asciiClass[c] = classNumber
		}
	}
}

// classAt returns the class of the rune at s[i] and its byte length.
func classAt(s string, i int) (runeClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return classLetter, n
	case unicode.IsNumber(r):
		return classNumber, n
	case unicode.IsSpace(r):
		return classSpace, n
	}
	return classOther, n
}

func (sc scanner) split(s string, dst [][2]int) [][2]int {
	for i := 0; i < len(s); {
		j := sc.match(s, i)
		dst = append(dst, [2]int{i, j})
		i = j
	}
	return dst
}

// match returns the end of the piece starting at i (always > i).
func (sc scanner) match(s string, i int) int {
	c, n := classAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d), ASCII case folding only.
	if s[i] == '\'' {
		if k := contraction(s[i+1:]); k > 0 {
			return i + 1 + k
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == classLetter {
		return sc.run(s, i+n, classLetter, -1)
	}
	if c == classOther || c == classSpace {
		if i+n < len(s) {
			if c2, n2 := classAt(s, i+n); c2 == classLetter {
				return sc.run(s, i+n+n2, classLetter, -1)
			}
		}
	}
	// \p{N}{1,maxDigits}
	if c == classNumber {
		return sc.run(s, i+n, classNumber, sc.maxDigits-1)
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if s[i] == ' ' && i+1 < len(s) {
		if c2, n2 := classAt(s, i+1); c2 == classOther {
			return sc.others(s, i+1+n2)
		}
	}
	if c == classOther {
		return sc.others(s, i+n)
	}
	// Whitespace: find the run, the last newline in it, and what follows.
	end, lastNL := i, -1
	for end < len(s) {
		c2, n2 := classAt(s, end)
		if c2 != classSpace && c2 != classNewline {
			break
		}
		if c2 == classNewline {
			lastNL = end
		}
		end += n2
	}
	// \s*[\r\n]+
	if lastNL >= 0 {
		return lastNL + 1
	}
	// \s+(?!\S): the whole run at the end of text, else all but its last rune.
	if end == len(s) {
		return end
	}
	if _, lastLen := utf8.DecodeLastRuneInString(s[i:end]); end-lastLen > i {
		return end - lastLen
	}
	// \s+
	return end
}

// others finishes [^\s\p{L}\p{N}]+[\r\n]* from j.
func (sc scanner) others(s string, j int) int {
	j = sc.run(s, j, classOther, -1)
	for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
		j++
	}
	return j
}

// run extends j over runes of class want, at most max more (max < 0: any).
func (sc scanner) run(s string, j int, want runeClass, max int) int {
	for j < len(s) && max != 0 {
		c, n := classAt(s, j)
		if c != want {
			break
		}
		j += n
		max--
	}
	return j
}

// contraction returns the length of a contraction suffix ('s, 't, 're, 've,
// 'm, 'll, 'd without the apostrophe) at the start of s, or 0.
func contraction(s string) int {
	lower := func(k int) byte {
		if k >= len(s) {
			return 0
		}
		c := s[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch lower(0) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if lower(1) == 'e' {
			return 2
		}
	case 'l':
		if lower(1) == 'l' {
			return 2
		}
	}
	return 0
}
