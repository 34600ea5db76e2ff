package dataset

import (
	"strings"
	"testing"
)

// Through a memo, a run of traces gets the values computing them afresh
// gives, whether the texts repeat (remembered) or change (recomputed),
// including a change of one text only.
func TestTextMemoMatchesComputing(t *testing.T) {
	loop := strings.Repeat("so we add one more and check again ", 12)
	traces := []Trace{
		{ThinkReasoning: loop, Answer: "\\boxed{4}"},
		{ThinkReasoning: loop, Answer: "\\boxed{4}"},
		{ThinkReasoning: "2 + 2 = 4, by counting on from two.", Answer: "\\boxed{4}"},
		{ThinkReasoning: "2 + 2 = 4, by counting on from two.", Answer: "\\boxed{5}"},
		{ThinkReasoning: "2 + 2 = 4, by counting on from two.", Answer: "\\boxed{5}"},
		{ThinkReasoning: "2 + 2 = 4, по счёту от двух, четыре.", Answer: "\\boxed{5}"},
		{ThinkReasoning: loop, Answer: "\\boxed{4}"},
		{ThinkReasoning: "2 + 2 = 4, by counting on from two.", Answer: "\\boxed{4}"},
		{ThinkReasoning: "4", Answer: "\\boxed{4}"},
		{ThinkReasoning: "four", Answer: "\\boxed{4}"},
		{ThinkReasoning: "IV", Answer: "\\boxed{4}"},
		{ThinkReasoning: loop, Answer: "\\boxed{4}"},
	}
	for i := range traces {
		traces[i].Prompt = "What is 2 + 2?"
	}
	traces[4].Prompt = "Что такое 2 + 2?"
	cfg := DefaultConfig()
	var m textMemos
	for i, tr := range traces {
		plain := tr
		m.attach(&tr)
		if got, want := tr.repeatShare(&cfg), repeatShare(plain.ThinkReasoning, cfg.Repetition.NGram, cfg.Repetition.MinNGrams); got != want {
			t.Errorf("trace %d: repeat share %v, want %v", i, got, want)
		}
		if got, want := tr.languageMixed(&cfg), plain.languageMixed(&cfg); got != want {
			t.Errorf("trace %d: language mixed %v, want %v", i, got, want)
		}
		if got, want := tr.exactKey(), exactKey(plain.Prompt, plain.ThinkReasoning, plain.Answer); got != want {
			t.Errorf("trace %d: exact key %x, want %x", i, got, want)
		}
	}
}
