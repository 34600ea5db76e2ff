// Package rl improves a student with GRPO (DeepSeekMath, DeepSeek-R1):
// groups of completions sampled from the current policy, rule-based rewards
// (dataset/reward) normalised within each group into advantages, and the
// clipped ratio objective with a KL penalty to the frozen starting model,
// aggregated over all completion tokens of a batch.
//
// The update loop (optimiser, schedule, checkpoints, LoRA, publishing) is
// student/trainer's; a GRPO step samples, rewards and computes the
// objective's gradient. With LoRA the reference is the base without the
// adapters, as in PEFT.
//
// Of ours it may import only `dataset/reward`, `record`, `student`,
// `student/checkpoint`, `student/graph`, `student/memory`, `student/model`,
// `student/tokenizer` and `student/trainer`.
package rl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/graph"
	"github.com/distill-dev/distill/student/trainer"
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
	MaxSteps       int                `yaml:"max_steps" flag:"max-steps" usage:"steps to run (0: one per batch of --prompts-per-step prompts in the set, a pass over it without --dynamic-sampling)"`
	MaxTime        time.Duration      `yaml:"max_time" flag:"max-time" usage:"stop and save after this long, e.g. 10m (0: no limit)"`
	MicroBatch     int                `yaml:"micro_batch" flag:"micro-batch" usage:"sequences per forward pass"`
	SeqLen         int                `yaml:"seq_len" flag:"seq-len" usage:"row length (0: longest prompt + --max-new-tokens)"`
	Seed           uint64             `yaml:"seed" flag:"seed" usage:"seed of the builtin suite, the prompt order and the sampling"`
	// DynamicSampling is DAPO's: a group whose completions all get the
	// same reward has zero advantages and no gradient, so the step
	// samples further batches until it has PromptsPerStep groups whose
	// rewards differ, or MaxGenBatches batches.
	DynamicSampling bool `yaml:"dynamic_sampling" flag:"dynamic-sampling" usage:"DAPO's dynamic sampling: sample further batches of --prompts-per-step prompts until the step has that many groups whose rewards differ (groups all right or all wrong have no gradient)"`
	MaxGenBatches   int  `yaml:"max_gen_batches" flag:"max-gen-batches" usage:"with --dynamic-sampling: batches sampled for one step at most; the step then trains on the groups with a signal it has"`
	// The loop's options: schedule, optimiser, checkpoints, LoRA.
	trainer.Options `yaml:",inline"`

	// Step is called after every update; nil for none.
	Step func(m Metric, total int) `yaml:"-"`
	// Logf receives one-line messages; nil for none.
	Logf func(format string, args ...any) `yaml:"-"`
}

// NoStepLimit as MaxSteps runs until MaxTime or an interruption ends the
// run (GRPO alone at another stage's wall time); the schedule then keeps the
// peak learning rate after warmup, since no end is known to decay towards.
const NoStepLimit = math.MaxInt32

// Defaults are the settings of a run without flags: the DeepSeekMath/TRL
// GRPO defaults with an RL-sized learning rate (measured: 1e-5 improved
// a tiny SFT student where 2e-4 collapsed it).
var Defaults = Options{
	PromptsPerStep: 16, NumGenerations: 8, Temperature: 1, TopP: 1, MaxNewTokens: 256,
	ScaleRewards: ScaleGroup, Epsilon: 0.2, Beta: 0.001, NumIterations: 1,
	MicroBatch: 16, Seed: 1, MaxGenBatches: 10,
	Options: trainer.Options{LR: 1e-5, Schedule: "constant", MinLRRatio: 0.1, MaxGradNorm: 1, SaveEvery: 50, KeepCheckpoints: 2},
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
	o.MaxGenBatches = cmp.Or(o.MaxGenBatches, d.MaxGenBatches)
	o.KeepCheckpoints = cmp.Or(o.KeepCheckpoints, d.KeepCheckpoints)
	o.LR = cmp.Or(o.LR, d.LR)
	o.Schedule = cmp.Or(o.Schedule, d.Schedule)
	o.ScaleRewards = cmp.Or(o.ScaleRewards, d.ScaleRewards)
	o.Seed = cmp.Or(o.Seed, d.Seed)
	if o.Rewards == nil {
		o.Rewards = reward.Default()
	}
	if err := trainer.ParseScheduleKind(o.Schedule); err != nil {
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
	case o.PromptsPerStep < 0 || o.NumGenerations < 0 || o.MaxNewTokens < 0 || o.NumIterations < 0 || o.MicroBatch < 0 || o.MaxSteps < 0 || o.MaxGenBatches < 0:
		return errors.New("--prompts-per-step, --num-generations, --max-new-tokens, --num-iterations, --micro-batch, --max-steps and --max-gen-batches must be positive")
	case o.NumGenerations < 2:
		return fmt.Errorf("--num-generations %d: GRPO compares completions within a group, it needs at least 2", o.NumGenerations)
	case o.Epsilon < 0 || o.Epsilon >= 1 || o.EpsilonHigh < 0:
		return fmt.Errorf("--epsilon %g / --epsilon-high %g: want 0 ≤ epsilon < 1 and epsilon-high ≥ 0", o.Epsilon, o.EpsilonHigh)
	case o.Beta < 0 || o.LR < 0 || o.WeightDecay < 0 || o.MaxGradNorm < 0 || o.Temperature < 0:
		return errors.New("--beta, --lr, --weight-decay, --max-grad-norm and --temperature must not be negative")
	}
	return o.FillLoRA()
}

// lora is o's LoRA configuration; the adapters belong to --model.
func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// run is GRPO as the trainer's method: the state of one run between steps.
type run struct {
	o        *Options
	rs       []reward.Weighted
	obj      Objective
	st       *student.Student
	t        *trainer.Trainer
	pol, ref *graph.Graph
	// sampler is the policy the completions are sampled from: st itself,
	// or with LoRA a copy of the base with the adapters added.
	sampler *student.Student
	seq     int
	gen     checkpoint.GenerationConfig
	prompts []record.Prompt
	checked []bool // prompt has a verifiable reference (always true without the accuracy reward)
	res     *Result
	trainAt time.Time // when the current step's update began
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
	r := &run{o: &o, rs: rs, obj: Objective{Epsilon: o.Epsilon, EpsilonHigh: o.EpsilonHigh, Beta: o.Beta}, prompts: prompts, res: &Result{}}
	if err := r.setup(); err != nil {
		return nil, err
	}
	sum, err := trainer.Run(ctx, r.t, trainer.Method[Metric](r), o.Step)
	if err != nil && err != ctx.Err() {
		return nil, err
	}
	r.res.CheckpointPath = sum.Checkpoint
	return r.res, err
}

func (r *run) setup() error {
	o := r.o
	resumeDir, err := trainer.ResumeDir(o.Out, o.Resume, o.Model, o.Logf)
	if err != nil {
		return err
	}
	// A LoRA checkpoint holds only the adapters: the base is always --model.
	src := o.Model
	if resumeDir != "" && o.LoRARank == 0 {
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

	c := o.Options.Config(o.Model, o.MaxSteps)
	c.Out, c.Seed, c.MicroBatch, c.SeqLen, c.Beta2, c.MaxTime, c.Gen, c.Logf = o.Out, o.Seed, o.MicroBatch, r.seq, 0.999, o.MaxTime, r.gen, o.Logf
	r.t, err = trainer.New(r.st, c, resumeDir)
	if err != nil {
		return err
	}
	r.pol, r.sampler = r.t.Graph, r.st
	if r.t.Adapters != nil {
		sampler := *r.st
		sampler.Weights = nil // allocated by the first Policy: never the base itself
		r.sampler = &sampler
	}
	if o.Beta != 0 {
		// The reference is the starting model, also when resuming.
		if r.ref, err = r.t.Frozen(o.Model); err != nil {
			return fmt.Errorf("--model (reference): %w", err)
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
	o.logf("grpo: %d prompts (%d with a verifiable reference), %d steps of %d prompts × %d completions, rows of %d tokens, rewards %v",
		len(r.prompts), usable, o.MaxSteps, o.PromptsPerStep, o.NumGenerations, r.seq, o.Rewards)
	return nil
}

// nextPrompts draws the next prompts in the epoch's shuffled order,
// skipping (and counting) those without a verifiable reference.
func (r *run) nextPrompts(s *trainer.State) (ps []record.Prompt, skipped int) {
	n := len(r.prompts)
	perm := epochOrder(r.o.Seed, s.Epoch, n)
	for len(ps) < r.o.PromptsPerStep {
		if s.Row >= n {
			s.Epoch++
			s.Row = 0
			perm = epochOrder(r.o.Seed, s.Epoch, n)
		}
		i := perm[s.Row]
		s.Row++
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

// batchSeed gives every batch of every step its own sampling stream, so a
// resumed run samples what the uninterrupted one would have; a step's first
// batch has the same stream with and without dynamic sampling.
func batchSeed(seed uint64, step, batch int) uint64 {
	return seed ^ (uint64(step)+1)*0x9E3779B97F4A7C15 ^ uint64(batch)*0xD1B54A32D192ED03
}

// Step samples the groups of the next prompts from the current policy,
// rewards them and makes the policy updates.
func (r *run) Step(ctx context.Context, s *trainer.State, u *trainer.Update) (Metric, error) {
	cursor := *s
	t0 := time.Now()
	if r.t.Adapters != nil {
		r.sampler.Weights = r.t.Policy(r.sampler.Weights)
	}
	sm, err := r.sample(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			*s = cursor
			return Metric{}, ctx.Err()
		}
		return Metric{}, err
	}
	genSec := time.Since(t0).Seconds()
	r.trainAt = time.Now()
	m, err := r.update(s, sm.groups, sm.train, u)
	m.Skipped, m.GenSec, m.GenBatches = sm.skipped, genSec, sm.batches
	return m, err
}

// sampled is what a step sampled: every group, the groups it trains on,
// the batches and the prompts skipped for an unverifiable reference.
type sampled struct {
	groups, train    []*group
	batches, skipped int
}

// sample draws a batch of PromptsPerStep prompts and samples their groups;
// with DynamicSampling it draws further batches until PromptsPerStep
// groups have a signal (the first ones found are trained on) or
// MaxGenBatches are drawn (it trains on those it found).
func (r *run) sample(ctx context.Context, s *trainer.State) (sampled, error) {
	var sm sampled
	for sm.batches == 0 || r.o.DynamicSampling && len(sm.train) < r.o.PromptsPerStep && sm.batches < r.o.MaxGenBatches {
		ps, skipped := r.nextPrompts(s)
		gs, err := rollout(ctx, r.sampler, r.o, r.rs, ps, batchSeed(r.o.Seed, s.Step, sm.batches))
		if err != nil {
			return sm, err
		}
		sm.batches++
		sm.skipped += skipped
		sm.groups = append(sm.groups, gs...)
		for _, g := range gs {
			if !r.o.DynamicSampling || g.signal() && len(sm.train) < r.o.PromptsPerStep {
				sm.train = append(sm.train, g)
			}
		}
	}
	return sm, nil
}

// Finish adds the loop's count and the update's time, and notes the step
// in the run's result.
func (r *run) Finish(m Metric, p trainer.Progress) (Metric, error) {
	m.Step, m.Epoch, m.Tokens, m.TokensSec, m.Elapsed = p.Step, p.Epoch, p.Tokens, p.TokensSec, p.Elapsed
	m.TrainSec = time.Since(r.trainAt).Seconds()
	res := r.res
	res.Skipped += m.Skipped
	if res.Steps == 0 {
		res.FirstReward = m.Reward.Mean
	}
	res.Steps++
	res.LastReward, res.TokensPerSec = m.Reward.Mean, m.TokensSec
	return m, nil
}
