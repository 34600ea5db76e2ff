package distill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/eval"
)

// writeEvalDir writes an eval directory as `distill eval` does, for the
// prompts p0..p(len(correct)-1) with reference "5", prompt i answered
// right in correct[i] of its k samples.
func writeEvalDir(t *testing.T, dir string, k int, correct []int) {
	t.Helper()
	items := make([]eval.Item, len(correct))
	for i, c := range correct {
		items[i] = eval.Item{PromptID: fmt.Sprint("p", i), Source: "unit", Task: "builtin:arith", Reference: "5"}
		for s := range k {
			ans := "7"
			if s < c {
				ans = "5"
			}
			items[i].Samples = append(items[i].Samples, eval.Sample{Reasoning: "r", Content: `\boxed{` + ans + `}`, FinishReason: "stop"})
		}
	}
	rep, scored := eval.Score(items, k)
	if err := evalWrite(dir, &eval.Results{Report: rep}, scored); err != nil {
		t.Fatal(err)
	}
}

func TestEvalCompare(t *testing.T) {
	dir := t.TempDir()
	a, b, out := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "cmp")
	writeEvalDir(t, a, 4, []int{0, 1, 2, 4, 0, 3, 1, 0})
	writeEvalDir(t, b, 4, []int{2, 1, 4, 4, 1, 4, 3, 0})
	if err := NewApp().Run([]string{"distill", "eval", "--compare", "--seed", "5", "--out", out, "--quiet", a, b}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "compare.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got eval.Comparison
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	// pass@1 gains (2+0+2+0+1+1+2+0)/4/8 = 0.25 on 5 differing prompts, all
	// upwards: exact p = 2/2^5.
	if got.Prompts != 8 || got.K != 4 || got.Seed != 5 || got.A != a || got.B != b || got.PassAt1.Diff != 0.25 || got.PassAt1.P != 2.0/32 {
		t.Errorf("compare.json: %s", data)
	}
	if !(got.PassAt1.CI.Low > 0 && got.PassAt1.CI.High < 0.5) {
		t.Errorf("pass@1 interval %+v, want inside (0, 0.5)", got.PassAt1.CI)
	}
	c, err := runCompare(context.Background(), CompareOptions{A: a, B: b, Resamples: 10000, Seed: 5})
	if err != nil || c.PassAt1 != got.PassAt1 || c.ConsAtK != got.ConsAtK {
		t.Errorf("runCompare %+v, %v; the CLI wrote %+v", c, err, got)
	}
}

func TestEvalCompareRefuses(t *testing.T) {
	dir := t.TempDir()
	base, fewer, otherK := filepath.Join(dir, "base"), filepath.Join(dir, "fewer"), filepath.Join(dir, "k8")
	writeEvalDir(t, base, 4, []int{0, 1, 2})
	writeEvalDir(t, fewer, 4, []int{0, 1})
	writeEvalDir(t, otherK, 8, []int{0, 1, 2})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"different prompts", []string{base, fewer}, `different prompts: A has 3 prompts, B 2, shared 2; A's "p2" is not in B`},
		{"different k", []string{base, otherK}, "k differs (4 and 8 samples per prompt)"},
		{"missing directory", []string{base, filepath.Join(dir, "none")}, filepath.Join(dir, "none", "results.json")},
		{"one directory", []string{base}, "--compare takes two eval directories"},
		{"flags after the directories", []string{base, fewer, "--seed", "3"}, "got 4 arguments"},
		{"a model too", []string{"--model", "ckpt", base, fewer}, "--model: --compare reads two finished evaluations"},
	} {
		err := NewApp().Run(append([]string{"distill", "eval", "--compare", "--quiet"}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

// results.md's comparisons: those whose evaluations exist, a line saying
// why for one that cannot be made.
func TestRunComparisons(t *testing.T) {
	evalDir := filepath.Join(t.TempDir(), "eval")
	writeEvalDir(t, filepath.Join(evalDir, "sft"), 4, []int{0, 1, 2, 4})
	writeEvalDir(t, filepath.Join(evalDir, "rl"), 4, []int{1, 1, 3, 4})
	var b strings.Builder
	runComparisons(&b, evalDir)
	if !strings.Contains(b.String(), "- GRPO after SFT (sft → rl): pass@1 +0.125 [") || strings.Contains(b.String(), "GRPO alone") {
		t.Errorf("with sft and rl only:\n%s", b.String())
	}
	writeEvalDir(t, filepath.Join(evalDir, "rl-only"), 4, []int{0, 1})
	b.Reset()
	runComparisons(&b, evalDir)
	if !strings.Contains(b.String(), "- distillation vs GRPO alone (rl-only → sft): not compared:") {
		t.Errorf("with a mismatched rl-only:\n%s", b.String())
	}
	b.Reset()
	runComparisons(&b, filepath.Join(t.TempDir(), "none"))
	if b.Len() != 0 {
		t.Errorf("no evaluations, yet: %s", b.String())
	}
}

func TestReadEvalDirErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "results.json"), []byte(`{"k": 4}`), 0o644)
	if _, _, err := readEvalDir(context.Background(), dir); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "samples.jsonl") {
		t.Errorf("no samples.jsonl: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte("{\"prompt_id\": \"a\"}\nnot json\n"), 0o644)
	if _, _, err := readEvalDir(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "samples.jsonl: line 2") {
		t.Errorf("broken samples.jsonl: %v", err)
	}
}
