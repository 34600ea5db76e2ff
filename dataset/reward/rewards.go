package reward

import (
	"strings"
	"unicode"

	"github.com/distill-dev/distill/dataset/verify"
	"github.com/distill-dev/distill/record"
)

// The builtin rewards of the R1 recipe: accuracy and format (R1-Zero),
// language consistency (R1), and a length penalty for overlong answers
// (DAPO's soft overlong punishment).
func init() {
	Register("accuracy", Accuracy)
	Register("format", Format)
	Register("language", Language)
	Register("length", Length)
}

// AnswerPart is the text after the reasoning, where the final answer is.
func AnswerPart(content string) string {
	if i := strings.LastIndex(content, "</think>"); i >= 0 {
		return content[i+len("</think>"):]
	}
	return content
}

// reasoningPart is the text of the reasoning (before </think>), or the
// whole completion when it has no reasoning block.
func reasoningPart(content string) string {
	if i := strings.Index(content, "</think>"); i >= 0 {
		content = content[:i]
	}
	return strings.TrimPrefix(strings.TrimSpace(content), "<think>")
}

// Accuracy is 1 when the verifier of the prompt's task judges the answer
// correct, else 0. An unverifiable reference gives 0, never 1 (the Go GRPO
// skips such prompts before sampling them).
func Accuracy(s *Sample) float64 {
	if verify.ForTask(s.Prompt.Task).Verify(AnswerPart(s.Content), s.Prompt.Answer).Verdict == verify.Correct {
		return 1
	}
	return 0
}

// Unverifiable reports whether p's reference cannot be judged: then no
// completion can earn an accuracy reward and the group carries no signal.
func Unverifiable(p record.Prompt) bool {
	return verify.ForTask(p.Task).Verify("", p.Answer).Verdict == verify.Unverifiable
}

// Format is 1 for the R1 shape: closed reasoning, then a non-empty answer,
// not cut off by the length limit (FormatOK).
func Format(s *Sample) float64 {
	if FormatOK("", s.Content, s.FinishReason) {
		return 1
	}
	return 0
}

// FormatOK reports whether an answer has the R1 shape: closed reasoning (in
// its own field, or as <think>…</think> in the content when reasoning is
// empty) and a non-empty answer after it, not cut off by the length limit.
func FormatOK(reasoning, content, finishReason string) bool {
	if reasoning == "" {
		i := strings.Index(content, "</think>")
		if i < 0 || strings.Count(content, "</think>") != 1 {
			return false
		}
		content = content[i+len("</think>"):]
	} else if strings.Contains(content, "<think>") || strings.Contains(content, "</think>") {
		return false
	}
	return strings.TrimSpace(content) != "" && finishReason != "length"
}

// Language is the share of the reasoning's letters written in the prompt's
// main script (R1's language consistency reward). LaTeX commands are not
// language, and text without letters counts as consistent.
func Language(s *Sample) float64 {
	want := mainScript(s.Prompt.Problem)
	same, all := 0, 0
	forLetters(reasoningPart(s.Content), func(r rune) {
		all++
		if scriptOf(r) == want {
			same++
		}
	})
	if all == 0 {
		return 1
	}
	return float64(same) / float64(all)
}

// Length is DAPO's soft overlong punishment: 0 up to the last quarter of
// the token budget, then falling linearly to -1 at the limit, and -1 for a
// completion cut off by it. With the budget unknown (MaxTokens 0) it is 0;
// with the length unknown (Tokens 0) only a cut-off is punished.
func Length(s *Sample) float64 {
	if s.MaxTokens <= 0 {
		return 0
	}
	if s.FinishReason == "length" {
		return -1
	}
	cache := max(1, s.MaxTokens/4)
	free := s.MaxTokens - cache
	if s.Tokens <= free {
		return 0
	}
	return max(-1, float64(free-s.Tokens)/float64(cache))
}

// forLetters calls fn for every letter of text outside LaTeX commands.
func forLetters(text string, fn func(rune)) {
	inCmd := false
	for _, r := range text {
		switch {
		case r == '\\':
			inCmd = true
		case inCmd && unicode.IsLetter(r) && r < unicode.MaxASCII:
			// still the command's name
		case unicode.IsLetter(r):
			inCmd = false
			fn(r)
		default:
			inCmd = false
		}
	}
}

var scripts = []*unicode.RangeTable{unicode.Latin, unicode.Han, unicode.Cyrillic, unicode.Arabic,
	unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Greek, unicode.Devanagari, unicode.Thai, unicode.Hebrew}

// scriptOf is the index of r's script in scripts, or -1.
func scriptOf(r rune) int {
	for i, t := range scripts {
		if unicode.Is(t, r) {
			return i
		}
	}
	return -1
}

// mainScript is the script of most of text's letters (Latin when none).
func mainScript(text string) int {
	counts := make([]int, len(scripts)+1)
	forLetters(text, func(r rune) { counts[scriptOf(r)+1]++ })
	best := 1 // Latin
	for i := 1; i < len(counts); i++ {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return best - 1
}
