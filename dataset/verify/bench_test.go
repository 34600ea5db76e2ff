package verify

import (
	"strings"
	"testing"
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
