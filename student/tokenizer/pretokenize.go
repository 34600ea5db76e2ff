package tokenizer

import (
	"fmt"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// The pre-tokenizer patterns of the supported families. Go's regexp lacks
// the (?!\S) lookahead they use, so a general pattern runs on regexp2 and
// these known ones on a hand-written scanner (scan.go) checked against it.
const (
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternGPT2 is what a ByteLevel pre-tokenizer with use_regex applies.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// splitter cuts normalized text into pieces that BPE encodes independently;
// it appends [start, end) byte ranges covering s in order.
type splitter interface {
	split(s string, dst [][2]int) [][2]int
}

// wholeSplitter keeps the text in one piece (no Split pre-tokenizer).
type wholeSplitter struct{}

func (wholeSplitter) split(s string, dst [][2]int) [][2]int {
	if s == "" {
		return dst
	}
	return append(dst, [2]int{0, len(s)})
}

// regexSplitter is HF's Split with behavior Isolated: matches and the gaps
// between them both become pieces.
type regexSplitter struct {
	re *regexp2.Regexp
}

func newRegexSplitter(pattern string) (*regexSplitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer pattern %q: %w", pattern, err)
	}
	return &regexSplitter{re: re}, nil
}

func (r *regexSplitter) split(s string, dst [][2]int) [][2]int {
	runes := []rune(s)
	// regexp2 reports rune indices; off maps them to byte offsets.
	off := make([]int, len(runes)+1)
	for i, c := range runes {
		off[i+1] = off[i] + utf8.RuneLen(c)
	}
	last := 0
	m, _ := r.re.FindRunesMatch(runes)
	for m != nil {
		start, end := off[m.Index], off[m.Index+m.Length]
		if start > last {
			dst = append(dst, [2]int{last, start})
		}
		if end > start {
			dst = append(dst, [2]int{start, end})
		}
		last = end
		m, _ = r.re.FindNextMatch(m)
	}
	if last < len(s) {
		dst = append(dst, [2]int{last, len(s)})
	}
	return dst
}

// newSplitter picks the scanner for a known pattern and regexp2 otherwise.
func newSplitter(pattern string) (splitter, error) {
	switch pattern {
	case patternQwen2:
		return scanner{maxDigits: 1}, nil
	case patternLlama3:
		return scanner{maxDigits: 3}, nil
	}
	return newRegexSplitter(pattern)
}

// preTokenizer is what the pre_tokenizer section of tokenizer.json means for
// a byte-level BPE: an optional split, then the byte-level mapping.
type preTokenizer struct {
	split          splitter
	pattern        string // the split regex; "" when the text stays whole
	addPrefixSpace bool
}

func parsePreTokenizer(c *componentJSON) (preTokenizer, error) {
	p := preTokenizer{split: wholeSplitter{}}
	if c == nil {
		return p, fmt.Errorf("pre_tokenizer: missing; only byte-level BPE is supported")
	}
	var parts []*componentJSON
	if c.Type == "Sequence" {
		parts = c.Pretokenizers
	} else {
		parts = []*componentJSON{c}
	}
	sawSplit, sawByteLevel := false, false
	for i, part := range parts {
		switch part.Type {
		case "Split":
			if sawSplit || sawByteLevel {
				return p, fmt.Errorf("pre_tokenizer[%d]: Split must come once, before ByteLevel", i)
			}
			if part.Pattern == nil || part.Pattern.Regex == nil {
				return p, fmt.Errorf("pre_tokenizer[%d]: Split needs a Regex pattern", i)
			}
			if part.Behavior != "Isolated" || part.Invert {
				return p, fmt.Errorf("pre_tokenizer[%d]: Split behavior %q invert=%v not supported (want Isolated, false)", i, part.Behavior, part.Invert)
			}
			s, err := newSplitter(*part.Pattern.Regex)
			if err != nil {
				return p, fmt.Errorf("pre_tokenizer[%d]: %w", i, err)
			}
			p.split, p.pattern, sawSplit = s, *part.Pattern.Regex, true
		case "ByteLevel":
			if sawByteLevel {
				return p, fmt.Errorf("pre_tokenizer[%d]: ByteLevel twice", i)
			}
			sawByteLevel = true
			p.addPrefixSpace = part.AddPrefixSpace
			// use_regex defaults to true in HF.
			if part.UseRegex == nil || *part.UseRegex {
				if sawSplit {
					return p, fmt.Errorf("pre_tokenizer[%d]: ByteLevel with use_regex after a Split is not supported", i)
				}
				s, err := newSplitter(patternGPT2)
				if err != nil {
					return p, err
				}
				p.split, p.pattern = s, patternGPT2
			}
		default:
			return p, fmt.Errorf("pre_tokenizer[%d]: type %q not supported (want Split and ByteLevel)", i, part.Type)
		}
	}
	if !sawByteLevel {
		return p, fmt.Errorf("pre_tokenizer: no ByteLevel step; only byte-level BPE is supported")
	}
	return p, nil
}
