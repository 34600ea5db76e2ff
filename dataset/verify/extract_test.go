package verify

import "testing"

func TestExtract(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"boxed", `so the answer is \boxed{42}.`, "42", true},
		{"last boxed wins", `\boxed{1} then \boxed{2}`, "2", true},
		{"nested braces", `\boxed{\frac{1}{\sqrt{2}}}`, `\frac{1}{\sqrt{2}}`, true},
		{"escaped braces", `\boxed{\{1,2\}}`, `\{1,2\}`, true},
		{"fbox", `\fbox{7}`, "7", true},
		{"fbox after boxed", `\boxed{1} \fbox{3}`, "3", true},
		{"boxed space form", `$\boxed 5$`, "5", true},
		{"boxed space then brace", `\boxed {12}`, "12", true},
		{"truncated last box falls back", `\boxed{3} and finally \boxed{4`, "3", true},
		{"only truncated box", `\boxed{4`, "", false},
		{"empty box", `\boxed{}`, "", false},
		{"boxed beats phrase", "The answer is 5.\n\\boxed{6}", "6", true},
		{"boxed inside answer tag", `<answer>\boxed{9}</answer>`, "9", true},
		{"answer tag", "<think>x</think><answer> 17 </answer>", "17", true},
		{"answer tag with phrase", "<answer>The answer is 8.</answer>", "8", true},
		{"answer tag with dollars", "<answer>$x+1$</answer>", "x+1", true},
		{"gsm8k", "2+2=4\n#### 4", "4", true},
		{"gsm8k thousands", "#### 1,600\n", "1,600", true},
		{"gsm8k last line only", "#### 5\nmore text", "5", true},
		{"the answer is", "Thus the answer is 12.", "12", true},
		{"The Answer Is case", "THE ANSWER IS $\\frac{1}{2}$.", `\frac{1}{2}`, true},
		{"final answer colon", "Final answer: **7**", "7", true},
		{"answer colon", "Answer: (B)", "(B)", true},
		{"markdown final answer", "**Final Answer**: 12", "12", true},
		{"answer is colon", "So my answer is: 3", "3", true},
		{"correct answer is", "the correct answer is $-2$.", "-2", true},
		{"answer as a verb is not a phrase", "We answer this by counting.", "", false},
		{"minerva format", "Final Answer: The final answer is $5$. I hope it is correct.", "5", true},
		{"escaped dollar inside math", "The answer is $\\$18.90$. Done.", `\$18.90`, true},
		{"sentence after answer", "The answer is 12. That was fun.", "12", true},
		{"decimal answer kept", "The answer is 3.5 apples.", "3.5 apples", true},
		{"last phrase wins", "the answer is 3\nthe answer is 4", "4", true},
		{"inline math delimiters", `The answer is \(x^2\).`, "x^2", true},
		{"display math delimiters", `Final answer: \[ 3 \]`, "3", true},
		{"after think only", "<think>maybe \\boxed{3}</think>\n\nThe answer is 4.", "4", true},
		{"box in think is a draft", "<think>\\boxed{3}</think>\n\nI am not sure.", "", false},
		{"unclosed think searched", "<think>so \\boxed{3}", "3", true},
		{"nothing", "I am not sure.", "", false},
		{"empty", "", "", false},
		{"phrase without value", "the answer is", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Extract(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Extract(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestExtractChoice(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`\boxed{C}`, "C", true},
		{`\boxed{\text{(B)}}`, "B", true},
		{`\boxed{(d)}`, "D", true},
		{"The answer is (A).", "A", true},
		{"Answer: E", "E", true},
		{"answer: B) because", "B", true},
		{"C", "C", true},
		{" (C) ", "C", true},
		{"Option D", "D", true},
		{"The answer is 42.", "", false},
		{`\boxed{AB}`, "", false},
		{"Z", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := ExtractChoice(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ExtractChoice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
