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
	Prompts    string `yaml:"prompts" path:"file" flag:"prompts" usage:"a .jsonl/.parquet prompt file or builtin:SUITE"`
	NumPrompts int    `yaml:"num_prompts" flag:"num-prompts" usage:"prompts to use (0: all of a file)"`
	Template   string `yaml:"template" flag:"template" usage:"user message template: r1, r1-zero or plain (use the one the SFT data was generated with)"` // user message template: r1, r1-zero, plain
	Task       string `yaml:"task" flag:"task" usage:"task of every prompt of a file, which picks the verifier (default: a task column, else gsm8k or math)"`
	// Decontaminate lists benchmark JSONL files: prompts sharing an n-gram
	// of NGram words with one of their problems are not trained on.
	Decontaminate []string `yaml:"decontaminate" path:"file" flag:"decontaminate" arg:"FILE" usage:"benchmark JSONL FILE (repeatable): prompts sharing an n-gram with one of its problems are not trained on"`
	NGram         int      `yaml:"ngram" flag:"ngram" usage:"words per n-gram for --decontaminate"`
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
			configFlag(),
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			opts := DefaultRLOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			_, err := runRL(c.Context, opts)
			return err
		},
	})
}

// rlParseRewards reads --reward NAME=WEIGHT flags (a bare NAME weighs 1).
func rlParseRewards(flags []string) (map[string]float64, error) {
	ws, err := parseWeights("reward", flags)
	if err != nil {
		return nil, err
	}
	for name := range ws {
		if _, err := reward.Lookup(name); err != nil {
			return nil, fmt.Errorf("--reward: %w", err)
		}
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
			if total == rl.NoStepLimit {
				total = 0 // a time-limited run: steps done and their rate, no count to reach
			}
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
	if m.GenBatches > 1 {
		fmt.Fprintf(&b, " batches %d", m.GenBatches)
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
