package distill

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/studenttest"
)

// distill rl on builtin:arith with the R1 prompt template, rewards from a
// config file: metrics per step and a loadable model in OUT.
func TestRunRL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rl.yaml")
	yaml := "prompts: builtin:arith\nnum_prompts: 6\nrewards:\n  accuracy: 1\n  format: 0.5\n  length: 0.1\n" +
		"prompts_per_step: 3\nnum_generations: 4\nmax_new_tokens: 8\nmax_steps: 2\nlr: 1e-3\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := DefaultRLOptions()
	if err := loadConfig(cfg, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Rewards["format"] != 0.5 || opts.PromptsPerStep != 3 || opts.Epsilon != 0.2 {
		t.Fatalf("config not applied over the defaults: %+v", opts.Options)
	}
	opts.Model, opts.Out = studenttest.Tiny(t, 1), filepath.Join(dir, "out")
	res, err := runRL(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 2 {
		t.Errorf("%d steps, want 2", res.Steps)
	}
	b, err := os.ReadFile(filepath.Join(opts.Out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("metrics.jsonl: %d lines, want 2", len(lines))
	}
	var m rl.Metric
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"accuracy", "format", "length"} {
		if _, ok := m.Rewards[name]; !ok {
			t.Errorf("metrics: no %s reward in %s", name, lines[1])
		}
	}
	if m.CompLen <= 0 || m.TokensSec <= 0 {
		t.Errorf("metrics: %s", lines[1])
	}
	if _, err := student.Open(opts.Out); err != nil {
		t.Errorf("the published model does not load: %v", err)
	}
}

func TestRLBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rewards:\n  accuracy: 1\nnum_generation: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := DefaultRLOptions()
	if err := loadConfig(bad, &opts); err == nil || !strings.Contains(err.Error(), "num_generation") {
		t.Errorf("misspelt config key: err %v", err)
	}
	for _, tc := range []struct {
		flags   []string
		want    map[string]float64
		wantErr string
	}{
		{[]string{"accuracy=1", "format=0.25"}, map[string]float64{"accuracy": 1, "format": 0.25}, ""},
		{[]string{"accuracy"}, map[string]float64{"accuracy": 1}, ""},
		{[]string{"accuracy=lots"}, nil, "want NAME=WEIGHT"},
		{[]string{"acuracy=1"}, nil, "unknown reward"},
	} {
		got, err := rlParseRewards(tc.flags)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want %q", tc.flags, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%v: got %v, %v", tc.flags, got, err)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%v: %s = %v, want %v", tc.flags, k, got[k], v)
			}
		}
	}
	opts = DefaultRLOptions()
	opts.Model, opts.Out = studenttest.Tiny(t, 1), filepath.Join(dir, "out")
	opts.Prompts = "builtin:nothing"
	if _, err := runRL(context.Background(), opts); err == nil {
		t.Error("unknown builtin suite: want an error")
	}
	opts.Prompts, opts.Template = "builtin:arith", "r2"
	if _, err := runRL(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "--template") {
		t.Errorf("unknown template: err %v", err)
	}
}

// The shipped recipes parse (unknown keys are errors) and pass rl's checks.
func TestRLConfigs(t *testing.T) {
	files, _ := filepath.Glob("../configs/rl-*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs/rl-*.yaml")
	}
	for _, f := range files {
		opts := DefaultRLOptions()
		if err := loadConfig(f, &opts); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if opts.Rewards["accuracy"] == 0 {
			t.Errorf("%s: no accuracy reward (%v)", f, opts.Rewards)
		}
		if opts.LR > 1e-4 {
			t.Errorf("%s: lr %g is an SFT learning rate; GRPO collapses tiny students above ~1e-4", f, opts.LR)
		}
	}
}

// TestRLDecontaminate: prompts overlapping a benchmark are not trained on,
// and the prompt count is kept by drawing further.
func TestRLDecontaminate(t *testing.T) {
	o := DefaultRLOptions()
	o.Prompts, o.NumPrompts, o.Seed = "builtin:arith:1", 30, 5
	all, err := rlLoadPrompts(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	bench := filepath.Join(t.TempDir(), "heldout.jsonl")
	var b strings.Builder
	for _, p := range all[:5] {
		line, _ := json.Marshal(map[string]string{"id": p.ID, "problem": p.Problem, "answer": p.Answer})
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(bench, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Decontaminate, o.NGram = []string{bench}, 6
	kept, err := rlLoadPrompts(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 30 {
		t.Errorf("%d prompts, want 30", len(kept))
	}
	for _, p := range kept {
		for _, h := range all[:5] {
			if p.Problem == h.Problem {
				t.Errorf("held-out problem %q kept", p.Problem)
			}
		}
	}
	o.Decontaminate = []string{filepath.Join(t.TempDir(), "missing.jsonl")}
	if _, err := rlLoadPrompts(context.Background(), o); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing benchmark file: %v", err)
	}
}

// --lora-rank, --lora-alpha and --lora-targets reach GRPO: OUT gets the
// merged model and OUT/adapter the PEFT adapter of that rank, alpha and
// targets; a bad value is refused naming its flag.
func TestRLLoRAFlags(t *testing.T) {
	model := studenttest.Tiny(t, 1)
	out := filepath.Join(t.TempDir(), "out")
	base := []string{"distill", "rl", "--model", model, "--num-prompts", "4", "--prompts-per-step", "2", "--num-generations", "2",
		"--max-new-tokens", "4", "--max-steps", "1"}
	if err := NewApp().Run(append(base, "--out", out, "--lora-rank", "2", "--lora-alpha", "6", "--lora-targets", "q_proj,v_proj")); err != nil {
		t.Fatal(err)
	}
	_, a := studenttest.PublishedLoRA(t, out)
	if a.Rank != 2 || a.Alpha != 6 || !slices.Equal(a.Targets, []string{"q_proj", "v_proj"}) || a.Base != model {
		t.Errorf("adapter rank %d alpha %v targets %v base %s", a.Rank, a.Alpha, a.Targets, a.Base)
	}
	for _, tc := range []struct{ flags, want string }{
		{"--lora-rank=-1", "--lora-rank"},
		{"--lora-targets=x_proj", "--lora-targets"},
	} {
		err := NewApp().Run(append(base, "--out", t.TempDir(), "--lora-rank", "2", tc.flags))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one naming %s", tc.flags, err, tc.want)
		}
	}
}
