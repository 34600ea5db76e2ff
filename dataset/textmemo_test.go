package dataset

import (
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset/verify"
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
		{ThinkReasoning: loop, Answer: "\\boxed{4}"},
	}
	for i := range traces {
		traces[i].Prompt, traces[i].Reference = "What is 2 + 2?", "4"
	}
	traces[4].Prompt = "Что такое 2 + 2?"
	traces[1].Reference = "5" // the texts of trace 0, another reference
	number, _ := verify.Lookup("number")
	choice, _ := verify.Lookup("choice")
	mh := NewMinHasher(128, 3, 0.8)
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
		if got, want := tr.bandKeys(mh, nil), mh.BandKeys(nil, plain.ThinkReasoning, plain.Answer); !slices.Equal(got, want) {
			t.Errorf("trace %d: band keys %x, want %x", i, got, want)
		}
		v := number
		if i == len(traces)-1 { // the texts of the trace before, another verifier
			v = choice
		}
		if got, want := tr.verdict(v), v.Verify(plain.Answer, plain.Reference).Verdict; got != want {
			t.Errorf("trace %d: verdict %v, want %v", i, got, want)
		}
	}
}
