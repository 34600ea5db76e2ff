package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/trainer"
)

// TestLoRA fine-tunes adapters on a briefly trained base: the held-out
// loss falls, the base directory is untouched, OUT holds the merged model
// (computing what the adapted graph computed) and a PEFT adapter that
// merges into the base to the same weights, and an interrupted run resumes
// to the same losses.
func TestLoRA(t *testing.T) {
	data := t.TempDir()
	writeArith(t, data, 300, 40)
	base := filepath.Join(t.TempDir(), "base")
	bo := nanoOpts(data, base)
	bo.MaxSteps = 15
	if _, err := Run(context.Background(), bo); err != nil {
		t.Fatal(err)
	}
	baseBytes, err := os.ReadFile(filepath.Join(base, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}

	loraOpts := func(out string) Options {
		o := nanoOpts(data, out)
		o.Student, o.Init = "", base
		o.LoRARank, o.LoRATargets, o.MaxSteps, o.LR = 4, "q_proj,v_proj,up_proj,down_proj", 24, 1e-2
		return o
	}
	out := filepath.Join(t.TempDir(), "lora")
	res, err := Run(context.Background(), loraOpts(out))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoRA: %d updates, held-out loss %.3f -> %.3f", res.Steps, res.FirstEvalLoss, res.EvalLoss)
	if !(res.EvalLoss < 0.95*res.FirstEvalLoss) {
		t.Errorf("held-out loss %.3f -> %.3f: LoRA did not learn", res.FirstEvalLoss, res.EvalLoss)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "model.safetensors")); !slices.Equal(b, baseBytes) {
		t.Error("the base checkpoint changed")
	}

	// The merged model in OUT computes the held-out loss the run reported
	// (measured as the first held-out loss of a run starting from it).
	check := nanoOpts(data, filepath.Join(t.TempDir(), "check"))
	check.Student, check.Init, check.MaxSteps = "", out, 1
	cres, err := Run(context.Background(), check)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cres.FirstEvalLoss-res.EvalLoss) > 1e-4 {
		t.Errorf("merged model's held-out loss %.6f, run reported %.6f", cres.FirstEvalLoss, res.EvalLoss)
	}
	// The PEFT adapter names its base and merges into it to the published
	// weights.
	_, a := studenttest.PublishedLoRA(t, out)
	if a.Rank != 4 || a.Alpha != 8 || a.Base != base || len(a.Targets) != 4 {
		t.Errorf("adapter rank %d alpha %v base %s targets %v", a.Rank, a.Alpha, a.Base, a.Targets)
	}

	// Interrupt after 9 updates and resume: the same losses.
	cut := filepath.Join(t.TempDir(), "cut")
	interrupt(t, loraOpts(cut), 9)
	ckpts, err := trainer.CheckpointDirs(cut)
	if err != nil || len(ckpts) != 1 {
		t.Fatalf("checkpoints %v, %v", ckpts, err)
	}
	if _, err := os.Stat(filepath.Join(ckpts[0], lora.WeightsFile)); err != nil {
		t.Errorf("a LoRA checkpoint holds the adapter: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ckpts[0], "model.safetensors")); err == nil {
		t.Error("a LoRA checkpoint holds a copy of the model")
	}
	o := loraOpts(cut)
	o.Resume, o.LoRARank = true, 8
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "rank 4") {
		t.Errorf("resume with another rank: err %v", err)
	}
	o.LoRARank = 4
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	checkSameLosses(t, out, cut)
}
