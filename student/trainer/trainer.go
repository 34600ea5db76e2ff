// Package trainer is the one update loop that SFT (student/train) and GRPO
// (student/rl) drive: it owns what a training method does not, the
// optimiser (AdamW with gradient-norm clipping), the learning-rate schedule
// with warmup, the non-finite-loss guard, metrics.jsonl, checkpoints (save
// cadence, rotation, exact resume), LoRA adapters, gradient checkpointing,
// and publishing the final model into OUT. A method supplies one update
// step that computes its gradient and returns its metrics, as TRL's
// GRPOTrainer supplies compute_loss to its Trainer.
//
// Of ours it may import only `internal/atomicfile`, `student`,
// `student/checkpoint`, `student/graph`, `student/lora`, `student/model`
// and `student/safetensors`.
package trainer

import (
	"fmt"
	"time"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
)

// Config is what the loop needs to know of a run.
type Config struct {
	Out        string // OUT: metrics.jsonl, checkpoints/, the published model
	Seed       uint64 // the data order's seed and the adapters' initialisation; a resume with another is refused
	MicroBatch int    // rows of the graph
	SeqLen     int    // tokens per row
	// GradientCheckpointing keeps one layer's activations in the backward
	// pass instead of all (bit-identical losses, about a third more compute).
	GradientCheckpointing bool
	LoRA                  LoRA
	Beta2                 float64 // AdamW's second-moment decay (β1 is 0.9, eps 1e-8)
	WeightDecay           float64
	MaxGradNorm           float64 // 0: no clipping
	Schedule              Schedule
	SaveEvery             int           // updates between checkpoints; 0: only the final one
	KeepCheckpoints       int           // newest checkpoints kept
	MaxTime               time.Duration // stop (and save) after this long; 0: no limit
	// Gen is written with the model's checkpoints and the published model.
	Gen  checkpoint.GenerationConfig
	Logf func(format string, args ...any) // nil for none
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Trainer is a run's model, graph, optimiser and state, ready for Run.
type Trainer struct {
	Student  *student.Student
	Adapters *lora.Adapters // nil: every weight is trained
	Graph    *graph.Graph   // the graph being trained (the adapters on the base, with LoRA)
	State    State

	cfg           Config
	opt           *adamW
	params, grads []model.Named
	resumeDir     string
}

// ResumeDir is the checkpoint a run continues from: with resume, the last
// one in out, else (or when out has none) "" for a fresh start, which is
// logged with what the run starts from instead.
func ResumeDir(out string, resume bool, startsFrom string, logf func(string, ...any)) (string, error) {
	if !resume {
		return "", nil
	}
	dirs, err := CheckpointDirs(out)
	if err != nil {
		return "", err
	}
	if len(dirs) == 0 {
		if logf != nil {
			logf("--resume: no checkpoint in %s, starting from %s", out, startsFrom)
		}
		return "", nil
	}
	return dirs[len(dirs)-1], nil
}

// New builds the graph that trains st (with fresh adapters, or those of
// resumeDir, when c.LoRA.Rank > 0) and its optimiser, and restores the
// optimiser and state of resumeDir when it is not "". st must already hold
// resumeDir's weights when every weight is trained; a LoRA checkpoint holds
// only the adapters, and st is then the base.
func New(st *student.Student, c Config, resumeDir string) (*Trainer, error) {
	t := &Trainer{Student: st, cfg: c, resumeDir: resumeDir, State: State{Seed: c.Seed}}
	w := st.Weights
	var gopts []graph.Option
	if c.GradientCheckpointing {
		gopts = append(gopts, graph.GradientCheckpointing())
	}
	var err error
	if c.LoRA.Rank > 0 {
		if t.Adapters, err = c.LoRA.adapters(w.Config, c.Seed, resumeDir); err != nil {
			return nil, err
		}
		a := t.Adapters
		c.logf("LoRA: rank %d, alpha %g on %v: %d trainable parameters (%.2f%% of %d)", a.Rank, a.Alpha,
			a.Targets, a.NumParams(), 100*float64(a.NumParams())/float64(w.Config.NumParams()), w.Config.NumParams())
		t.Graph, err = graph.NewLoRA(w, a, c.MicroBatch, c.SeqLen, gopts...)
	} else {
		t.Graph, err = graph.New(w, c.MicroBatch, c.SeqLen, gopts...)
	}
	if err != nil {
		return nil, err
	}
	t.params, t.grads = t.Graph.Trainable()
	t.opt = newAdamW(t.params, 0.9, c.Beta2, 1e-8, c.WeightDecay)
	if resumeDir == "" {
		return t, nil
	}
	if t.State, err = loadState(resumeDir, t.opt, t.params); err != nil {
		return nil, fmt.Errorf("--resume %s: %w", resumeDir, err)
	}
	if t.State.Seed != c.Seed {
		return nil, fmt.Errorf("--resume: checkpoint %s was trained with --seed %d, not %d", resumeDir, t.State.Seed, c.Seed)
	}
	c.logf("resuming from %s at update %d", resumeDir, t.State.Step)
	return t, nil
}

// Frozen builds a forward-only graph of the run's starting model for the
// given rows, such as GRPO's reference: with LoRA it shares the base
// weights, which training leaves untouched (PEFT's reference is the model
// with its adapters disabled); else it loads them from base.
func (t *Trainer) Frozen(base string) (*graph.Graph, error) {
	w := t.Student.Weights
	if t.Adapters == nil {
		var err error
		if w, err = checkpoint.Load(base); err != nil {
			return nil, err
		}
	}
	return graph.New(w, t.cfg.MicroBatch, t.cfg.SeqLen, graph.Frozen())
}

// Policy is the model being trained as weights a decoder can sample from:
// the student's own weights, or with LoRA a copy of the base with the
// current adapters added (into dst when it is not nil, which it returns).
func (t *Trainer) Policy(dst *model.Weights) *model.Weights {
	if t.Adapters == nil {
		return t.Student.Weights
	}
	base := t.Student.Weights
	if dst == nil {
		dst = model.NewWeights(base.Config)
	}
	ps := dst.Params()
	for i, p := range base.Params() {
		copy(ps[i].Tensor.Data, p.Tensor.Data)
	}
	t.Adapters.AddTo(dst)
	return dst
}
