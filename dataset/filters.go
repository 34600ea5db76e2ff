package dataset

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
)

// Filter reports whether a trace should be dropped. Filters are plain named
// functions so that a YAML list can pick and order them and every decision is
// counted under the filter's name.
type Filter func(t *Trace, numTokens int, cfg *Config) (drop bool)

// Filter names, which are also the reject reasons they record.
const (
	FilterTeacherError = "teacher_error"
	FilterTruncated    = "truncated"
	FilterFormat       = "format"
	FilterLanguage     = "language"
	FilterReadability  = "readability"
	FilterLength       = "length"
	FilterRepetition   = "repetition"
)

var filters = map[string]Filter{
	FilterTeacherError: teacherError,
	FilterTruncated:    truncated,
	FilterFormat:       format,
	FilterLanguage:     languageMix,
	FilterReadability:  readability,
	FilterLength:       length,
	FilterRepetition:   repetition,
}

// filterOrder is the default order: cheap checks first.
var filterOrder = []string{FilterTeacherError, FilterTruncated, FilterFormat, FilterLength,
	FilterLanguage, FilterReadability, FilterRepetition}

// FilterNames lists the filters in their default order.
func FilterNames() []string { return slices.Clone(filterOrder) }

// LookupFilter returns the filter registered under name.
func LookupFilter(name string) (Filter, bool) {
	f, ok := filters[name]
	return f, ok
}

// teacherError drops records of failed requests: the sampler writes them so
// that a resume knows they were tried, but they hold no reply.
func teacherError(t *Trace, _ int, _ *Config) bool { return t.Error != "" }

// truncated drops replies cut off by max_tokens or whose reasoning never
// ended.
func truncated(t *Trace, _ int, _ *Config) bool {
	return t.FinishReason == "length" || t.Unclosed
}

// format drops replies that are not R1-shaped: no chain of thought (when
// required), think tags repeated or left in the answer, or no answer.
func format(t *Trace, _ int, cfg *Config) bool {
	switch {
	case t.Answer == "":
		return true
	case cfg.Format.RequireReasoning && t.ThinkReasoning == "":
		return true
	case t.Opened > 1 || t.Closed > 1:
		return true
	case strings.TrimSpace(t.Reasoning) != "" && t.Opened+t.Closed > 0:
		// reasoning given twice: in the field and in tags
		return true
	case strings.Contains(t.Answer, openTag) || strings.Contains(t.Answer, closeTag):
		return true
	}
	return false
}

// languageMix drops chains of thought with more than the allowed share of
// letters in a script other than the prompt's, as R1's language-mixing
// filter does.
func languageMix(t *Trace, _ int, cfg *Config) bool { return t.languageMixed(cfg) }

// readability drops replies with a paragraph over the limit, or code blocks
// in tasks that are not about code.
func readability(t *Trace, _ int, cfg *Config) bool {
	if cfg.Readability.MaxParagraphChars > 0 &&
		(longParagraph(t.ThinkReasoning, cfg.Readability.MaxParagraphChars) ||
			longParagraph(t.Answer, cfg.Readability.MaxParagraphChars)) {
		return true
	}
	if slices.Contains(cfg.Readability.CodeTasks, t.Task) {
		return false
	}
	return strings.Contains(t.ThinkReasoning, "```") || strings.Contains(t.Answer, "```")
}

func longParagraph(s string, limit int) bool {
	for len(s) > limit {
		i := strings.Index(s, "\n\n")
		if i < 0 {
			return true
		}
		if i > limit {
			return true
		}
		s = s[i+2:]
	}
	return false
}

// length bounds num_tokens.
func length(_ *Trace, n int, cfg *Config) bool {
	return n < cfg.Length.MinTokens || (cfg.Length.MaxTokens > 0 && n > cfg.Length.MaxTokens)
}

// repetition drops chains of thought that loop: too large a share of their
// word n-grams repeat earlier ones.
func repetition(t *Trace, _ int, cfg *Config) bool {
	return t.repeatShare(cfg) > cfg.Repetition.MaxRepeatShare
}

// repeatBufs are reused between calls: the filter runs once per trace.
var repeatBufs = sync.Pool{New: func() any { return new(repeatBuf) }}

type repeatBuf struct{ words, table []uint64 }

// repeatShare is 1 - distinct/total over the word n-grams of s, 0 for texts
// with fewer than minNGrams n-grams. Distinct n-grams are counted in an
// open-addressing set of their hashes, linear in the length of s: the
// looping replies this filter is for are the longest texts there are.
func repeatShare(s string, n, minNGrams int) float64 {
	buf := repeatBufs.Get().(*repeatBuf)
	defer repeatBufs.Put(buf)
	buf.words = wordHashes(buf.words[:0], s)
	return buf.repeatShare(buf.words, n, minNGrams)
}

// repeatShare is repeatShare of the text with these word hashes.
func (buf *repeatBuf) repeatShare(words []uint64, n, minNGrams int) float64 {
	n = min(n, len(words))
	grams := len(words) - n + 1
	if len(words) == 0 || grams < max(minNGrams, 1) {
		return 0
	}
	size := 1 << bits.Len(uint(2*grams))
	if cap(buf.table) < size {
		buf.table = make([]uint64, size)
	}
	table := buf.table[:size]
	clear(table)
	mask := uint64(size - 1)
	distinct, zero := 0, false
	for i := range grams {
		// Word hashes are mixed already: one mix over the rotated words
		// of the window tells n-grams apart as well as mixing each word.
		h := uint64(n)
		for k, w := range words[i : i+n] {
			h ^= bits.RotateLeft64(w, 13*k)
		}
		h = mix64(h)
		if h == 0 { // 0 marks an empty slot
			if !zero {
				zero = true
				distinct++
			}
			continue
		}
		for j := h & mask; ; j = (j + 1) & mask {
			if table[j] == h {
				break
			}
			if table[j] == 0 {
				table[j] = h
				distinct++
				break
			}
		}
	}
	return 1 - float64(distinct)/float64(grams)
}
