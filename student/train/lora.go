package train

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// AdapterDir is where a LoRA run publishes its PEFT adapter, inside OUT
// (next to the merged model).
const AdapterDir = "adapter"

// baseName is the base model a LoRA run's adapters belong to, as written
// in adapter_config.json and checked on resume.
func (o *Options) baseName() string { return cmp.Or(o.Init, o.Student) }

// newAdapters returns the adapters a LoRA run trains: fresh (A from the
// seed, B zero) or those of the checkpoint it resumes, which must have the
// run's rank, alpha, targets and base.
func newAdapters(o *Options, cfg *model.Config, resumeDir string) (*lora.Adapters, error) {
	targets, err := lora.ParseTargets(o.LoRATargets)
	if err != nil {
		return nil, fmt.Errorf("--lora-targets: %w", err)
	}
	if resumeDir == "" {
		a, err := lora.New(cfg, o.LoRARank, o.LoRAAlpha, targets)
		if err != nil {
			return nil, fmt.Errorf("--lora-rank/--lora-alpha: %w", err)
		}
		a.Init(o.Seed)
		a.Base = o.baseName()
		if o.Init == "" && !checkpoint.IsCheckpoint(o.Student) {
			o.logf("warning: --lora-rank on the preset %s trains adapters on randomly initialised weights; pass --init with a trained checkpoint", o.Student)
		}
		return a, nil
	}
	a, err := lora.Load(resumeDir, cfg)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	switch {
	case a.Rank != o.LoRARank || a.Alpha != o.LoRAAlpha || !slices.Equal(a.Targets, targets):
		return nil, fmt.Errorf("--resume: checkpoint %s has LoRA rank %d, alpha %v on %v, not rank %d, alpha %v on %v",
			resumeDir, a.Rank, a.Alpha, a.Targets, o.LoRARank, o.LoRAAlpha, targets)
	case a.Base != o.baseName():
		return nil, fmt.Errorf("--resume: checkpoint %s holds adapters for base %s, not %s", resumeDir, a.Base, o.baseName())
	}
	return a, nil
}

// publishLoRA writes what a finished LoRA run leaves in out: the adapters
// merged into the base as a full HF checkpoint (what eval, rl and
// transformers load), and the adapter itself in out/adapter (what PEFT
// loads on the base). It merges in place, which leaves the graph computing
// the same function (Merge zeroes B).
func publishLoRA(st *student.Student, a *lora.Adapters, ckpt, out string) error {
	if err := Publish(ckpt, filepath.Join(out, AdapterDir)); err != nil {
		return err
	}
	a.Merge(st.Weights)
	tmp := filepath.Join(out, ".merged")
	if err := st.Save(tmp, GenerationConfig(st)); err != nil {
		return fmt.Errorf("merged model: %w", err)
	}
	if err := Publish(tmp, out); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}
