package distill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/engine"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/train"
)

// TrainOptions configure `distill train`: the trainer's options, as a
// config file's train section spells them.
type TrainOptions struct {
	train.Options `yaml:",inline"`
	EngineOptions `yaml:",inline"`
	// ExtraData are sources trained on after data: in a `distill run`
	// recipe, whose data is the run's own filter output, the other parts
	// of the mixture (the R1 recipes' non-reasoning chats).
	ExtraData train.Mixture `yaml:"extra_data"`
}

// DefaultTrainOptions are the settings of `distill train` without flags.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Options: train.Defaults, EngineOptions: engineDefaults}
}

func init() {
	d := DefaultTrainOptions()
	register(&cli.Command{
		Name:      "train",
		Usage:     "fine-tune a student on the dataset's Parquet shards (SFT on teacher traces)",
		UsageText: "distill train --student PRESET|HF_ID|HF_DIR --data DATA_DIR[:WEIGHT[:MAX_ROWS]]... --out CKPT_DIR [--engine go|trl|auto] [--config FILE]",
		Flags: append([]cli.Flag{
			configFlag(),
			&cli.IntFlag{Name: "batch-tokens", Usage: "tokens per update; sets --grad-accum from --micro-batch and --seq-len"},
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			opts := DefaultTrainOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			if bt := c.Int("batch-tokens"); bt > 0 {
				per := opts.MicroBatch * opts.SeqLen
				opts.GradAccum = max(1, (bt+per-1)/per)
			}
			_, err := runTrain(c.Context, opts)
			return err
		},
	})
}

func runTrain(ctx context.Context, opts TrainOptions) (*train.Result, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "train: "+format+"\n", args...) }
	if err := opts.EngineOptions.check(); err != nil {
		return nil, err
	}
	eng, err := chooseEngine(opts)
	if err != nil {
		return nil, err
	}
	o := opts.Options
	o.Data = append(slices.Clone(o.Data), opts.ExtraData...)
	if eng == "trl" {
		res, err := opts.EngineOptions.resources()
		if err != nil {
			return nil, err
		}
		if !opts.DryRun { // a dry run's data may not be here yet
			if err := recordMixture(o, logf); err != nil {
				return nil, err
			}
		}
		job, err := engine.SFT(o, res)
		if err != nil {
			return nil, err
		}
		return nil, runEngine(ctx, job, opts.EngineOptions)
	}
	o.Logf = logf
	var p *progress
	o.Step = func(m train.Metric, total int) {
		if p == nil {
			p = newProgress(int64(total), "train")
			p.Add(int64(m.Step - 1)) // a resumed run starts part way
		}
		status := fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", m.Loss, m.LR, m.TokensSec)
		if m.EvalLoss != nil {
			status += fmt.Sprintf(" eval %.4f", *m.EvalLoss)
		}
		p.SetStatus(status)
		p.Add(1)
	}
	res, err := train.Run(ctx, o)
	if p != nil {
		p.Finish()
	}
	if errors.Is(err, context.Canceled) && res != nil {
		logf("interrupted after %d updates; the checkpoint is in %s (rerun with --resume to continue)", res.Steps, res.CheckpointPath)
		return res, err
	}
	if err != nil {
		return res, err
	}
	logf("%s", trainSummary(res, o.Out))
	return res, nil
}

// recordMixture writes what each source of o's mixture gives a TRL job,
// as the Go trainer records it.
func recordMixture(o train.Options, logf func(string, ...any)) error {
	plan, err := train.PlanMixture(o.Data, cmp.Or(o.Seed, train.Defaults.Seed))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	return plan.Record(o.Out, logf)
}

// trainSummary is the line a finished run ends with. Without test shards
// (the filter writes none unless --test-fraction is set) there is no
// held-out loss to report, and the line says so instead of printing NaN.
func trainSummary(res *train.Result, out string) string {
	heldout := "no held-out set (the data has no test split: distill filter --test-fraction makes one)"
	if !math.IsNaN(res.EvalLoss) {
		heldout = fmt.Sprintf("held-out loss %.4f (%.4f before)", res.EvalLoss, res.FirstEvalLoss)
	}
	return fmt.Sprintf("%d updates, loss %.4f, %s, %.0f tokens/s; model in %s", res.Steps, res.Loss, heldout, res.TokensPerSec, out)
}

// chooseEngine resolves --engine auto: the Go trainer when the run fits
// this machine's memory, else TRL when GPUs are visible, else a refusal
// with the figures for both.
func chooseEngine(opts TrainOptions) (string, error) {
	if opts.Engine != "auto" {
		return opts.Engine, nil
	}
	o := opts.Options
	var cfg *model.Config
	var err error
	switch src := cmp.Or(o.Init, o.Student); {
	case checkpoint.IsCheckpoint(src):
		cfg, err = checkpoint.LoadConfig(src)
	default:
		cfg, err = model.LookupPreset(src)
	}
	if err != nil {
		if visibleGPUs() > 0 {
			return "trl", nil // a hub id: only the engine can fetch it
		}
		return "", fmt.Errorf("--engine auto: %w, and no GPU is visible for --engine trl", err)
	}
	memErr := train.CheckMemory(cfg, o.MicroBatch, o.SeqLen, o.MemoryOptions())
	switch {
	case memErr == nil:
		return "go", nil
	case visibleGPUs() > 0:
		return "trl", nil
	}
	return "", fmt.Errorf("--engine auto: no GPU is visible for --engine trl, and the Go trainer cannot run here: %w", memErr)
}
