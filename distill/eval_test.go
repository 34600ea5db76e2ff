package distill

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalTeacherDeterministic(t *testing.T) {
	opts := DefaultEvalOptions()
	opts.Teacher, opts.NumPrompts, opts.Samples, opts.Quiet = "builtin", 30, 4, true
	var got [2]float64
	for i := range got {
		opts.Out = filepath.Join(t.TempDir(), "eval")
		res, err := runEval(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = res.PassAt1
		if res.K != 4 || res.Prompts != 30 || res.Samples != 120 {
			t.Fatalf("k %d prompts %d samples %d, want 4, 30, 120", res.K, res.Prompts, res.Samples)
		}
		// builtin:arith mixes levels 1-3; each gets its own row.
		var table strings.Builder
		evalTable(&table, res)
		if n := res.ByLevel["1"].Prompts + res.ByLevel["2"].Prompts + res.ByLevel["3"].Prompts; len(res.ByLevel) != 3 || n != 30 ||
			!strings.Contains(table.String(), "level 3 ") {
			t.Errorf("by level %+v, table:\n%s", res.ByLevel, table.String())
		}
		// The builtin teacher makes a few deliberate mistakes: high, not perfect.
		if res.PassAt1 < 0.7 || res.PassAt1 > 1 || res.ConsAtK < res.PassAt1-0.2 {
			t.Errorf("builtin teacher: pass@1 %.3f cons@4 %.3f", res.PassAt1, res.ConsAtK)
		}
		f, err := os.Open(filepath.Join(opts.Out, "samples.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for sc := bufio.NewScanner(f); sc.Scan(); n++ {
			if !strings.Contains(sc.Text(), `"verdict"`) {
				t.Fatalf("sample line without a verdict: %s", sc.Text())
			}
		}
		f.Close()
		if n != 120 {
			t.Errorf("samples.jsonl has %d lines, want 120", n)
		}
	}
	if got[0] != got[1] {
		t.Errorf("same seed, different pass@1: %v", got)
	}
}

func TestEvalRejectsBadOptions(t *testing.T) {
	base := DefaultEvalOptions()
	base.Out = t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(*EvalOptions)
		want string
	}{
		{"neither model nor teacher", func(o *EvalOptions) {}, "exactly one of --model"},
		{"both", func(o *EvalOptions) { o.Model, o.Teacher = "x", "builtin" }, "exactly one of --model"},
		{"no samples", func(o *EvalOptions) { o.Teacher, o.Samples = "builtin", 0 }, "--samples"},
		{"no out", func(o *EvalOptions) { o.Teacher, o.Out = "builtin", "" }, "--out"},
		{"bad template", func(o *EvalOptions) { o.Teacher, o.Template = "builtin", "nope" }, "--template"},
		{"missing model", func(o *EvalOptions) { o.Model = filepath.Join(t.TempDir(), "none") }, "--model"},
		{"bad prompts", func(o *EvalOptions) { o.Teacher, o.Prompts = "builtin", "prompts.txt" }, "--prompts"},
	} {
		o := base
		tc.edit(&o)
		if _, err := runEval(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
