package eval

import (
	"encoding/json"
	"math"
	"testing"
)

func TestPassAtK(t *testing.T) {
	for _, tc := range []struct {
		n, c, k int
		want    float64
	}{
		{8, 0, 1, 0}, {8, 8, 1, 1}, {8, 2, 1, 0.25}, {8, 2, 8, 1},
		{4, 1, 2, 0.5},           // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{10, 3, 5, 1 - 21.0/252}, // C(7,5)=21, C(10,5)=252
	} {
		if got := passAtK(tc.n, tc.c, tc.k); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("pass@%d(n=%d,c=%d) = %g, want %g", tc.k, tc.n, tc.c, got, tc.want)
		}
	}
}

func boxed(ans string) Sample {
	return Sample{Reasoning: "steps", Content: `\boxed{` + ans + `}`, FinishReason: "stop", Tokens: 10}
}

func TestScore(t *testing.T) {
	items := []Item{
		// 1 of 4 correct, the majority (7) wrong.
		{PromptID: "a", Source: "s1", Task: "builtin:arith", Reference: "5", Samples: []Sample{boxed("5.0"), boxed("7"), boxed("7"), boxed("8")}},
		// 3 of 4 correct: majority right; one truncated without an answer.
		{PromptID: "b", Source: "s1", Task: "builtin:arith", Reference: "12", Samples: []Sample{boxed("12"), boxed("12"), {Reasoning: "12 +", FinishReason: "length"}, boxed("12")}},
		// Think tags in the content, no separate reasoning.
		{PromptID: "c", Source: "s2", Task: "math", Reference: `\frac{1}{2}`, Samples: []Sample{
			{Content: "<think>half</think>\n\n\\boxed{0.5}", FinishReason: "stop"},
			{Content: "no tags \\boxed{1/2}", FinishReason: "stop"},
			{Content: "<think>x</think> \\boxed{3}", FinishReason: "stop"},
			{Content: "<think>x</think> \\boxed{\\dfrac12}", FinishReason: "stop"}}},
		// Unparseable reference: never correct.
		{PromptID: "d", Source: "s2", Task: "math", Reference: "", Samples: []Sample{boxed("1"), boxed("1"), boxed("1"), boxed("1")}},
	}
	rep, all := Score(items, 4)
	if len(all) != 16 {
		t.Fatalf("%d scored samples, want 16", len(all))
	}
	wantPass1 := (0.25 + 0.75 + 0.75 + 0) / 4
	if math.Abs(rep.PassAt1-wantPass1) > 1e-12 {
		t.Errorf("pass@1 = %g, want %g", rep.PassAt1, wantPass1)
	}
	if rep.PassAtK != 0.75 {
		t.Errorf("pass@4 = %g, want 0.75", rep.PassAtK)
	}
	if rep.ConsAtK != 0.5 { // b and c
		t.Errorf("cons@4 = %g, want 0.5", rep.ConsAtK)
	}
	if rep.TruncationRate != 1.0/16 || rep.UnverifiableRate != 4.0/16 {
		t.Errorf("truncation %g unverifiable %g", rep.TruncationRate, rep.UnverifiableRate)
	}
	if rep.FormatFailRate != 2.0/16 { // the truncated one and "no tags"
		t.Errorf("format failures %g, want 2/16", rep.FormatFailRate)
	}
	if s1 := rep.BySource["s1"]; s1.Prompts != 2 || math.Abs(s1.PassAt1-0.5) > 1e-12 {
		t.Errorf("by source s1: %+v", s1)
	}
	if !(rep.PassAt1CI.Low <= rep.PassAt1 && rep.PassAt1 <= rep.PassAt1CI.High) || !(rep.ConsAtKCI.Low < 0.5 && rep.ConsAtKCI.High > 0.5) {
		t.Errorf("intervals do not contain the estimates: %+v %+v", rep.PassAt1CI, rep.ConsAtKCI)
	}
	b, _ := json.Marshal(rep)
	var keys map[string]any
	json.Unmarshal(b, &keys)
	for _, k := range []string{"pass@1", "pass@k", "cons@k", "k", "by_source"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("results.json lacks top-level key %q: %s", k, b)
		}
	}
}
