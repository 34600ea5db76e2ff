package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of added_tokens: matched verbatim in the input
// before normalization and pre-tokenization, as HF does with
// split_special_tokens=false.
type addedToken struct {
	content        string
	id             int32
	special        bool
	lstrip, rstrip bool
}

// addedMatcher finds added tokens leftmost-longest. Candidates are grouped
// by first byte and sorted longest first, so a scan costs one table lookup
// per byte of ordinary text.
type addedMatcher struct {
	byFirst [256][]*addedToken
}

func newAddedMatcher(tokens []addedToken) *addedMatcher {
	m := &addedMatcher{}
	for i := range tokens {
		tk := &tokens[i]
		if tk.content == "" {
			continue
		}
		m.byFirst[tk.content[0]] = append(m.byFirst[tk.content[0]], tk)
	}
	for _, l := range m.byFirst {
		sort.SliceStable(l, func(a, b int) bool { return len(l[a].content) > len(l[b].content) })
	}
	return m
}

// segment is a stretch of input: either an added token or text to encode.
type segment struct {
	start, end int
	added      *addedToken
}

// split cuts s into text and added-token segments. lstrip/rstrip added
// tokens swallow the whitespace next to them, as in HF.
func (m *addedMatcher) split(s string, dst []segment) []segment {
	last := 0
	for i := 0; i < len(s); {
		cands := m.byFirst[s[i]]
		var hit *addedToken
		for _, tk := range cands {
			if strings.HasPrefix(s[i:], tk.content) {
				hit = tk
				break
			}
		}
		if hit == nil {
			i++
			continue
		}
		textEnd, next := i, i+len(hit.content)
		if hit.lstrip {
			for textEnd > last {
				r, n := utf8.DecodeLastRuneInString(s[last:textEnd])
				if !unicode.IsSpace(r) {
					break
				}
				textEnd -= n
			}
		}
		if textEnd > last {
			dst = append(dst, segment{start: last, end: textEnd})
		}
		dst = append(dst, segment{start: i, end: next, added: hit})
		if hit.rstrip {
			for next < len(s) {
				r, n := utf8.DecodeRuneInString(s[next:])
				if !unicode.IsSpace(r) {
					break
				}
				next += n
			}
		}
		last, i = next, next
	}
	if last < len(s) {
		dst = append(dst, segment{start: last, end: len(s)})
	}
	return dst
}
