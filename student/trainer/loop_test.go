package trainer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/trainer"
)

// decay is a method whose loss is ½|w|² over the trainable parameters (its
// gradient is w itself): the optimiser, schedule and checkpoints are all
// the loop's.
type decay struct {
	t   *trainer.Trainer
	nan int // update step whose loss is NaN (0: none)
}

type metric struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	LR   float64 `json:"lr"`
}

func (d *decay) Step(_ context.Context, s *trainer.State, u *trainer.Update) (metric, error) {
	params, grads := d.t.Graph.Trainable()
	var loss float64
	for i, p := range params {
		copy(grads[i].Tensor.Data, p.Tensor.Data)
		for _, x := range p.Tensor.Data {
			loss += 0.5 * float64(x) * float64(x)
		}
	}
	if s.Step+1 == d.nan {
		loss = math.NaN()
	}
	s.Row++
	s.Tokens += 10
	if _, err := u.Apply(loss); err != nil {
		return metric{}, err
	}
	return metric{Loss: loss, LR: u.LR}, nil
}

func (d *decay) Finish(m metric, p trainer.Progress) (metric, error) {
	m.Step = p.Step
	return m, nil
}

// runOpts vary the loop test's run: adapters of rank (0: every weight),
// cancel after update stopAfter (0: never), a NaN loss at update nan (0:
// none), resume from out's last checkpoint, and a --max-time.
type runOpts struct {
	rank, stopAfter, nan int
	resume               bool
	maxTime              time.Duration
}

// run trains the tiny student in model for six updates into out.
func run(t *testing.T, model, out string, o runOpts) (trainer.Summary, error) {
	t.Helper()
	rank, stopAfter, nan, resume := o.rank, o.stopAfter, o.nan, o.resume
	c := trainer.Config{Out: out, Seed: 1, MicroBatch: 1, SeqLen: 8, LoRA: trainer.LoRA{Rank: rank, Base: model},
		Beta2: 0.999, MaxGradNorm: 1, SaveEvery: 2, KeepCheckpoints: 2, MaxTime: o.maxTime,
		Schedule: trainer.Schedule{Kind: "cosine", Peak: 1e-2, Warmup: 2, Total: 6, MinRatio: 0.1}}
	if err := c.LoRA.Fill(); err != nil {
		t.Fatal(err)
	}
	resumeDir, err := trainer.ResumeDir(out, resume, model, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A full checkpoint holds the weights to go on from; a LoRA one only
	// the adapters, trained on the same base.
	src := model
	if resumeDir != "" && rank == 0 {
		src = resumeDir
	}
	st, err := student.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trainer.New(st, c, resumeDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return trainer.Run(ctx, tr, trainer.Method[metric](&decay{t: tr, nan: nan}), func(m metric, total int) {
		if m.Step == stopAfter {
			cancel()
		}
	})
}

func readMetrics(t *testing.T, path string) []metric {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ms []metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// The loop checkpoints every SaveEvery updates and keeps the newest
// KeepCheckpoints, and a run stopped after an update and resumed logs the
// same losses and learning rates as one that was never stopped: for every
// weight and for LoRA adapters.
func TestRunResumesExactly(t *testing.T) {
	model := studenttest.Tiny(t, 1)
	for _, rank := range []int{0, 2} {
		whole, parts := filepath.Join(t.TempDir(), "whole"), filepath.Join(t.TempDir(), "parts")
		sum, err := run(t, model, whole, runOpts{rank: rank})
		if err != nil || sum.Steps != 6 || !strings.HasSuffix(sum.Checkpoint, "step-00000006") {
			t.Fatalf("rank %d: %+v, %v", rank, sum, err)
		}
		dirs, err := trainer.CheckpointDirs(whole)
		if err != nil || len(dirs) != 2 || !strings.HasSuffix(dirs[0], "step-00000004") {
			t.Fatalf("rank %d: checkpoints %v (%v), want steps 4 and 6", rank, dirs, err)
		}
		if _, err := run(t, model, parts, runOpts{rank: rank, stopAfter: 3}); err != context.Canceled {
			t.Fatalf("rank %d: interrupted run: %v", rank, err)
		}
		sum, err = run(t, model, parts, runOpts{rank: rank, resume: true})
		if err != nil || sum.Steps != 3 {
			t.Fatalf("rank %d: resumed run: %+v, %v", rank, sum, err)
		}
		a, b := readMetrics(t, filepath.Join(whole, "metrics.jsonl")), readMetrics(t, filepath.Join(parts, "metrics.jsonl"))
		if len(a) != 6 || len(b) != 6 {
			t.Fatalf("rank %d: %d and %d metrics lines, want 6", rank, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("rank %d update %d: uninterrupted %+v, resumed %+v", rank, i+1, a[i], b[i])
			}
		}
		if a[5].Loss >= a[0].Loss {
			t.Errorf("rank %d: loss %g -> %g did not fall", rank, a[0].Loss, a[5].Loss)
		}
	}
}

// A non-finite loss stops the run before the update, naming the update
// and the last good checkpoint.
func TestRunStopsOnNonFiniteLoss(t *testing.T) {
	model := studenttest.Tiny(t, 1)
	_, err := run(t, model, t.TempDir(), runOpts{nan: 5})
	if !errors.Is(err, trainer.ErrNonFinite) || !strings.Contains(err.Error(), "update 5") || !strings.Contains(err.Error(), "step-00000004") {
		t.Fatalf("err %v, want ErrNonFinite at update 5 naming checkpoint step-00000004", err)
	}
}

// --max-time bounds the training time over every resume: a checkpoint
// whose state has used the budget resumes into no update at all.
func TestRunMaxTimeSpansResumes(t *testing.T) {
	model := studenttest.Tiny(t, 1)
	out := t.TempDir()
	if _, err := run(t, model, out, runOpts{stopAfter: 2, maxTime: time.Hour}); err != context.Canceled {
		t.Fatalf("interrupted run: %v", err)
	}
	dirs, err := trainer.CheckpointDirs(out)
	if err != nil || len(dirs) == 0 {
		t.Fatalf("checkpoints %v (%v)", dirs, err)
	}
	path := filepath.Join(dirs[len(dirs)-1], "trainer_state.json")
	var st map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if sec, ok := st["seconds"].(float64); !ok || sec <= 0 || sec >= 3600 {
		t.Fatalf("state seconds %v, want the interrupted run's time", st["seconds"])
	}
	st["seconds"] = 3600.0 // as if the first run had taken the hour
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := run(t, model, out, runOpts{resume: true, maxTime: time.Hour})
	if err != nil || sum.Steps != 0 {
		t.Fatalf("resumed past its budget: %+v, %v; want no update", sum, err)
	}
	if sum, err = run(t, model, out, runOpts{resume: true, maxTime: 2 * time.Hour}); err != nil || sum.Steps != 4 {
		t.Fatalf("resumed within its budget: %+v, %v; want the 4 updates left", sum, err)
	}
}
