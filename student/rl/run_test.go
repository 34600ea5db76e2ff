package rl

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/trainer"
)

func isDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func init() {
	// Rewards a completion that starts with a digit: a behaviour a random
	// model shows a few percent of the time, so groups carry a signal.
	reward.Register("test_digit_first", func(s *reward.Sample) float64 {
		if isDigit(s.Content) {
			return 1
		}
		return 0
	})
}

// digitShare samples the first completion token of n copies of a prompt and
// returns the share of digits.
func digitShare(t *testing.T, dir string, n int) float64 {
	t.Helper()
	st, err := student.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := renderPrompt(st, "", record.Prompt{Problem: "Say something."})
	if err != nil {
		t.Fatal(err)
	}
	in := make([][]int32, n)
	for i := range in {
		in[i] = ids
	}
	comps, err := model.Generate(context.Background(), st.Weights, in, model.SampleOptions{Temperature: 1, MaxNewTokens: 1, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, c := range comps {
		if isDigit(st.Tok.Decode(c.Tokens)) {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

func testPrompts(n, bad int) []record.Prompt {
	var ps []record.Prompt
	for i := range n {
		ps = append(ps, record.Prompt{ID: fmt.Sprint("p", i), Problem: fmt.Sprintf("What is %d + 1?", i), Answer: fmt.Sprint(i + 1), Task: "builtin:arith"})
	}
	for i := range bad {
		ps = append(ps, record.Prompt{ID: fmt.Sprint("bad", i), Problem: "What is it?", Answer: "", Task: "builtin:arith"})
	}
	return ps
}

// digitOptions are the default options of a run on the model in dir,
// rewarded for a completion that starts with a digit, into a fresh OUT.
func digitOptions(t *testing.T, dir string) Options {
	o := Defaults
	o.Model, o.Out = dir, t.TempDir()
	o.Rewards = map[string]float64{"test_digit_first": 1}
	return o
}

// newRun sets up a GRPO run of o on prompts as Run does before its first
// step.
func newRun(t *testing.T, o Options, prompts []record.Prompt) *run {
	t.Helper()
	if err := o.fill(); err != nil {
		t.Fatal(err)
	}
	r := &run{o: &o, obj: Objective{Epsilon: o.Epsilon, EpsilonHigh: o.EpsilonHigh, Beta: o.Beta}, prompts: prompts, res: &Result{}}
	var err error
	if r.rs, err = reward.Resolve(o.Rewards); err != nil {
		t.Fatal(err)
	}
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	return r
}

func readMetrics(t *testing.T, path string) []Metric {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ms []Metric
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m Metric
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ms = append(ms, m)
	}
	return ms
}

// A few GRPO steps move the policy toward the rewarded output: the share of
// completions starting with a digit rises well above where it started.
func TestGRPOMovesPolicyTowardReward(t *testing.T) {
	init := studenttest.Tiny(t, 3)
	out := filepath.Join(t.TempDir(), "rl")
	o := Defaults
	o.Model, o.Out = init, out
	o.Rewards = map[string]float64{"test_digit_first": 1}
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 8, 8, 2
	o.LR, o.MaxSteps, o.SaveEvery = 1e-2, 12, 0
	res, err := Run(context.Background(), o, testPrompts(8, 0))
	if err != nil {
		t.Fatal(err)
	}
	before, after := digitShare(t, init, 2000), digitShare(t, out, 2000)
	t.Logf("digit-first share %.3f -> %.3f; reward %.3f -> %.3f", before, after, res.FirstReward, res.LastReward)
	if after < before+0.2 || after < 2*before {
		t.Errorf("digit-first share %.3f -> %.3f: GRPO did not move the policy toward the reward", before, after)
	}
	ms := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	if len(ms) != 12 || ms[11].Step != 12 {
		t.Fatalf("metrics: %d lines, want 12", len(ms))
	}
	for _, m := range ms {
		if m.ClipFrac != 0 {
			t.Errorf("step %d: clip ratio %v with one iteration per batch, want 0 (ratio is 1)", m.Step, m.ClipFrac)
		}
		if m.KL < 0 || math.IsNaN(m.KL) {
			t.Errorf("step %d: KL %v", m.Step, m.KL)
		}
	}
	if ms[11].KL <= 0 {
		t.Errorf("KL to the reference is %v after 12 steps of moving away from it", ms[11].KL)
	}
}

// Prompts whose reference cannot be parsed are skipped and counted, never
// sampled and rewarded.
func TestUnverifiablePromptsAreSkipped(t *testing.T) {
	r := &run{o: &Options{PromptsPerStep: 3, Seed: 5}, prompts: testPrompts(4, 3)}
	r.checked = make([]bool, len(r.prompts))
	for i, p := range r.prompts {
		r.checked[i] = !reward.Unverifiable(p)
	}
	skipped := 0
	seen := map[string]int{}
	var state trainer.State
	for range 7 { // 21 good prompts drawn: a bit over 5 epochs of 4
		ps, s := r.nextPrompts(&state)
		skipped += s
		for _, p := range ps {
			if strings.HasPrefix(p.ID, "bad") {
				t.Fatalf("prompt %s with an unverifiable reference was drawn", p.ID)
			}
			seen[p.ID]++
		}
	}
	if len(seen) != 4 {
		t.Errorf("drew %v, want all 4 good prompts", seen)
	}
	// 5 full epochs passed the 3 bad prompts 15 times, and the sixth some more.
	if skipped < 15 || skipped > 18 {
		t.Errorf("skipped %d, want 15..18", skipped)
	}

	// A prompt set with no verifiable reference at all is refused.
	o := Defaults
	o.Model, o.Out = studenttest.Tiny(t, 3), t.TempDir()
	if _, err := Run(context.Background(), o, testPrompts(0, 2)); err == nil || !strings.Contains(err.Error(), "can judge") {
		t.Errorf("all-unverifiable prompts: err %v", err)
	}
	// In a run the skips reach the metrics.
	o.Rewards = map[string]float64{"accuracy": 1, "test_digit_first": 1}
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens, o.MaxSteps = 2, 2, 1, 3
	res, err := Run(context.Background(), o, testPrompts(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range readMetrics(t, filepath.Join(o.Out, "metrics.jsonl")) {
		total += m.Skipped
	}
	if res.Skipped == 0 || total != res.Skipped {
		t.Errorf("skipped %d in the result, %d in the metrics; want the same, > 0", res.Skipped, total)
	}
}

// The gradient Backward accumulates from the coefficients is the gradient
// of the batch loss: checked against a central difference of the loss
// along the gradient direction, on the tiny model, with a KL term against
// a reference that differs from the policy.
func TestObjectiveGradientFiniteDifference(t *testing.T) {
	o := Defaults
	o.Model, o.Out = studenttest.Tiny(t, 3), t.TempDir()
	o.Rewards = map[string]float64{"test_digit_first": 1}
	o.Beta, o.NumIterations, o.MicroBatch = 0.5, 2, 3
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 2, 4, 6
	r := &run{o: &o, obj: Objective{Epsilon: 0.2, Beta: o.Beta}, prompts: testPrompts(4, 0)}
	if err := o.fill(); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.rs, err = reward.Resolve(o.Rewards); err != nil {
		t.Fatal(err)
	}
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	// Move the policy off the reference so that the KL term has a gradient.
	params, grads := r.pol.Trainable()
	for _, p := range params {
		for i := range p.Tensor.Data {
			p.Tensor.Data[i] *= 1.3
		}
	}
	groups, err := rollout(context.Background(), r.st, &o, r.rs, r.prompts[:2], 7)
	if err != nil {
		t.Fatal(err)
	}
	// Fixed advantages so the test does not depend on what was sampled.
	for _, g := range groups {
		for i := range g.adv {
			g.adv[i] = float64(i%3) - 1
		}
	}
	b, _ := r.collect(&r.t.State, groups, groups)
	if err := r.logProbs(b); err != nil {
		t.Fatal(err)
	}
	// Shift the sampling policy's log-probabilities so some ratios leave
	// the clip range.
	for j, s := range b.seqs {
		for k := range s.old {
			s.old[k] += 0.3 * float64((j+k)%3-1)
		}
	}
	r.pol.ZeroGrads()
	if _, err := r.objective(b, true); err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, g := range grads {
		for _, x := range g.Tensor.Data {
			norm += float64(x) * float64(x)
		}
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		t.Fatal("zero gradient")
	}
	// Directional derivative along d = g/|g| is |g|.
	saved := make([][]float32, len(params))
	for i, p := range params {
		saved[i] = append([]float32(nil), p.Tensor.Data...)
	}
	lossAt := func(h float64) float64 {
		for i, p := range params {
			g := grads[i].Tensor.Data
			for j := range p.Tensor.Data {
				p.Tensor.Data[j] = saved[i][j] - float32(h*float64(g[j])/norm)
			}
		}
		res, err := r.objective(b, false)
		if err != nil {
			t.Fatal(err)
		}
		return res.loss
	}
	// Backward gives the gradient of -Σcoef·logp = the gradient of L, so
	// stepping against it lowers L at rate |g|.
	const h = 1e-2
	fd := (lossAt(-h) - lossAt(h)) / (2 * h)
	if math.Abs(fd-norm) > 0.05*norm {
		t.Errorf("directional derivative: finite difference %.6f, |grad| %.6f", fd, norm)
	}
}

// fourSteps are the options of a four-step run on init, with adapters of
// the given rank (0: every weight), whose steps carry a gradient.
func fourSteps(init string, rank int) Options {
	o := Defaults
	o.Model = init
	o.Rewards = map[string]float64{"test_digit_first": 1}
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 4, 8, 2
	o.LR, o.MaxSteps, o.SaveEvery, o.LoRARank = 1e-2, 4, 0, rank
	return o
}

// Ctrl-C keeps a checkpoint, and --resume from it continues as if the run
// had never stopped: same prompts, same samples, same rewards per step;
// with LoRA too, whose checkpoints hold only the adapters and whose OUT
// gets the merged model and the PEFT adapter; and with dynamic sampling,
// whose steps draw several batches.
func TestInterruptAndResume(t *testing.T) {
	init := studenttest.Tiny(t, 3)
	for _, tc := range []struct {
		rank    int
		dynamic bool
	}{{0, false}, {4, false}, {0, true}} {
		rank := tc.rank
		t.Run(fmt.Sprintf("lora-rank=%d,dynamic-sampling=%t", rank, tc.dynamic), func(t *testing.T) {
			base := fourSteps(init, rank)
			base.DynamicSampling = tc.dynamic

			whole := base
			whole.Out = filepath.Join(t.TempDir(), "whole")
			if _, err := Run(context.Background(), whole, testPrompts(5, 1)); err != nil {
				t.Fatal(err)
			}

			parts := base
			parts.Out = filepath.Join(t.TempDir(), "parts")
			ctx, cancel := context.WithCancel(context.Background())
			parts.Step = func(m Metric, _ int) {
				if m.Step == 2 {
					cancel()
				}
			}
			res, err := Run(ctx, parts, testPrompts(5, 1))
			if err != context.Canceled {
				t.Fatalf("interrupted run: err %v, want context.Canceled", err)
			}
			if res.Steps != 2 || !strings.HasSuffix(res.CheckpointPath, "step-00000002") {
				t.Fatalf("interrupted run: %d steps, checkpoint %q", res.Steps, res.CheckpointPath)
			}
			if _, err := os.Stat(filepath.Join(parts.Out, "model.safetensors")); err != nil {
				t.Fatalf("interrupted run did not publish the model: %v", err)
			}
			_, errModel := os.Stat(filepath.Join(res.CheckpointPath, "model.safetensors"))
			_, errAdapter := os.Stat(filepath.Join(res.CheckpointPath, lora.WeightsFile))
			if (errModel == nil) != (rank == 0) || (errAdapter == nil) != (rank > 0) {
				t.Errorf("checkpoint with --lora-rank %d: model %v, adapter %v", rank, errModel, errAdapter)
			}
			parts.Step, parts.Resume = nil, true
			if _, err := Run(context.Background(), parts, testPrompts(5, 1)); err != nil {
				t.Fatal(err)
			}
			a := readMetrics(t, filepath.Join(whole.Out, "metrics.jsonl"))
			b := readMetrics(t, filepath.Join(parts.Out, "metrics.jsonl"))
			if len(a) != 4 || len(b) != 4 {
				t.Fatalf("metrics: %d and %d lines, want 4", len(a), len(b))
			}
			for i := range a {
				if a[i].Step != b[i].Step || a[i].Reward != b[i].Reward || a[i].CompLen != b[i].CompLen ||
					math.Abs(a[i].Loss-b[i].Loss) > 1e-6 || a[i].Skipped != b[i].Skipped || a[i].GenBatches != b[i].GenBatches {
					t.Errorf("step %d: uninterrupted %+v, resumed %+v", i+1, a[i], b[i])
				}
				if tc.dynamic != (a[i].GenBatches > 1) {
					t.Errorf("step %d: %d batches with dynamic sampling %t", i+1, a[i].GenBatches, tc.dynamic)
				}
			}
			if rank == 0 {
				return
			}
			// OUT holds the merged model, and the adapter for the base.
			merged, ad := studenttest.PublishedLoRA(t, whole.Out)
			if ad.Rank != rank || ad.Base != init {
				t.Errorf("adapter rank %d for %s, want %d for %s", ad.Rank, ad.Base, rank, init)
			}
			changed := false
			baseW, err := student.Open(init)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range baseW.Weights.Params() {
				changed = changed || !slices.Equal(p.Tensor.Data, merged.Weights.Params()[i].Tensor.Data)
			}
			if !changed {
				t.Error("the merged model equals the base: the adapters did not train")
			}
		})
	}
}

// Gradient checkpointing recomputes each layer in the policy's backward
// pass and changes nothing else: four GRPO steps give bit-identical losses,
// gradient norms and rewards with and without it, for every weight and for
// LoRA adapters.
func TestGRPOGradientCheckpointing(t *testing.T) {
	init := studenttest.Tiny(t, 3)
	for _, rank := range []int{0, 4} {
		t.Run(fmt.Sprint("lora-rank=", rank), func(t *testing.T) {
			base := fourSteps(init, rank)
			base.Beta = 0.04
			var runs [2][]Metric
			for i, ckpt := range []bool{false, true} {
				o := base
				o.GradientCheckpointing, o.Out = ckpt, filepath.Join(t.TempDir(), "rl")
				if _, err := Run(context.Background(), o, testPrompts(5, 1)); err != nil {
					t.Fatal(err)
				}
				runs[i] = readMetrics(t, filepath.Join(o.Out, "metrics.jsonl"))
			}
			if len(runs[0]) != 4 || len(runs[1]) != 4 {
				t.Fatalf("metrics: %d and %d lines, want 4", len(runs[0]), len(runs[1]))
			}
			for i := range runs[0] {
				a, b := runs[0][i], runs[1][i]
				if a.Loss != b.Loss || a.GradNorm != b.GradNorm || a.Reward != b.Reward || a.KL != b.KL {
					t.Errorf("step %d: without %+v, with checkpointing %+v", i+1, a, b)
				}
			}
			if last := runs[0][3]; last.GradNorm == 0 || last.KL == 0 {
				t.Errorf("last step %+v: no gradient or no KL to compare", last)
			}
		})
	}
}
