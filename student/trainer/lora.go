package trainer

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

// LoRA says whether and how a run trains low-rank adapters on a frozen
// base instead of every weight.
type LoRA struct {
	Rank    int     // 0: train every weight
	Alpha   float64 // scale numerator (alpha/rank); 0: 2·rank
	Targets string  // "all-linear" (also for "") or a list such as "q_proj,v_proj"
	// Base names the base model in adapter_config.json; a resumed run's
	// adapters must name the same.
	Base string
}

// Fill sets the default alpha (2·rank) and checks the values, naming the
// flags.
func (l *LoRA) Fill() error {
	l.Alpha = cmp.Or(l.Alpha, 2*float64(l.Rank))
	if l.Rank < 0 || l.Alpha < 0 {
		return fmt.Errorf("--lora-rank %d and --lora-alpha %g must not be negative", l.Rank, l.Alpha)
	}
	if _, err := lora.ParseTargets(l.Targets); err != nil {
		return fmt.Errorf("--lora-targets: %w", err)
	}
	return nil
}

// adapters returns the adapters a LoRA run trains: fresh (A from the seed,
// B zero) or those of the checkpoint it resumes, which must have the run's
// rank, alpha, targets and base.
func (l LoRA) adapters(cfg *model.Config, seed uint64, resumeDir string) (*lora.Adapters, error) {
	targets, err := lora.ParseTargets(l.Targets)
	if err != nil {
		return nil, fmt.Errorf("--lora-targets: %w", err)
	}
	if resumeDir == "" {
		a, err := lora.New(cfg, l.Rank, l.Alpha, targets)
		if err != nil {
			return nil, fmt.Errorf("--lora-rank/--lora-alpha: %w", err)
		}
		a.Init(seed)
		a.Base = l.Base
		return a, nil
	}
	a, err := lora.Load(resumeDir, cfg)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	switch {
	case a.Rank != l.Rank || a.Alpha != l.Alpha || !slices.Equal(a.Targets, targets):
		return nil, fmt.Errorf("--resume: checkpoint %s has LoRA rank %d, alpha %v on %v, not rank %d, alpha %v on %v",
			resumeDir, a.Rank, a.Alpha, a.Targets, l.Rank, l.Alpha, targets)
	case a.Base != l.Base:
		return nil, fmt.Errorf("--resume: checkpoint %s holds adapters for base %s, not %s", resumeDir, a.Base, l.Base)
	}
	return a, nil
}

// publishLoRA writes what a finished LoRA run leaves in out: the adapters
// merged into the base as a full HF checkpoint (what eval, rl and
// transformers load), and the adapter itself in out/adapter (what PEFT
// loads on the base). It merges in place, which leaves the graph computing
// the same function (Merge zeroes B).
func publishLoRA(st *student.Student, a *lora.Adapters, gen checkpoint.GenerationConfig, ckpt, out string) error {
	if err := publish(ckpt, filepath.Join(out, AdapterDir)); err != nil {
		return err
	}
	a.Merge(st.Weights)
	tmp := filepath.Join(out, ".merged")
	if err := st.Save(tmp, gen); err != nil {
		return fmt.Errorf("merged model: %w", err)
	}
	if err := publish(tmp, out); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}
