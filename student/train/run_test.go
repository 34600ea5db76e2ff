package train

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/trainer"
)

// writeArith writes train and test shards of R1-shaped a + b traces.
func writeArith(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	for _, split := range []struct {
		name string
		n    int
	}{{"train", nTrain}, {"test", nTest}} {
		w := dataset.NewShardWriter[dataset.Row](dir, split.name, dataset.ShardOptions{}, func(r *dataset.Row) int { return 100 })
		for i := 0; i < split.n; i++ {
			a, b := rng.IntN(90)+10, rng.IntN(90)+10
			q := fmt.Sprintf("What is %d + %d?", a, b)
			reasoning := fmt.Sprintf("%d + %d = %d", a, b, a+b)
			ans := fmt.Sprintf("\\boxed{%d}", a+b)
			row := dataset.Row{Messages: []dataset.Message{{Role: "user", Content: q}, {Role: "assistant", Content: dataset.R1Assistant(reasoning, ans)}},
				Prompt: q, Reasoning: reasoning, Answer: ans, PromptID: fmt.Sprint(i)}
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func readLosses(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m Metric
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m.Step != len(out)+1 {
			t.Fatalf("%s: step %d after %d lines", path, m.Step, len(out))
		}
		out = append(out, m.Loss)
	}
	return out
}

func nanoOpts(data, out string) Options {
	return Options{Student: "qwen-nano", Data: Dir(data), Out: out, Epochs: 2,
		MicroBatch: 4, GradAccum: 2, SeqLen: 128, Packing: true, Seed: 3, EvalEvery: 1000,
		Options: trainer.Options{LR: 3e-3, WarmupSteps: 5, SaveEvery: 1000}}
}

// A tiny student must learn: the held-out loss falls well below its start.
func TestTrainLearnsAndResumesExactly(t *testing.T) {
	data := t.TempDir()
	writeArith(t, data, 400, 40)

	full := filepath.Join(t.TempDir(), "full")
	res, err := Run(context.Background(), nanoOpts(data, full))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d updates, held-out loss %.3f -> %.3f, %.0f tokens/s", res.Steps, res.FirstEvalLoss, res.EvalLoss, res.TokensPerSec)
	if !(res.EvalLoss < 0.6*res.FirstEvalLoss) {
		t.Errorf("held-out loss %.3f -> %.3f: did not fall below 60%% of its start", res.FirstEvalLoss, res.EvalLoss)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(full, f)); err != nil {
			t.Errorf("output lacks %s", f)
		}
	}

	// Interrupt after 7 updates, resume: the same losses as the run above.
	cut := filepath.Join(t.TempDir(), "cut")
	interrupt(t, nanoOpts(data, cut), 7)
	o := nanoOpts(data, cut)
	o.Resume = true
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	checkSameLosses(t, full, cut)
}

// interrupt runs o and cancels it after the given update.
func interrupt(t *testing.T, o Options, after int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.Step = func(m Metric, total int) {
		if m.Step == after {
			cancel()
		}
	}
	if _, err := Run(ctx, o); err != context.Canceled {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
}

// checkSameLosses compares the losses of an uninterrupted run with those of
// an interrupted and resumed one.
func checkSameLosses(t *testing.T, uninterrupted, resumed string) {
	t.Helper()
	a, b := readLosses(t, filepath.Join(uninterrupted, "metrics.jsonl")), readLosses(t, filepath.Join(resumed, "metrics.jsonl"))
	if len(a) != len(b) {
		t.Fatalf("uninterrupted run logged %d updates, interrupted+resumed %d", len(a), len(b))
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-5*math.Max(1, math.Abs(a[i])) {
			t.Errorf("update %d: loss %.7f uninterrupted, %.7f after resume", i+1, a[i], b[i])
		}
	}
}

// Gradient checkpointing recomputes activations, bit for bit: the same
// losses as without it.
func TestTrainGradientCheckpointing(t *testing.T) {
	data := t.TempDir()
	writeArith(t, data, 100, 10)
	plain, ckpt := filepath.Join(t.TempDir(), "plain"), filepath.Join(t.TempDir(), "ckpt")
	for _, out := range []string{plain, ckpt} {
		o := nanoOpts(data, out)
		o.MaxSteps, o.GradientCheckpointing = 6, out == ckpt
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	checkSameLosses(t, plain, ckpt)
}

func TestTrainRefusesWhatDoesNotFit(t *testing.T) {
	data := t.TempDir()
	writeArith(t, data, 4, 0)
	_, err := Run(context.Background(), Options{Student: "qwen-7b", Data: Dir(data), Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "does not fit") || !strings.Contains(err.Error(), "available") {
		t.Fatalf("qwen-7b on this machine: err = %v, want a does-not-fit error with both numbers", err)
	}
	t.Log(err)
}

// --template with --init replaces the checkpoint's chat template (it was
// ignored), and one whose tokens the checkpoint's tokenizer lacks is
// refused, naming the flag.
func TestTrainInitTemplate(t *testing.T) {
	init := studenttest.Real(t, "qwen2", 1)
	data := t.TempDir()
	writeArith(t, data, 8, 0)
	for _, tc := range []struct{ template, want, wantErr string }{
		{"", "qwen2.5", ""},
		{"chatml", "chatml", ""},
		{"llama3", "", "--template llama3"},
	} {
		t.Run(cmp.Or(tc.template, "own"), func(t *testing.T) {
			o := Options{Init: init, Template: tc.template, Data: Dir(data), Out: t.TempDir(), Epochs: 1, MicroBatch: 8, SeqLen: 64, Seed: 1}
			_, err := Run(context.Background(), o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := student.TemplateOf(o.Out)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Name != tc.want {
				t.Errorf("trained checkpoint's template %s, want %s", tmpl.Name, tc.want)
			}
		})
	}
}

// --seq-len beyond the student's context is refused (it was trained on
// positions the model never saw), unless the context is extended with an
// explicit RoPE θ.
func TestTrainSeqLenAgainstContext(t *testing.T) {
	data := t.TempDir()
	writeArith(t, data, 4, 0)
	for _, tc := range []struct {
		name    string
		seqLen  int
		maxPos  int
		theta   float64
		wantErr string
	}{
		{"beyond", 2050, 0, 0, "--seq-len 2050"},
		{"extended without theta", 2050, 2050, 0, "--rope-theta"},
		{"extended", 2050, 2050, 40000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := nanoOpts(data, t.TempDir())
			o.SeqLen, o.MaxPositionEmbeddings, o.RopeTheta, o.MaxSteps, o.Packing = tc.seqLen, tc.maxPos, tc.theta, 1, false
			_, err := Run(context.Background(), o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := checkpoint.LoadConfig(o.Out)
				if err != nil {
					t.Fatal(err)
				}
				if cfg.MaxPositionEmbeddings != tc.maxPos || cfg.RopeTheta != tc.theta {
					t.Errorf("saved context %d, θ %g; want %d, %g", cfg.MaxPositionEmbeddings, cfg.RopeTheta, tc.maxPos, tc.theta)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}
