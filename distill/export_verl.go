package distill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/export/verl"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
)

// ExportVerlOptions configure `distill export verl`: the prompts as
// `distill rl` reads them, and the GRPO settings of run_grpo.sh.
type ExportVerlOptions struct {
	RL           RLOptions // prompts (file or builtin suite, count, seed, task, template, decontamination) and GRPO settings
	Out          string
	TestFraction float64
	RewardAddr   string
	Log          io.Writer // nil: stderr
}

func init() {
	d := DefaultRLOptions()
	registerExport(&cli.Command{
		Name:      "verl",
		Usage:     "write a verl GRPO job: train/test Parquet in verl's schema, distill_reward.py and run_grpo.sh",
		UsageText: "distill export verl --prompts FILE|builtin:arith --out DIR [--model HF_DIR_OR_ID]",
		Description: "Writes DIR/train.parquet and DIR/test.parquet (data_source, prompt as a chat, ability,\n" +
			"reward_model {style: rule, ground_truth}, extra_info {split, index, id, task, question}),\n" +
			"DIR/distill_reward.py (verl's custom_reward_function, asking distill reward-server) and\n" +
			"DIR/run_grpo.sh, which starts the reward server and runs verl.trainer.main_ppo with GRPO.\n" +
			"Prompts whose reference the verifier cannot parse are left out when accuracy is rewarded.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "prompts", Value: d.Prompts, Usage: "a .jsonl/.parquet prompt file or builtin:SUITE"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR`", Required: true},
			&cli.IntFlag{Name: "num-prompts", Value: d.NumPrompts, Usage: "prompts to use (0: all of a file)"},
			&cli.StringFlag{Name: "template", Value: d.Template, Usage: "user message template: r1, r1-zero or plain"},
			&cli.StringFlag{Name: "task", Usage: "task of every prompt of a file, which picks the verifier (default: a task column, else gsm8k or math)"},
			&cli.StringSliceFlag{Name: "decontaminate", Usage: "benchmark JSONL `FILE` (repeatable): prompts sharing an n-gram with one of its problems are left out"},
			&cli.IntFlag{Name: "ngram", Value: d.NGram, Usage: "words per n-gram for --decontaminate"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seed of the builtin suite"},
			&cli.Float64Flag{Name: "test-fraction", Value: 0.05, Usage: "share of the prompts in test.parquet (verl's validation set), split by prompt id as distill filter does"},
			&cli.StringFlag{Name: "model", Usage: "the checkpoint run_grpo.sh trains, an HF directory or hub id (else it asks for $MODEL)"},
			&cli.IntFlag{Name: "prompts-per-step", Value: d.PromptsPerStep, Usage: "verl's data.train_batch_size"},
			&cli.IntFlag{Name: "num-generations", Value: d.NumGenerations, Usage: "completions per prompt, the group size G (verl's rollout.n)"},
			&cli.IntFlag{Name: "max-new-tokens", Value: d.MaxNewTokens, Usage: "verl's data.max_response_length"},
			&cli.Float64Flag{Name: "temperature", Value: d.Temperature},
			&cli.Float64Flag{Name: "lr", Value: d.LR},
			&cli.Float64Flag{Name: "beta", Value: d.Beta, Usage: "KL penalty to the starting model (verl's kl_loss_coef; 0: none)"},
			&cli.StringSliceFlag{Name: "reward", Usage: "NAME=WEIGHT, repeatable (default accuracy=1)"},
			&cli.StringFlag{Name: "reward-addr", Value: DefaultRewardServerAddr, Usage: "where run_grpo.sh starts distill reward-server"},
		},
		Action: func(c *cli.Context) error {
			opts := ExportVerlOptions{RL: DefaultRLOptions(), Out: c.String("out"),
				TestFraction: c.Float64("test-fraction"), RewardAddr: c.String("reward-addr")}
			o := &opts.RL
			o.Prompts, o.NumPrompts, o.Template, o.Task = c.String("prompts"), c.Int("num-prompts"), c.String("template"), c.String("task")
			o.Decontaminate, o.NGram, o.Seed = c.StringSlice("decontaminate"), c.Int("ngram"), c.Uint64("seed")
			o.Model, o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = c.String("model"), c.Int("prompts-per-step"), c.Int("num-generations"), c.Int("max-new-tokens")
			o.Temperature, o.LR, o.Beta = c.Float64("temperature"), c.Float64("lr"), c.Float64("beta")
			if c.IsSet("reward") {
				ws, err := rlParseRewards(c.StringSlice("reward"))
				if err != nil {
					return err
				}
				o.Rewards = ws
			}
			_, err := runExportVerl(c.Context, opts)
			return err
		},
	})
}

func runExportVerl(ctx context.Context, opts ExportVerlOptions) (verl.Result, error) {
	o := opts.RL
	if o.Rewards == nil {
		o.Rewards = reward.Default()
	}
	if _, err := reward.Resolve(o.Rewards); err != nil {
		return verl.Result{}, fmt.Errorf("--reward: %w", err)
	}
	if opts.TestFraction <= 0 || opts.TestFraction >= 1 {
		return verl.Result{}, fmt.Errorf("--test-fraction %g: want a share in (0, 1): verl needs train and test prompts", opts.TestFraction)
	}
	tmpl, err := sampler.ResolveTemplate(o.Template, nil)
	if err != nil {
		return verl.Result{}, fmt.Errorf("--template: %w", err)
	}
	all, err := rlLoadPrompts(ctx, o)
	if err != nil {
		return verl.Result{}, err
	}
	prompts := all
	if o.Rewards["accuracy"] != 0 {
		prompts = make([]record.Prompt, 0, len(all))
		for _, p := range all {
			if !reward.Unverifiable(p) {
				prompts = append(prompts, p)
			}
		}
	}
	res, err := verl.Write(opts.Out, prompts, verl.Job{
		Model: o.Model, Render: tmpl.Render, TestFraction: opts.TestFraction,
		PromptsPerStep: o.PromptsPerStep, NumGenerations: o.NumGenerations, MaxNewTokens: o.MaxNewTokens,
		Temperature: o.Temperature, LR: o.LR, Beta: o.Beta, Rewards: o.Rewards, RewardAddr: opts.RewardAddr,
	})
	if errors.Is(err, verl.ErrEmptySplit) {
		return res, fmt.Errorf("--test-fraction: %w", err)
	}
	if err != nil {
		return res, fmt.Errorf("export verl: --out %s: %w", opts.Out, err)
	}
	log := opts.Log
	if log == nil {
		log = os.Stderr
	}
	fmt.Fprintf(log, "export verl: %d train and %d test prompts (%d left out for an unverifiable reference), %s and run_grpo.sh in %s\n",
		res.Train, res.Test, len(all)-len(prompts), verl.RewardFile, opts.Out)
	return res, nil
}
