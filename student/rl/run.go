// Package rl improves a student with GRPO (DeepSeekMath, DeepSeek-R1):
// groups of completions sampled from the current policy, rule-based rewards
// (dataset/reward) normalised within each group into advantages, and the
// clipped ratio objective with a KL penalty to the frozen starting model,
// aggregated over all completion tokens of a batch.
//
// Of ours it may import only `dataset/reward`, `record`, `student`,
// `student/checkpoint`, `student/graph`, `student/memory`, `student/model`,
// `student/tokenizer` and `student/train`.
package rl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/train"
)

// Options configure one GRPO run. Zero values of the counts take the
// defaults in Defaults; Beta 0 is kept (no KL penalty, no reference model).
type Options struct {
	Model          string             `yaml:"model" path:"model" flag:"model" usage:"HF checkpoint directory: the starting policy and the KL reference"`
	Out            string             `yaml:"out" flag:"out" usage:"output directory: the model in HF layout, metrics.jsonl, checkpoints/"`
	UserTemplate   string             `yaml:"-"` // user message with "{problem}"; "" sends the problem alone
	PromptsPerStep int                `yaml:"prompts_per_step" flag:"prompts-per-step"`
	NumGenerations int                `yaml:"num_generations" flag:"num-generations" usage:"completions sampled per prompt (the group size G)"`
	Temperature    float64            `yaml:"temperature" flag:"temperature"`
	TopP           float64            `yaml:"top_p" flag:"top-p"`
	MaxNewTokens   int                `yaml:"max_new_tokens" flag:"max-new-tokens"`
	Rewards        map[string]float64 `yaml:"rewards" flag:"reward" usage:"NAME=WEIGHT, repeatable (default accuracy=1)"`
	ScaleRewards   string             `yaml:"scale_rewards" flag:"scale-rewards" usage:"group (divide by the group's std, GRPO) or none (mean-centred only, Dr. GRPO)"`
	Epsilon        float64            `yaml:"epsilon" flag:"epsilon" usage:"clip range of the probability ratio"`
	EpsilonHigh    float64            `yaml:"epsilon_high" flag:"epsilon-high" usage:"upper clip range (DAPO's clip-higher; 0: --epsilon)"`
	Beta           float64            `yaml:"beta" flag:"beta" usage:"KL penalty to the starting model (0: none, and no reference model)"`
	NumIterations  int                `yaml:"num_iterations" flag:"num-iterations" usage:"policy updates per sampled batch (μ)"`
	LR             float64            `yaml:"lr" flag:"lr" usage:"learning rate (RL wants it far below SFT's)"`
	Schedule       string             `yaml:"schedule" flag:"schedule" usage:"constant, cosine or linear (after the warmup)"`
	WarmupSteps    int                `yaml:"warmup_steps" flag:"warmup-steps"`
	MinLRRatio     float64            `yaml:"min_lr_ratio"`
	WeightDecay    float64            `yaml:"weight_decay" flag:"weight-decay"`
	MaxGradNorm    float64            `yaml:"max_grad_norm" flag:"max-grad-norm" usage:"clip the global gradient norm (0: off)"`
	MaxSteps       int                `yaml:"max_steps" flag:"max-steps" usage:"steps to run (0: one pass over the prompts)"` // 0: one pass over the prompts
	MaxTime        time.Duration      `yaml:"max_time" flag:"max-time" usage:"stop and save after this long, e.g. 10m (0: no limit)"`
	MicroBatch     int                `yaml:"micro_batch" flag:"micro-batch" usage:"sequences per forward pass"`
	SeqLen         int                `yaml:"seq_len" flag:"seq-len" usage:"row length (0: longest prompt + --max-new-tokens)"`
	// GradientCheckpointing keeps one layer's activations in the policy's
	// backward pass instead of all (bit-identical losses, about a third
	// more compute), as for SFT.
	GradientCheckpointing bool   `yaml:"gradient_checkpointing" flag:"gradient-checkpointing" usage:"recompute each layer in the backward pass: one layer's activations in memory, about a third more compute, the same losses"`
	Seed                  uint64 `yaml:"seed" flag:"seed" usage:"seed of the builtin suite, the prompt order and the sampling"`
	SaveEvery             int    `yaml:"save_every" flag:"save-every" usage:"steps between checkpoints"`
	KeepCheckpoints       int    `yaml:"keep_checkpoints"`
	Resume                bool   `yaml:"resume" flag:"resume" usage:"continue from the last checkpoint in --out"`

	// Step is called after every update; nil for none.
	Step func(m Metric, total int) `yaml:"-"`
	// Logf receives one-line messages; nil for none.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Defaults are the settings of a run without flags: the DeepSeekMath/TRL
// GRPO defaults with an RL-sized learning rate (FINDINGS.md: 1e-5 improved
// a tiny SFT student where 2e-4 collapsed it).
var Defaults = Options{
	PromptsPerStep: 16, NumGenerations: 8, Temperature: 1, TopP: 1, MaxNewTokens: 256,
	ScaleRewards: ScaleGroup, Epsilon: 0.2, Beta: 0.001, NumIterations: 1,
	LR: 1e-5, Schedule: "constant", MinLRRatio: 0.1, MaxGradNorm: 1,
	MicroBatch: 16, Seed: 1, SaveEvery: 50, KeepCheckpoints: 2,
}

// Result summarises a run.
type Result struct {
	Steps          int
	Skipped        int     // prompts skipped for an unverifiable reference
	FirstReward    float64 // mean weighted reward of this run's first step
	LastReward     float64 // of its last step
	TokensPerSec   float64
	CheckpointPath string
}

func (o *Options) fill() error {
	d := Defaults
	o.PromptsPerStep = cmp.Or(o.PromptsPerStep, d.PromptsPerStep)
	o.NumGenerations = cmp.Or(o.NumGenerations, d.NumGenerations)
	o.MaxNewTokens = cmp.Or(o.MaxNewTokens, d.MaxNewTokens)
	o.NumIterations = cmp.Or(o.NumIterations, d.NumIterations)
	o.MicroBatch = cmp.Or(o.MicroBatch, d.MicroBatch)
	o.KeepCheckpoints = cmp.Or(o.KeepCheckpoints, d.KeepCheckpoints)
	o.LR = cmp.Or(o.LR, d.LR)
	o.Schedule = cmp.Or(o.Schedule, d.Schedule)
	o.ScaleRewards = cmp.Or(o.ScaleRewards, d.ScaleRewards)
	o.Seed = cmp.Or(o.Seed, d.Seed)
	if o.Rewards == nil {
		o.Rewards = reward.Default()
	}
	if err := train.ParseScheduleKind(o.Schedule); err != nil {
		return err
	}
	if err := ParseScale(o.ScaleRewards); err != nil {
		return err
	}
	switch {
	case o.Model == "":
		return errors.New("--model: the checkpoint directory to start from is required")
	case o.Out == "":
		return errors.New("--out: the output directory is required")
	case o.PromptsPerStep < 0 || o.NumGenerations < 0 || o.MaxNewTokens < 0 || o.NumIterations < 0 || o.MicroBatch < 0 || o.MaxSteps < 0:
		return errors.New("--prompts-per-step, --num-generations, --max-new-tokens, --num-iterations, --micro-batch and --max-steps must be positive")
	case o.NumGenerations < 2:
		return fmt.Errorf("--num-generations %d: GRPO compares completions within a group, it needs at least 2", o.NumGenerations)
	case o.Epsilon < 0 || o.Epsilon >= 1 || o.EpsilonHigh < 0:
		return fmt.Errorf("--epsilon %g / --epsilon-high %g: want 0 ≤ epsilon < 1 and epsilon-high ≥ 0", o.Epsilon, o.EpsilonHigh)
	case o.Beta < 0 || o.LR < 0 || o.WeightDecay < 0 || o.MaxGradNorm < 0 || o.Temperature < 0:
		return errors.New("--beta, --lr, --weight-decay, --max-grad-norm and --temperature must not be negative")
	}
	return nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// run is the state of one GRPO run between steps.
type run struct {
	o        *Options
	rs       []reward.Weighted
	obj      Objective
	st       *student.Student
	pol, ref *graph.Graph
	opt      *train.AdamW
	params   []model.Named
	grads    []model.Named
	seq      int
	gen      checkpoint.GenerationConfig
	prompts  []record.Prompt
	checked  []bool // prompt has a verifiable reference (always true without the accuracy reward)
	state    train.State
}

// Run trains the policy in o.Model with GRPO on prompts. It stops cleanly
// when ctx is cancelled or MaxTime has passed, after saving a checkpoint of
// the last finished update.
func Run(ctx context.Context, o Options, prompts []record.Prompt) (*Result, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	if len(prompts) == 0 {
		return nil, errors.New("--prompts: no prompts")
	}
	rs, err := reward.Resolve(o.Rewards)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	r := &run{o: &o, rs: rs, obj: Objective{Epsilon: o.Epsilon, EpsilonHigh: o.EpsilonHigh, Beta: o.Beta}, prompts: prompts}
	if err := r.setup(); err != nil {
		return nil, err
	}
	return r.loop(ctx)
}

func (r *run) setup() error {
	o := r.o
	var resumeDir string
	if o.Resume {
		dirs, err := train.CheckpointDirs(o.Out)
		if err != nil {
			return err
		}
		if len(dirs) > 0 {
			resumeDir = dirs[len(dirs)-1]
		} else {
			o.logf("--resume: no checkpoint in %s, starting from %s", o.Out, o.Model)
		}
	}
	src := o.Model
	if resumeDir != "" {
		src = resumeDir
	}
	cfg, err := checkpoint.LoadConfig(src)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if r.st, err = student.Open(src); err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if r.gen, err = checkpoint.LoadGenerationConfig(o.Model); err != nil {
		return fmt.Errorf("--model: %w", err)
	}

	// Prompt lengths fix the graph's row length; unverifiable references
	// are found once, up front.
	accuracy := o.Rewards["accuracy"] != 0
	r.checked = make([]bool, len(r.prompts))
	longest, usable := 0, 0
	for i, p := range r.prompts {
		ids, _, err := renderPrompt(r.st, o.UserTemplate, p)
		if err != nil {
			return err
		}
		longest = max(longest, len(ids))
		r.checked[i] = !accuracy || !reward.Unverifiable(p)
		if r.checked[i] {
			usable++
		}
	}
	if usable == 0 {
		return fmt.Errorf("--prompts: none of the %d prompts has a reference the verifier can judge (accuracy reward)", len(r.prompts))
	}
	r.seq = o.SeqLen
	if r.seq == 0 {
		r.seq = longest + o.MaxNewTokens
		if mp := cfg.MaxPositionEmbeddings; mp > 0 {
			r.seq = min(r.seq, mp)
		}
	}
	if longest >= r.seq {
		return fmt.Errorf("--seq-len %d: the longest prompt has %d tokens and leaves no room for a completion", r.seq, longest)
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = (usable + o.PromptsPerStep - 1) / o.PromptsPerStep
	}
	if err := CheckMemory(cfg, o, r.seq, longest); err != nil {
		return err
	}

	w := r.st.Weights
	var opts []graph.Option
	if o.GradientCheckpointing {
		opts = append(opts, graph.GradientCheckpointing())
	}
	if r.pol, err = graph.New(w, o.MicroBatch, r.seq, opts...); err != nil {
		return err
	}
	if o.Beta != 0 {
		// The reference is the starting model, also when resuming.
		refW, err := checkpoint.Load(o.Model)
		if err != nil {
			return fmt.Errorf("--model (reference): %w", err)
		}
		if r.ref, err = graph.New(refW, o.MicroBatch, r.seq, graph.Frozen()); err != nil {
			return err
		}
	}
	// The objective's log-probabilities are those of the distribution the
	// completions were sampled from (logits / temperature), as in TRL;
	// top-p truncation is not modelled.
	if o.Temperature > 0 {
		r.pol.SetTemperature(o.Temperature)
		if r.ref != nil {
			r.ref.SetTemperature(o.Temperature)
		}
	}
	r.params, r.grads = r.pol.Trainable()
	r.opt = train.NewAdamW(r.params, 0.9, 0.999, 1e-8, o.WeightDecay)
	r.state = train.State{Seed: o.Seed}
	if resumeDir != "" {
		if r.state, err = train.LoadState(resumeDir, r.opt, r.params); err != nil {
			return fmt.Errorf("--resume %s: %w", resumeDir, err)
		}
		if r.state.Seed != o.Seed {
			return fmt.Errorf("--resume: checkpoint %s was trained with --seed %d, not %d", resumeDir, r.state.Seed, o.Seed)
		}
		o.logf("resuming from %s at step %d", resumeDir, r.state.Step)
	}
	o.logf("grpo: %d prompts (%d with a verifiable reference), %d steps of %d prompts × %d completions, rows of %d tokens, rewards %v",
		len(r.prompts), usable, o.MaxSteps, o.PromptsPerStep, o.NumGenerations, r.seq, o.Rewards)
	return nil
}

// nextPrompts draws the next prompts in the epoch's shuffled order,
// skipping (and counting) those without a verifiable reference.
func (r *run) nextPrompts() (ps []record.Prompt, skipped int) {
	n := len(r.prompts)
	perm := epochOrder(r.o.Seed, r.state.Epoch, n)
	for len(ps) < r.o.PromptsPerStep {
		if r.state.Row >= n {
			r.state.Epoch++
			r.state.Row = 0
			perm = epochOrder(r.o.Seed, r.state.Epoch, n)
		}
		i := perm[r.state.Row]
		r.state.Row++
		if !r.checked[i] {
			skipped++
			continue
		}
		ps = append(ps, r.prompts[i])
	}
	return ps, skipped
}

func epochOrder(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch)+1)).Perm(n)
}

// stepSeed gives every step its own sampling stream, so a resumed run
// samples what the uninterrupted one would have.
func stepSeed(seed uint64, step int) uint64 {
	return seed ^ (uint64(step)+1)*0x9E3779B97F4A7C15
}

func (r *run) loop(ctx context.Context) (*Result, error) {
	o := r.o
	ml, err := train.OpenMetrics[Metric](filepath.Join(o.Out, "metrics.jsonl"), r.state.Step)
	if err != nil {
		return nil, err
	}
	defer ml.Close()
	sched := train.Schedule{Kind: o.Schedule, Peak: o.LR, Warmup: o.WarmupSteps, Total: o.MaxSteps, MinRatio: o.MinLRRatio}
	res := &Result{}
	start := time.Now()
	tokensAtStart := r.state.Tokens
	var lastGood string
	for r.state.Step < o.MaxSteps {
		if ctx.Err() != nil {
			break
		}
		if o.MaxTime > 0 && time.Since(start) >= o.MaxTime {
			o.logf("--max-time %s reached after %d steps", o.MaxTime, r.state.Step)
			break
		}
		cursor := r.state
		ps, skipped := r.nextPrompts()
		t0 := time.Now()
		groups, err := rollout(ctx, r.st, o, r.rs, ps, stepSeed(o.Seed, r.state.Step))
		if err != nil {
			if ctx.Err() != nil {
				r.state = cursor
				break
			}
			return nil, err
		}
		genSec := time.Since(t0).Seconds()
		t1 := time.Now()
		m, err := r.update(groups, sched.LR(r.state.Step))
		if err != nil {
			if errors.Is(err, train.ErrNonFinite) {
				where := "no checkpoint was written yet"
				if lastGood != "" {
					where = "the last good checkpoint is " + lastGood
				}
				return nil, fmt.Errorf("step %d: %w; %s; try a lower --lr", r.state.Step+1, err, where)
			}
			return nil, err
		}
		r.state.Step++
		r.state.LastLoss = m.Loss
		res.Skipped += skipped
		el := time.Since(start).Seconds()
		m.Step, m.Epoch, m.Skipped = r.state.Step, r.state.Epoch, skipped
		m.Tokens = r.state.Tokens
		m.TokensSec = float64(r.state.Tokens-tokensAtStart) / math.Max(el, 1e-9)
		m.GenSec, m.TrainSec, m.Elapsed = genSec, time.Since(t1).Seconds(), el
		if err := ml.Write(m); err != nil {
			return nil, err
		}
		if o.Step != nil {
			o.Step(m, o.MaxSteps)
		}
		if res.Steps == 0 {
			res.FirstReward = m.Reward.Mean
		}
		res.Steps++
		res.LastReward, res.TokensPerSec = m.Reward.Mean, m.TokensSec
		if o.SaveEvery > 0 && r.state.Step%o.SaveEvery == 0 && r.state.Step < o.MaxSteps {
			if lastGood, err = r.save(); err != nil {
				return nil, err
			}
		}
	}
	if res.Steps == 0 {
		return res, ctx.Err()
	}
	// The final (or interrupted) state: a resumable checkpoint, and the
	// model itself in OUT for eval and serving.
	if lastGood, err = r.save(); err != nil {
		return nil, err
	}
	res.CheckpointPath = lastGood
	if err := train.Publish(lastGood, o.Out); err != nil {
		return nil, err
	}
	return res, ctx.Err()
}

func (r *run) save() (string, error) {
	dir := filepath.Join(r.o.Out, "checkpoints", fmt.Sprintf("step-%08d", r.state.Step))
	if err := r.st.Save(dir, r.gen); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := train.SaveState(dir, r.state, r.opt, r.params); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	dirs, err := train.CheckpointDirs(r.o.Out)
	if err != nil {
		return "", err
	}
	for len(dirs) > r.o.KeepCheckpoints {
		if err := os.RemoveAll(dirs[0]); err != nil {
			return "", err
		}
		dirs = dirs[1:]
	}
	return dir, nil
}
