package distill

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/report"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/train"
	"github.com/distill-dev/distill/student/trainer"
)

// reportRunDir fills a run directory with the real stages at toy sizes:
// generate, filter, a few SFT updates, GRPO after SFT, and the evaluation of
// the teacher and the SFT student. base and rl-only are left out, so the
// report must say they are missing.
func reportRunDir(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	data := genShards(t, dir, 120, "plain")
	tr := TrainOptions{Options: train.Defaults}
	tr.Student, tr.Data, tr.Out = "qwen-nano", train.Dir(data), filepath.Join(dir, "sft")
	tr.MaxSteps, tr.MicroBatch, tr.GradAccum, tr.SeqLen, tr.EvalEvery, tr.WarmupSteps = 4, 4, 1, 128, 2, 1
	if _, err := runTrain(ctx, tr); err != nil {
		t.Fatal(err)
	}
	prompts := []record.Prompt{{ID: "a", Problem: "What is 2 + 3?", Answer: "5", Task: "builtin:arith", Source: "unit"},
		{ID: "b", Problem: "What is 4 + 4?", Answer: "8", Task: "builtin:arith", Source: "unit"}}
	if _, err := rl.Run(ctx, rl.Options{Model: tr.Out, Out: filepath.Join(dir, "rl"), PromptsPerStep: 2, NumGenerations: 2,
		MaxNewTokens: 6, MaxSteps: 2, Options: trainer.Options{SaveEvery: 1000}}, prompts); err != nil {
		t.Fatal(err)
	}
	for stage, o := range map[string]EvalOptions{"sft": {Model: tr.Out}, "teacher": {Teacher: "builtin"}} {
		e := DefaultEvalOptions()
		e.Model, e.Teacher, e.NumPrompts, e.Samples, e.MaxTokens, e.Out = o.Model, o.Teacher, 4, 2, 8, filepath.Join(dir, "eval", stage)
		if _, err := runEval(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReport(t *testing.T) {
	dir := reportRunDir(t)
	out, err := runReport(context.Background(), ReportOptions{Dir: dir, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	// Every plot of a run with these stages is on the page and decodes.
	for _, name := range []string{"accuracy.png", "lengths.png", "sft_loss.png", "rl_reward.png", "rl_kl.png"} {
		if !strings.Contains(html, `src="plots/`+name+`"`) {
			t.Errorf("report.html does not show %s", name)
		}
		checkPNG(t, filepath.Join(dir, "plots", name))
	}
	// And nothing else is referenced that is not there.
	for _, m := range regexp.MustCompile(`src="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
			t.Errorf("report.html references %s: %v", m[1], err)
		}
	}
	for _, want := range []string{
		"eval (base): no eval/base/results.json",
		"rl (rl-only): no rl-only/metrics.jsonl",
		"run.json: the stages were not run by distill run",
		"repetition",      // a reject reason of the filter
		"builtin builtin", // the teacher's eval subject
		"tokens: prompt / completion / reasoning",
		"loss: first / final",
		"reward: first / final",
		"frac_reward_zero_std", // logged by rl, shown without the report knowing it
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, stage := range []string{"teacher", "sft"} {
		if !strings.Contains(html, "<td>"+stage+"</td>") {
			t.Errorf("report.html has no results row for %s", stage)
		}
	}
}

// TestReportLengthsFromShards checks the fallback for a dataset whose
// stats.json has no length histogram: the counts from the shards are
// those the filter recorded.
func TestReportLengthsFromShards(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	g := DefaultGenerateOptions()
	g.NumPrompts, g.Out, g.Quiet = 200, filepath.Join(dir, "raw"), true
	if err := runGenerate(ctx, g); err != nil {
		t.Fatal(err)
	}
	f := DefaultFilterOptions()
	f.In, f.Out, f.Quiet = []string{g.Out}, filepath.Join(dir, "data"), true
	f.Select.TestFraction = 0.2
	if err := runFilter(ctx, f); err != nil {
		t.Fatal(err)
	}
	r, err := report.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Data.Lengths
	if r.Data.LengthsFrom != "data/stats.json" || len(want) == 0 {
		t.Fatalf("lengths from %q: %v", r.Data.LengthsFrom, want)
	}
	statsPath := filepath.Join(dir, "data", "stats.json")
	var st map[string]any
	b, _ := os.ReadFile(statsPath)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	delete(st, "kept_length_histogram")
	b, _ = json.Marshal(st)
	if err := os.WriteFile(statsPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = report.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Data.Lengths
	if !strings.Contains(r.Data.LengthsFrom, "shard") {
		t.Fatalf("lengths from %q", r.Data.LengthsFrom)
	}
	// The shards' histogram stops at the longest row; stats.json's may run on with empty bins.
	for len(want) > len(got) && want[len(want)-1].Count == 0 {
		want = want[:len(want)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lengths from the shards %v, stats.json had %v", got, want)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s: %v is too small to read", path, b)
	}
}

func TestReportErrors(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "x")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		name string
		opts ReportOptions
		want string
	}{
		{"no dir", ReportOptions{}, "RUN_DIR is required"},
		{"absent", ReportOptions{Dir: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"a file", ReportOptions{Dir: file}, "not a run directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runReport(ctx, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReportCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "page.html")
	if err := NewApp().RunContext(context.Background(), []string{"distill", "report", "--quiet", "--out", out, dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "plots")); err != nil {
		t.Fatal(err)
	}
	err := NewApp().RunContext(context.Background(), []string{"distill", "report", dir, dir})
	if err == nil || !strings.Contains(err.Error(), "exactly one RUN_DIR") {
		t.Fatalf("two directories: %v", err)
	}
}
