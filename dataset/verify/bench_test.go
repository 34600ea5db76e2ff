package verify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// benchTrace builds an R1-shaped response of about n bytes: a chain of
// thought of arithmetic lines, then the answer.
func benchTrace(n int, answer string) string {
	var b strings.Builder
	b.WriteString("<think>\nLet me work through this step by step.\n")
	for i := 0; b.Len() < n; i++ {
		b.WriteString("We have 12 + 7 = 19, and then 19 \\times 3 = 57, so the next term is \\frac{57}{3}.\n")
	}
	b.WriteString("</think>\n\n")
	b.WriteString(answer)
	return b.String()
}

// BenchmarkVerify measures verification cost per trace; MB/s is of response
// text. The dataset stage needs far above 50 MB/s here so that verification
// is a small part of its budget.
func BenchmarkVerify(b *testing.B) {
	cases := []struct {
		name, task, response, reference string
	}{
		{"short/boxed-frac", "math", benchTrace(1_000, `The answer is $\boxed{\dfrac{14}{3}}$.`), `\frac{14}{3}`},
		{"short/boxed-tuple", "math", benchTrace(1_000, `$\boxed{\left( 3, \frac{\pi}{2} \right)}$`), `\left( 3, \frac{\pi}{2} \right)`},
		{"short/boxed-sqrt", "math", benchTrace(1_000, `$\boxed{2\sqrt{3}}$`), `\sqrt{12}`},
		{"short/gsm8k", "gsm8k", benchTrace(1_000, "#### 1,600"), "1600"},
		{"long/boxed", "math", benchTrace(20_000, `\boxed{42}`), "42"},
		{"long/phrase", "math", benchTrace(20_000, "The answer is 42."), "42"},
		{"long/no-answer", "math", benchTrace(20_000, "I could not finish."), "42"},
		// Without a closed </think> the whole text is searched.
		{"long-unclosed/phrase", "math", strings.Replace(benchTrace(20_000, "The answer is 42."), "</think>", "", 1), "42"},
		{"long-unclosed/no-answer", "math", strings.Replace(benchTrace(20_000, "I could not finish."), "</think>", "", 1), "42"},
	}
	for _, c := range cases {
		v := ForTask(c.task)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.response)))
			b.ReportAllocs()
			for b.Loop() {
				v.Verify(c.response, c.reference)
			}
		})
	}
}

// BenchmarkVerifyVsJSON reports verification cost as a ratio to decoding the
// same trace from its JSON line, which the dataset stage does for every trace
// anyway: a ratio well under 1 means verification is not the bottleneck.
// Both are timed in the same run, so machine load cancels out.
func BenchmarkVerifyVsJSON(b *testing.B) {
	type trace struct {
		PromptID  string `json:"prompt_id"`
		Reasoning string `json:"reasoning"`
		Content   string `json:"content"`
		Reference string `json:"reference"`
	}
	reasoning := benchTrace(1_000, "")
	content := `The answer is $\boxed{\left( 3, \frac{\pi}{2} \right)}$.`
	line, err := json.Marshal(trace{"p1", reasoning, content, `\left( 3, \frac{\pi}{2} \right)`})
	if err != nil {
		b.Fatal(err)
	}
	v := ForTask("math")
	var tVerify, tJSON time.Duration
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		t0 := time.Now()
		var tr trace
		if err := json.Unmarshal(line, &tr); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if v.Verify(tr.Content, tr.Reference).Verdict != Correct {
			b.Fatal("not verified")
		}
		t2 := time.Now()
		tJSON += t1.Sub(t0)
		tVerify += t2.Sub(t1)
	}
	b.ReportMetric(float64(tVerify)/float64(tJSON), "verify/json")
	b.ReportMetric(float64(tVerify.Nanoseconds())/float64(b.N), "verify-ns/op")
}
