package teacher

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const r1Suffix = "Please reason step by step, and put your final answer within \\boxed{}."

const r1Zero = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: %s. Assistant:"

func ask(t *testing.T, b *Builtin, prompt string, seed int64) Response {
	t.Helper()
	resp, err := b.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: prompt}}, Seed: &seed})
	if err != nil {
		t.Fatalf("Complete(%q): %v", prompt, err)
	}
	return resp
}

func TestBuiltinTraces(t *testing.T) {
	b := NewBuiltin(BuiltinConfig{})
	tests := []struct {
		prompt, reasoning, content string
	}{
		{"What is 69 + 66 × 3?", "66 × 3 = 198\n69 + 198 = 267", `\boxed{267}`},
		{"What is 69 + 66?\n" + r1Suffix, "69 + 66 = 135", `\boxed{135}`},
		{strings.Replace(r1Zero, "%s", "What is 12 + 30 + 7?", 1), "12 + 30 = 42\n42 + 7 = 49", `\boxed{49}`},
		{"What is 512 - 128 + 907?", "512 - 128 = 384\n384 + 907 = 1291", `\boxed{1291}`},
		{"Compute (2 + 3) * 4 − 30 ÷ 6.", "2 + 3 = 5\n5 × 4 = 20\n30 ÷ 6 = 5\n20 - 5 = 15", `\boxed{15}`},
		{"What is 5 - -3?", "5 - -3 = 8", `\boxed{8}`},
		{"Calculate 7*6.", "7 × 6 = 42", `\boxed{42}`},
		{"Problem: 100 / 4 - 5\nAnswer:", "100 ÷ 4 = 25\n25 - 5 = 20", `\boxed{20}`},
		{"What's 2+2? " + r1Suffix, "2 + 2 = 4", `\boxed{4}`},
		{"Sam has 23 apples. He buys 4 bags of 12 apples each, then gives away 17 apples. How many apples does Sam have now? " + r1Suffix,
			"New apples: 4 × 12 = 48\nAfter buying: 23 + 48 = 71\nAfter giving away: 71 - 17 = 54", `Sam has \boxed{54} apples now.`},
	}
	for _, tt := range tests {
		resp := ask(t, b, tt.prompt, 1)
		if resp.Reasoning != tt.reasoning || resp.Content != tt.content || resp.FinishReason != "stop" {
			t.Errorf("%q:\ngot  %q / %q / %s\nwant %q / %q", tt.prompt, resp.Reasoning, resp.Content, resp.FinishReason, tt.reasoning, tt.content)
		}
		if resp.Usage.CompletionTokens <= resp.Usage.ReasoningTokens || resp.Usage.ReasoningTokens == 0 || resp.Usage.PromptTokens == 0 {
			t.Errorf("%q: usage %+v", tt.prompt, resp.Usage)
		}
	}
}

func TestBuiltinRejects(t *testing.T) {
	b := NewBuiltin(DefaultBuiltinConfig())
	for _, prompt := range []string{"Write a poem about the sea.", "What is 7 ÷ 2?", "What is 5 ÷ 0?", "What is 12?", "",
		"Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
		"A bus ride takes 10-15 minutes. How long is the ride?", "Between 10-15. Which?"} {
		_, err := b.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: prompt}}})
		var te *Error
		if !errors.As(err, &te) || te.Status != 422 || te.Retryable || te.Kind != "client" {
			t.Errorf("%q: got %v, want a 422 client *Error", prompt, err)
		}
	}
}

// TestBuiltinSuiteRoundTrip answers every level's problems from their text
// alone, under both templates, and checks the boxed answer.
func TestBuiltinSuiteRoundTrip(t *testing.T) {
	b := NewBuiltin(BuiltinConfig{CheckRate: 0.5})
	for _, name := range SuiteNames() {
		s, err := OpenSuite(name, 7)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			p := s.At(i)
			for _, prompt := range []string{p.Problem + "\n" + r1Suffix, strings.Replace(r1Zero, "%s", p.Problem, 1)} {
				resp := ask(t, b, prompt, int64(i))
				if !strings.Contains(resp.Content, `\boxed{`+p.Answer+`}`) {
					t.Fatalf("%s %s %q: content %q, want answer %s", name, p.ID, p.Problem, resp.Content, p.Answer)
				}
			}
		}
	}
}

func TestSuite(t *testing.T) {
	s, err := OpenSuite("builtin:arith", 42)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := OpenSuite("builtin:arith", 42)
	levels := map[int]int{}
	for i := range 3000 {
		p := s.At(i)
		if p != s2.At(i) {
			t.Fatalf("At(%d) not a pure function of (seed, i)", i)
		}
		levels[p.Level]++
	}
	if p := s.At(5); p.ID != "arith-42-5" || p.Task != "builtin:arith" || p.Source != "builtin:arith" {
		t.Errorf("At(5) = %+v", p)
	}
	for l := 1; l <= 3; l++ {
		if levels[l] < 900 {
			t.Errorf("level %d drawn %d times in 3000, want about 1000", l, levels[l])
		}
	}
	if len(levels) != 3 {
		t.Errorf("default mix has levels %v, want 1..3", levels)
	}
	if other, _ := OpenSuite("builtin:arith", 43); other.At(0) == s.At(0) {
		t.Errorf("seed does not change the problems")
	}
	r, err := OpenSuite("builtin:arith:1-2", 42)
	if err != nil {
		t.Fatal(err)
	}
	rl := map[int]int{}
	for i := range 1000 {
		rl[r.At(i).Level]++
	}
	if len(rl) != 2 || rl[1] < 400 || rl[2] < 400 {
		t.Errorf("builtin:arith:1-2 drew levels %v, want 1 and 2 about evenly", rl)
	}
	for _, bad := range []string{"builtin:arith:0", "builtin:arith:9", "builtin:arith:x", "builtin:arith:2-1", "builtin:arith:1-9", "builtin:arith:1-", "builtin:poetry"} {
		if _, err := OpenSuite(bad, 1); !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("OpenSuite(%q) = %v, want ErrUnknownSuite", bad, err)
		}
	}
}

// TestBuiltinImperfections measures each kind of mistake over many
// completions: rates near the configured ones, and each visible in the trace
// the way a downstream filter would see it.
func TestBuiltinImperfections(t *testing.T) {
	cfg := BuiltinConfig{Seed: 3, WrongRate: 0.1, TruncateRate: 0.1, LanguageMixRate: 0.1, RepeatRate: 0.1, MissingTagsRate: 0.1, CheckRate: 0.1}
	b := NewBuiltin(cfg)
	s, _ := OpenSuite("builtin:arith:all", 1)
	const n = 4000
	var wrong, length, cjk, long, noTags, checks int
	for i := range n {
		p := s.At(i)
		resp := ask(t, b, p.Problem+"\n"+r1Suffix, int64(i))
		if again := ask(t, b, p.Problem+"\n"+r1Suffix, int64(i)); again != resp {
			t.Fatalf("not deterministic for %q", p.Problem)
		}
		all := resp.Reasoning + resp.Content
		switch {
		case resp.FinishReason == "length":
			length++
		case !strings.Contains(resp.Content, `\boxed{`+p.Answer+`}`):
			wrong++
		}
		if strings.ContainsAny(all, "我所接让") {
			cjk++
		}
		if strings.Contains(all, "Wait, let me recompute.") {
			long++
		}
		if resp.Reasoning == "" {
			noTags++
		}
		if strings.Contains(all, "Check: ") {
			checks++
		}
	}
	for _, c := range []struct {
		name string
		got  int
		want float64
	}{
		{"length", length, 0.1}, {"wrong", wrong, 0.1 * 0.9}, {"language mix", cjk, 0.1},
		{"repetitive", long, 0.1}, {"no tags", noTags, 0.1}, {"self-check", checks, 0.1 * 0.9},
	} {
		if rate := float64(c.got) / n; rate < c.want*0.7 || rate > c.want*1.3 {
			t.Errorf("%s rate %.3f, want about %.3f", c.name, rate, c.want)
		}
	}

	perfect := NewBuiltin(cfg.Perfect())
	for i := range 500 {
		p := s.At(i)
		resp := ask(t, perfect, p.Problem, int64(i))
		if resp.FinishReason != "stop" || resp.Reasoning == "" || !strings.Contains(resp.Content, `\boxed{`+p.Answer+`}`) ||
			strings.Contains(resp.Reasoning, "Wait") || strings.ContainsAny(resp.Reasoning, "我所接让") {
			t.Fatalf("Perfect() teacher made a mistake on %q: %+v", p.Problem, resp)
		}
	}
}

func TestBuiltinMaxTokens(t *testing.T) {
	b := NewBuiltin(BuiltinConfig{})
	seed := int64(1)
	for _, max := range []int{1, 3, 8, 12, 14, 1000} {
		resp, err := b.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "What is 69 + 66 × 3?"}}, MaxTokens: max, Seed: &seed})
		if err != nil {
			t.Fatal(err)
		}
		full := max >= 1000
		if got := resp.Usage.CompletionTokens; got > max {
			t.Errorf("max_tokens %d: %d completion tokens", max, got)
		}
		if (resp.FinishReason == "stop") != full {
			t.Errorf("max_tokens %d: finish %q (%q / %q)", max, resp.FinishReason, resp.Reasoning, resp.Content)
		}
	}
}

func BenchmarkBuiltinComplete(b *testing.B) {
	t := NewBuiltin(DefaultBuiltinConfig())
	s, _ := OpenSuite("builtin:arith", 1)
	ctx := context.Background()
	prompts := make([]string, 1024)
	for i := range prompts {
		prompts[i] = s.At(i).Problem + "\n" + r1Suffix
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		seed := int64(i)
		if _, err := t.Complete(ctx, Request{Messages: []Message{{Role: "user", Content: prompts[i%len(prompts)]}}, Seed: &seed}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuiteAt(b *testing.B) {
	s, _ := OpenSuite("builtin:arith", 1)
	for i := 0; b.Loop(); i++ {
		s.At(i)
	}
}

func TestBuiltinSelfCheck(t *testing.T) {
	b := NewBuiltin(BuiltinConfig{CheckRate: 1})
	resp := ask(t, b, "What is 69 + 66 × 3?", 1)
	if want := "66 × 3 = 198\n69 + 198 = 267\nCheck: 267 - 198 = 69."; resp.Reasoning != want {
		t.Errorf("reasoning %q, want %q", resp.Reasoning, want)
	}
}

func TestBuiltinConfigValidate(t *testing.T) {
	if err := DefaultBuiltinConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	bad := DefaultBuiltinConfig()
	bad.RepeatRate = 1.5
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "repeat-rate 1.5") {
		t.Errorf("got %v, want an error naming repeat-rate", err)
	}
}
