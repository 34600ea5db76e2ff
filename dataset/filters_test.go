package dataset

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/distill-dev/distill/record"
)

func trace(f func(t *record.Trace)) *Trace {
	t := Trace{Trace: record.Trace{PromptID: "p", Prompt: "What is 12 + 30?", Reference: "42",
		Task: "builtin:arith", Reasoning: "12 + 30 = 42", Content: `\boxed{42}`, FinishReason: "stop"}}
	if f != nil {
		f(&t.Trace)
	}
	t.split()
	return &t
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name, reasoning, content string
		wantR, wantA             string
		unclosed                 bool
	}{
		{"field", "think", "answer", "think", "answer", false},
		{"tags", "", "<think>\nthink\n</think>\n\nanswer", "think", "answer", false},
		{"closing only (R1 template)", "", "think\n</think>\nanswer", "think", "answer", false},
		{"cut off", "", "<think>\nthink more", "think more", "", true},
		{"no tags", "", "just an answer", "", "just an answer", false},
		{"leading space", "", "  \n<think>a</think>b", "a", "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := trace(func(r *record.Trace) { r.Reasoning, r.Content = tt.reasoning, tt.content })
			if tr.ThinkReasoning != tt.wantR || tr.Answer != tt.wantA || tr.Unclosed != tt.unclosed {
				t.Fatalf("got (%q, %q, %v), want (%q, %q, %v)", tr.ThinkReasoning, tr.Answer, tr.Unclosed, tt.wantR, tt.wantA, tt.unclosed)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	cfg := DefaultConfig()
	long := strings.Repeat("word ", 1200) // one paragraph of 6000 characters
	loop := "Let me compute.\n" + strings.Repeat("12 + 30 = 42, so the sum is 42.\n", 30)
	tests := []struct {
		filter string
		tr     *Trace
		tokens int
		drop   bool
	}{
		{FilterTeacherError, trace(nil), 10, false},
		{FilterTeacherError, trace(func(r *record.Trace) { r.Error = "429 rate limit"; r.Content = "" }), 0, true},
		{FilterTruncated, trace(nil), 10, false},
		{FilterTruncated, trace(func(r *record.Trace) { r.FinishReason = "length" }), 10, true},
		{FilterTruncated, trace(func(r *record.Trace) { r.Reasoning, r.Content = "", "<think>12 + 30 = " }), 10, true},
		{FilterFormat, trace(nil), 10, false},
		{FilterFormat, trace(func(r *record.Trace) { r.Reasoning, r.Content = "", "<think>a</think>b" }), 10, false},
		{FilterFormat, trace(func(r *record.Trace) { r.Reasoning, r.Content = "", "no reasoning, 42" }), 10, true},
		{FilterFormat, trace(func(r *record.Trace) { r.Content = "" }), 10, true},
		{FilterFormat, trace(func(r *record.Trace) { r.Reasoning, r.Content = "", "<think>a</think><think>b</think>c" }), 10, true},
		{FilterFormat, trace(func(r *record.Trace) { r.Content = "<think>again</think>42" }), 10, true},
		{FilterLanguage, trace(nil), 10, false},
		{FilterLanguage, trace(func(r *record.Trace) { r.Reasoning = "First add the tens. 我们先计算这一步。 12 + 30 = 42" }), 10, true},
		{FilterLanguage, trace(func(r *record.Trace) { r.Reasoning = "Add the tens: α + β, then π is not Chinese." }), 10, false},
		{FilterLanguage, trace(func(r *record.Trace) {
			r.Prompt = "12 + 30 等于多少？"
			r.Reasoning = "我们先计算：12 + 30 = 42。"
		}), 10, false},
		{FilterLanguage, trace(func(r *record.Trace) {
			r.Prompt = "12 + 30 等于多少？"
			r.Reasoning = "Let us first add the numbers together carefully"
		}), 10, true},
		{FilterReadability, trace(nil), 10, false},
		{FilterReadability, trace(func(r *record.Trace) { r.Reasoning = long }), 10, true},
		{FilterReadability, trace(func(r *record.Trace) { r.Reasoning = strings.Repeat(long[:2000]+"\n\n", 5) }), 10, false},
		{FilterReadability, trace(func(r *record.Trace) { r.Reasoning = "```python\nprint(12+30)\n```" }), 10, true},
		{FilterReadability, trace(func(r *record.Trace) { r.Task = "code"; r.Reasoning = "```python\nprint(12+30)\n```" }), 10, false},
		{FilterLength, trace(nil), 10, false},
		{FilterLength, trace(nil), 0, true},
		{FilterLength, trace(nil), 32768, false},
		{FilterLength, trace(nil), 32769, true},
		{FilterRepetition, trace(nil), 10, false},
		{FilterRepetition, trace(func(r *record.Trace) { r.Reasoning = loop }), 10, true},
		{FilterRepetition, trace(func(r *record.Trace) { r.Reasoning = strings.Repeat("The ", 1) + long[:300] }), 10, true},
	}
	for _, tt := range tests {
		f, ok := LookupFilter(tt.filter)
		if !ok {
			t.Fatalf("no filter %q", tt.filter)
		}
		if got := f(tt.tr, tt.tokens, &cfg); got != tt.drop {
			t.Errorf("%s(reasoning %.40q, content %.40q, %d tokens) = %v, want %v",
				tt.filter, tt.tr.Reasoning, tt.tr.Content, tt.tokens, got, tt.drop)
		}
	}
}

func TestRepeatShare(t *testing.T) {
	tests := []struct {
		text    string
		atLeast float64
		below   float64
	}{
		{"one two three four five six seven eight nine ten eleven twelve", 0, 0.01},
		{strings.Repeat("a b c d e f g h i j ", 10), 0.8, 1},
		{"short", 0, 0.01},
	}
	for _, tt := range tests {
		got := repeatShare(tt.text, 5, 3)
		if got < tt.atLeast || got >= tt.below {
			t.Errorf("repeatShare(%.30q) = %g, want in [%g, %g)", tt.text, got, tt.atLeast, tt.below)
		}
	}
}

// scriptCounts (eight ASCII bytes at a time, a table for low runes) counts
// what a plain loop over the runes with the Unicode tables counts.
func TestScriptCounts(t *testing.T) {
	reference := func(s string) (n [numScripts]int) {
		for i := 0; i < len(s); {
			if s[i] == '\\' {
				for i++; i < len(s) && s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z'; i++ {
				}
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r >= utf8.RuneSelf || scriptOfTables(r) == scriptLatin { // other ASCII is not counted
				n[scriptOfTables(r)]++
			}
			i += size
		}
		return n
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Z", "q", "7", " ", "\n", "{", "@", "[", "`", "\\", "\\frac", "\\boxed{", "×", "−", "→", "≤",
		"é", "ß", "ª", "÷", "д", "Ж", "中", "か", "カ", "한", "ع", "ש", "ह", "ก", "α", "\u212a", "Ⅻ", "\x80", "\xff"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := scriptCounts(s), reference(s); got != want {
			t.Fatalf("scriptCounts(%q) = %v, want %v", s, got, want)
		}
	}
	for r := rune(0); r < lowRunes+10; r++ {
		if got, want := scriptOf(r), scriptOfTables(r); got != want {
			t.Fatalf("scriptOf(%U) = %v, want %v", r, got, want)
		}
	}
}
