package reward

import (
	"errors"
	"math"
	"testing"

	"github.com/distill-dev/distill/record"
)

func TestRewards(t *testing.T) {
	arith := record.Prompt{Problem: "What is 2 + 3?", Answer: "5", Task: "builtin:arith"}
	zh := record.Prompt{Problem: "计算 2 加 3 的和。", Answer: "5", Task: "builtin:arith"}
	tests := []struct {
		name   string
		reward Func
		s      Sample
		want   float64
	}{
		{"accuracy: right boxed answer", Accuracy, Sample{Prompt: arith, Content: "<think>\n2 + 3 = 5\n</think>\n\n\\boxed{5}", FinishReason: "stop"}, 1},
		{"accuracy: wrong answer", Accuracy, Sample{Prompt: arith, Content: "<think>\n2 + 3 = 6\n</think>\n\n\\boxed{6}", FinishReason: "stop"}, 0},
		{"accuracy: the answer is after the reasoning", Accuracy, Sample{Prompt: arith, Content: "<think>\n\\boxed{5}\n</think>\n\n\\boxed{6}", FinishReason: "stop"}, 0},
		{"accuracy: no answer", Accuracy, Sample{Prompt: arith, Content: "<think>\nhmm", FinishReason: "length"}, 0},
		{"accuracy: unparseable reference is never 1", Accuracy, Sample{Prompt: record.Prompt{Answer: "", Task: "builtin:arith"}, Content: "\\boxed{5}"}, 0},
		{"format: R1 shape", Format, Sample{Content: "<think>\nx\n</think>\n\n\\boxed{5}", FinishReason: "stop"}, 1},
		{"format: no closing tag", Format, Sample{Content: "<think>\nx\n\\boxed{5}", FinishReason: "stop"}, 0},
		{"format: cut off", Format, Sample{Content: "<think>\nx\n</think>\n\n\\boxed{5", FinishReason: "length"}, 0},
		{"language: all Latin", Language, Sample{Prompt: arith, Content: "<think>\nadd the two numbers\n</think>\n\n5"}, 1},
		{"language: LaTeX commands are not language", Language, Sample{Prompt: zh, Content: "<think>\n\\frac{1}{2} 加\n</think>\n\n5"}, 1},
		{"language: half mixed", Language, Sample{Prompt: zh, Content: "<think>\n加加ab\n</think>\n\n5"}, 0.5},
		{"language: no letters", Language, Sample{Prompt: zh, Content: "<think>\n2+3=5\n</think>\n\n5"}, 1},
		{"length: well under", Length, Sample{Tokens: 10, MaxTokens: 100, FinishReason: "stop"}, 0},
		{"length: in the last quarter", Length, Sample{Tokens: 90, MaxTokens: 100, FinishReason: "stop"}, -0.6},
		{"length: cut off", Length, Sample{Tokens: 100, MaxTokens: 100, FinishReason: "length"}, -1},
		{"length: budget unknown", Length, Sample{Tokens: 100, FinishReason: "length"}, 0},
		{"length: tokens unknown", Length, Sample{MaxTokens: 100, FinishReason: "stop"}, 0},
		{"length: tokens unknown, cut off", Length, Sample{MaxTokens: 100, FinishReason: "length"}, -1},
	}
	for _, tc := range tests {
		if got := tc.reward(&tc.s); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUnverifiable(t *testing.T) {
	for _, tc := range []struct {
		p    record.Prompt
		want bool
	}{
		{record.Prompt{Answer: "5", Task: "builtin:arith"}, false},
		{record.Prompt{Answer: "", Task: "builtin:arith"}, true},
		{record.Prompt{Answer: "five-ish", Task: "builtin:arith"}, true},
		{record.Prompt{Answer: "\\frac{1}{2}", Task: "math"}, false},
	} {
		if got := Unverifiable(tc.p); got != tc.want {
			t.Errorf("Unverifiable(%q, %s) = %v, want %v", tc.p.Answer, tc.p.Task, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	rs, err := Resolve(map[string]float64{"format": 0.5, "accuracy": 1, "length": 0})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "accuracy" || rs[1].Name != "format" || rs[1].Weight != 0.5 {
		t.Errorf("got %+v", rs)
	}
	if _, err := Resolve(map[string]float64{"acuracy": 1}); !errors.Is(err, ErrUnknown) {
		t.Errorf("misspelt reward: err %v, want ErrUnknown", err)
	}
	if _, err := Resolve(map[string]float64{"accuracy": 0}); err == nil {
		t.Error("all weights zero: want an error")
	}
}

func TestScore(t *testing.T) {
	rs, err := Resolve(map[string]float64{"accuracy": 1, "format": 0.2})
	if err != nil {
		t.Fatal(err)
	}
	p := record.Prompt{Problem: "What is 2 + 3?", Answer: "5", Task: "builtin:arith"}
	for _, tc := range []struct {
		content string
		scores  []float64
		total   float64
	}{
		{"<think>\n2 + 3 = 5\n</think>\n\n\\boxed{5}", []float64{1, 1}, 1.2},
		{"<think>\n2 + 3 = 6\n</think>\n\n\\boxed{6}", []float64{0, 1}, 0.2},
		{"\\boxed{5}", []float64{1, 0}, 1},
	} {
		scores := make([]float64, len(rs))
		total := Score(rs, &Sample{Prompt: p, Content: tc.content, FinishReason: "stop"}, scores)
		if math.Abs(total-tc.total) > 1e-12 || scores[0] != tc.scores[0] || scores[1] != tc.scores[1] {
			t.Errorf("%q: scores %v total %v, want %v %v", tc.content, scores, total, tc.scores, tc.total)
		}
	}
}
