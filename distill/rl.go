package distill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/engine"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/student/rl"
)

// RLOptions configure `distill rl`: the GRPO trainer's options plus where
// its prompts come from.
type RLOptions struct {
	rl.Options `yaml:",inline"`
	Prompts    string `yaml:"prompts" path:"file"` // a .jsonl/.parquet file or builtin:SUITE
	NumPrompts int    `yaml:"num_prompts"`
	Template   string `yaml:"template"` // user message template: r1, r1-zero, plain
	Task       string `yaml:"task"`     // task of every prompt of a file (default: its task column, else gsm8k or math)
	// Decontaminate lists benchmark JSONL files: prompts sharing an n-gram
	// of NGram words with one of their problems are not trained on.
	Decontaminate []string `yaml:"decontaminate" path:"file"`
	NGram         int      `yaml:"ngram"`
	EngineOptions `yaml:",inline"`
}

// DefaultRLOptions are the settings of `distill rl` without flags.
func DefaultRLOptions() RLOptions {
	return RLOptions{Options: rl.Defaults, Prompts: "builtin:arith", NumPrompts: 1000, Template: "r1", NGram: 8, EngineOptions: engineDefaults}
}

func init() {
	d := DefaultRLOptions()
	register(&cli.Command{
		Name:      "rl",
		Usage:     "improve a student with GRPO: groups of sampled answers, rule-based rewards, clipped policy updates",
		UsageText: "distill rl --model CKPT_DIR --prompts FILE|builtin:arith --out CKPT_DIR [--config FILE]",
		Description: "Rewards are chosen and weighted with --reward NAME=WEIGHT (repeatable) or a rewards: map in the config;\n" +
			"available: " + strings.Join(reward.Names(), ", ") + ". Prompts whose reference answer cannot be parsed are skipped and counted.\n" +
			"OUT gets the model in HF layout, metrics.jsonl (one line per step) and checkpoints/step-N (--resume continues from the last).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "YAML file with any of these options (flags override it)"},
			&cli.StringFlag{Name: "model", Usage: "HF checkpoint directory: the starting policy and the KL reference"},
			&cli.StringFlag{Name: "out", Usage: "output directory: the model in HF layout, metrics.jsonl, checkpoints/"},
			&cli.StringFlag{Name: "prompts", Value: d.Prompts, Usage: "a .jsonl/.parquet prompt file or builtin:SUITE"},
			&cli.IntFlag{Name: "num-prompts", Value: d.NumPrompts, Usage: "prompts to use (0: all of a file)"},
			&cli.StringFlag{Name: "template", Value: d.Template, Usage: "user message template: r1, r1-zero or plain (use the one the SFT data was generated with)"},
			&cli.StringFlag{Name: "task", Usage: "task of every prompt of a file, which picks the verifier (default: a task column, else gsm8k or math)"},
			&cli.StringSliceFlag{Name: "decontaminate", Usage: "benchmark JSONL `FILE` (repeatable): prompts sharing an n-gram with one of its problems are not trained on"},
			&cli.IntFlag{Name: "ngram", Value: d.NGram, Usage: "words per n-gram for --decontaminate"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seed of the builtin suite, the prompt order and the sampling"},
			&cli.IntFlag{Name: "prompts-per-step", Value: d.PromptsPerStep},
			&cli.IntFlag{Name: "num-generations", Value: d.NumGenerations, Usage: "completions sampled per prompt (the group size G)"},
			&cli.Float64Flag{Name: "temperature", Value: d.Temperature},
			&cli.Float64Flag{Name: "top-p", Value: d.TopP},
			&cli.IntFlag{Name: "max-new-tokens", Value: d.MaxNewTokens},
			&cli.StringSliceFlag{Name: "reward", Usage: "NAME=WEIGHT, repeatable (default accuracy=1)"},
			&cli.StringFlag{Name: "scale-rewards", Value: d.ScaleRewards, Usage: "group (divide by the group's std, GRPO) or none (mean-centred only, Dr. GRPO)"},
			&cli.Float64Flag{Name: "epsilon", Value: d.Epsilon, Usage: "clip range of the probability ratio"},
			&cli.Float64Flag{Name: "epsilon-high", Usage: "upper clip range (DAPO's clip-higher; 0: --epsilon)"},
			&cli.Float64Flag{Name: "beta", Value: d.Beta, Usage: "KL penalty to the starting model (0: none, and no reference model)"},
			&cli.IntFlag{Name: "num-iterations", Value: d.NumIterations, Usage: "policy updates per sampled batch (μ)"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "learning rate (RL wants it far below SFT's)"},
			&cli.StringFlag{Name: "schedule", Value: d.Schedule, Usage: "constant, cosine or linear (after the warmup)"},
			&cli.IntFlag{Name: "warmup-steps", Value: d.WarmupSteps},
			&cli.Float64Flag{Name: "weight-decay", Value: d.WeightDecay},
			&cli.Float64Flag{Name: "max-grad-norm", Value: d.MaxGradNorm, Usage: "clip the global gradient norm (0: off)"},
			&cli.IntFlag{Name: "max-steps", Usage: "steps to run (0: one pass over the prompts)"},
			&cli.DurationFlag{Name: "max-time", Usage: "stop and save after this long, e.g. 10m (0: no limit)"},
			&cli.IntFlag{Name: "micro-batch", Value: d.MicroBatch, Usage: "sequences per forward pass"},
			&cli.BoolFlag{Name: "gradient-checkpointing", Usage: "recompute each layer in the backward pass: one layer's activations in memory, about a third more compute, the same losses"},
			&cli.IntFlag{Name: "lora-rank", Usage: "train LoRA adapters of this rank on the frozen --model (0: every weight), which stays the KL reference; OUT gets the merged model and OUT/adapter the PEFT adapter"},
			&cli.Float64Flag{Name: "lora-alpha", Usage: "LoRA scale numerator: adapters are scaled by alpha/rank (default 2×rank)"},
			&cli.StringFlag{Name: "lora-targets", Value: "all-linear", Usage: "projections to adapt: all-linear, or a list such as q_proj,v_proj"},
			&cli.IntFlag{Name: "seq-len", Usage: "row length (0: longest prompt + --max-new-tokens)"},
			&cli.IntFlag{Name: "save-every", Value: d.SaveEvery, Usage: "steps between checkpoints"},
			&cli.BoolFlag{Name: "resume", Usage: "continue from the last checkpoint in --out"},
		}, engineFlags()...),
		Action: func(c *cli.Context) error {
			opts := DefaultRLOptions()
			if p := c.String("config"); p != "" {
				if err := loadConfig(p, &opts); err != nil {
					return err
				}
			}
			setIf(c, "model", &opts.Model, c.String)
			setIf(c, "out", &opts.Out, c.String)
			setIf(c, "prompts", &opts.Prompts, c.String)
			setIf(c, "num-prompts", &opts.NumPrompts, c.Int)
			setIf(c, "template", &opts.Template, c.String)
			setIf(c, "task", &opts.Task, c.String)
			setIf(c, "decontaminate", &opts.Decontaminate, c.StringSlice)
			setIf(c, "ngram", &opts.NGram, c.Int)
			setIf(c, "seed", &opts.Seed, c.Uint64)
			setIf(c, "prompts-per-step", &opts.PromptsPerStep, c.Int)
			setIf(c, "num-generations", &opts.NumGenerations, c.Int)
			setIf(c, "temperature", &opts.Temperature, c.Float64)
			setIf(c, "top-p", &opts.TopP, c.Float64)
			setIf(c, "max-new-tokens", &opts.MaxNewTokens, c.Int)
			setIf(c, "scale-rewards", &opts.ScaleRewards, c.String)
			setIf(c, "epsilon", &opts.Epsilon, c.Float64)
			setIf(c, "epsilon-high", &opts.EpsilonHigh, c.Float64)
			setIf(c, "beta", &opts.Beta, c.Float64)
			setIf(c, "num-iterations", &opts.NumIterations, c.Int)
			setIf(c, "lr", &opts.LR, c.Float64)
			setIf(c, "schedule", &opts.Schedule, c.String)
			setIf(c, "warmup-steps", &opts.WarmupSteps, c.Int)
			setIf(c, "weight-decay", &opts.WeightDecay, c.Float64)
			setIf(c, "max-grad-norm", &opts.MaxGradNorm, c.Float64)
			setIf(c, "max-steps", &opts.MaxSteps, c.Int)
			setIf(c, "max-time", &opts.MaxTime, c.Duration)
			setIf(c, "micro-batch", &opts.MicroBatch, c.Int)
			setIf(c, "gradient-checkpointing", &opts.GradientCheckpointing, c.Bool)
			setIf(c, "lora-rank", &opts.LoRARank, c.Int)
			setIf(c, "lora-alpha", &opts.LoRAAlpha, c.Float64)
			setIf(c, "lora-targets", &opts.LoRATargets, c.String)
			setIf(c, "seq-len", &opts.SeqLen, c.Int)
			setIf(c, "save-every", &opts.SaveEvery, c.Int)
			setIf(c, "resume", &opts.Resume, c.Bool)
			opts.EngineOptions.set(c)
			if c.IsSet("reward") {
				ws, err := rlParseRewards(c.StringSlice("reward"))
				if err != nil {
					return err
				}
				opts.Rewards = ws
			}
			_, err := runRL(c.Context, opts)
			return err
		},
	})
}

// rlParseRewards reads --reward NAME=WEIGHT flags (a bare NAME weighs 1).
func rlParseRewards(flags []string) (map[string]float64, error) {
	ws := map[string]float64{}
	for _, f := range flags {
		name, w, ok := strings.Cut(f, "=")
		weight := 1.0
		if ok {
			if _, err := fmt.Sscanf(w, "%g", &weight); err != nil {
				return nil, fmt.Errorf("--reward %q: want NAME=WEIGHT with a number", f)
			}
		}
		if _, err := reward.Lookup(name); err != nil {
			return nil, fmt.Errorf("--reward: %w", err)
		}
		ws[name] = weight
	}
	return ws, nil
}

var rlStopEach = errors.New("enough prompts")

// rlLoadPrompts reads the prompt set into memory: GRPO draws from it in a
// new order every epoch.
func rlLoadPrompts(ctx context.Context, opts RLOptions) ([]record.Prompt, error) {
	g := DefaultGenerateOptions()
	g.Prompts, g.NumPrompts, g.Seed, g.Task = opts.Prompts, opts.NumPrompts, int64(opts.Seed), opts.Task
	if len(opts.Decontaminate) > 0 && strings.HasPrefix(opts.Prompts, "builtin:") {
		// Draw further into the suite (problem i is the same whatever the
		// count) to replace the prompts dropped for overlapping.
		g.NumPrompts = 10*opts.NumPrompts + 1000
	}
	src, err := genPrompts(g)
	if err != nil {
		return nil, err
	}
	var d *dataset.Decontaminator
	if len(opts.Decontaminate) > 0 {
		if d, err = dataset.NewDecontaminator(opts.Decontaminate, opts.NGram); err != nil {
			return nil, fmt.Errorf("--decontaminate: %w", err)
		}
	}
	var ps []record.Prompt
	dropped := 0
	err = src.Each(ctx, func(p record.Prompt) error {
		if opts.NumPrompts > 0 && len(ps) >= opts.NumPrompts {
			return rlStopEach
		}
		if d.Match(p.Problem) != "" {
			dropped++
			return nil
		}
		ps = append(ps, p)
		return nil
	})
	if err != nil && !errors.Is(err, rlStopEach) {
		return nil, fmt.Errorf("--prompts %s: %w", opts.Prompts, err)
	}
	if d != nil {
		fmt.Fprintf(os.Stderr, "rl: %d prompts dropped for overlapping %s (%d-grams)\n", dropped, strings.Join(d.Names(), ", "), opts.NGram)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("--prompts %s: no prompts", opts.Prompts)
	}
	return ps, nil
}

func runRL(ctx context.Context, opts RLOptions) (*rl.Result, error) {
	tmpl, err := sampler.ResolveTemplate(opts.Template, nil)
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	if err := opts.EngineOptions.check(); err != nil {
		return nil, err
	}
	prompts, err := rlLoadPrompts(ctx, opts)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "rl: "+format+"\n", args...) }
	o := opts.Options
	o.UserTemplate = tmpl.Text
	if opts.Engine == "trl" || opts.Engine == "auto" && visibleGPUs() > 0 {
		return nil, runRLEngine(ctx, o, prompts, opts.EngineOptions)
	}
	o.Logf = logf
	var p *progress
	o.Step = func(m rl.Metric, total int) {
		if p == nil {
			p = newProgress(int64(total), "rl")
			p.Add(int64(m.Step - 1)) // a resumed run starts part way
		}
		p.SetStatus(rlStatus(m))
		p.Add(1)
	}
	res, err := rl.Run(ctx, o, prompts)
	if p != nil {
		p.Finish()
	}
	if errors.Is(err, context.Canceled) && res != nil {
		logf("interrupted after %d steps; the checkpoint is in %s (rerun with --resume to continue)", res.Steps, res.CheckpointPath)
		return res, err
	}
	if err != nil {
		return res, err
	}
	logf("%d steps, reward %.3f (%.3f at the first step), %d prompts skipped for an unverifiable reference, %.0f tokens/s; model in %s",
		res.Steps, res.LastReward, res.FirstReward, res.Skipped, res.TokensPerSec, o.Out)
	return res, nil
}

// rlStatus is the progress line of a step: the rewards first.
func rlStatus(m rl.Metric) string {
	names := make([]string, 0, len(m.Rewards))
	for n := range m.Rewards {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "reward %.3f", m.Reward.Mean)
	if len(names) > 1 {
		for _, n := range names {
			fmt.Fprintf(&b, " %s %.3f", n, m.Rewards[n].Mean)
		}
	}
	fmt.Fprintf(&b, " zero-std %.2f kl %.4f clip %.3f len %.0f %.0f tok/s", m.ZeroStdGroups, m.KL, m.ClipFrac, m.CompLen, m.TokensSec)
	return b.String()
}

// runRLEngine hands the GRPO run to TRL; the engine's reward function asks
// `distill reward-server`, run from this binary.
func runRLEngine(ctx context.Context, o rl.Options, prompts []record.Prompt, e EngineOptions) error {
	res, err := e.resources()
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("rl: the distill binary for the reward server: %w", err)
	}
	job, err := engine.GRPO(o, prompts, bin, res)
	if err != nil {
		return err
	}
	return runEngine(ctx, job, e)
}
