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

func init() {
	d := train.Defaults
	register(&cli.Command{
		Name:      "train",
		Usage:     "fine-tune a student on the dataset's Parquet shards (SFT on teacher traces)",
		UsageText: "distill train --student PRESET|HF_ID|HF_DIR --data DATA_DIR[:WEIGHT[:MAX_ROWS]]... --out CKPT_DIR [--engine go|trl|auto] [--config FILE]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "YAML file with any of these options (flags override it)"},
			&cli.StringFlag{Name: "student", Usage: "preset (distill models lists them) or HF checkpoint directory"},
			&cli.StringFlag{Name: "init", Usage: "HF checkpoint directory whose weights and tokenizer to start from"},
			&cli.StringSliceFlag{Name: "data", Usage: "dataset directory written by distill filter (or any Parquet with a messages column), as DIR[:WEIGHT[:MAX_ROWS]]: repeat it for a mixture, each source keeping WEIGHT of its train rows (chosen by --seed), at most MAX_ROWS"},
			&cli.StringFlag{Name: "out", Usage: "output directory: the model in HF layout, metrics.jsonl, checkpoints/"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs},
			&cli.IntFlag{Name: "max-steps", Usage: "stop after this many updates (0: the epochs decide)"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "peak learning rate"},
			&cli.Float64Flag{Name: "min-lr-ratio", Value: d.MinLRRatio, Usage: "final learning rate as a fraction of the peak"},
			&cli.IntFlag{Name: "warmup-steps", Value: d.WarmupSteps},
			&cli.StringFlag{Name: "schedule", Value: d.Schedule, Usage: "cosine, linear or constant"},
			&cli.IntFlag{Name: "micro-batch", Value: d.MicroBatch, Usage: "rows of --seq-len tokens per forward pass"},
			&cli.IntFlag{Name: "grad-accum", Value: d.GradAccum, Usage: "micro-batches per update"},
			&cli.IntFlag{Name: "batch-tokens", Usage: "tokens per update; sets --grad-accum from --micro-batch and --seq-len"},
			&cli.IntFlag{Name: "seq-len", Value: d.SeqLen, Usage: "tokens per sequence (at most the student's max_position_embeddings)"},
			&cli.IntFlag{Name: "max-position-embeddings", Usage: "extend the student's context to this many positions (needs --rope-theta beyond its own)"},
			&cli.Float64Flag{Name: "rope-theta", Usage: "RoPE base for an extended context (open-r1: 300000 for 32,768 positions)"},
			&cli.BoolFlag{Name: "packing", Value: d.Packing, Usage: "pack several examples per row (exact: no attention across them)"},
			&cli.BoolFlag{Name: "drop-long", Usage: "drop examples longer than --seq-len instead of truncating them"},
			&cli.Float64Flag{Name: "weight-decay", Value: d.WeightDecay},
			&cli.Float64Flag{Name: "max-grad-norm", Value: d.MaxGradNorm, Usage: "clip the global gradient norm (0: off)"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed},
			&cli.IntFlag{Name: "eval-every", Value: d.EvalEvery, Usage: "updates between held-out losses (test shards)"},
			&cli.IntFlag{Name: "save-every", Value: d.SaveEvery, Usage: "updates between checkpoints"},
			&cli.BoolFlag{Name: "resume", Usage: "continue from the last checkpoint in --out"},
			&cli.StringFlag{Name: "template", Usage: "chat template (chatml, qwen2.5, llama3, deepseek-r1; default: chatml for a fresh student, the checkpoint's own with --init)"},
			&cli.IntFlag{Name: "lora-rank", Usage: "train LoRA adapters of this rank on a frozen base (0: every weight); OUT gets the merged model and OUT/adapter the PEFT adapter"},
			&cli.Float64Flag{Name: "lora-alpha", Usage: "LoRA scale numerator: adapters are scaled by alpha/rank (default 2×rank)"},
			&cli.BoolFlag{Name: "gradient-checkpointing", Usage: "keep only each layer's output and recompute the rest in the backward pass: far less activation memory, about a third more compute"},
			&cli.StringFlag{Name: "lora-targets", Value: "all-linear", Usage: "projections to adapt: all-linear, or a list such as q_proj,v_proj"},
		}, engineFlags()...),
		Action: func(c *cli.Context) error {
			opts := TrainOptions{Options: train.Defaults, EngineOptions: engineDefaults}
			if p := c.String("config"); p != "" {
				if err := loadConfig(p, &opts); err != nil {
					return err
				}
			}
			setIf(c, "student", &opts.Student, c.String)
			setIf(c, "init", &opts.Init, c.String)
			if c.IsSet("data") {
				opts.Data = nil
				for _, v := range c.StringSlice("data") {
					src, err := train.ParseSource(v)
					if err != nil {
						return err
					}
					opts.Data = append(opts.Data, src)
				}
			}
			setIf(c, "out", &opts.Out, c.String)
			setIf(c, "epochs", &opts.Epochs, c.Int)
			setIf(c, "max-steps", &opts.MaxSteps, c.Int)
			setIf(c, "lr", &opts.LR, c.Float64)
			setIf(c, "min-lr-ratio", &opts.MinLRRatio, c.Float64)
			setIf(c, "warmup-steps", &opts.WarmupSteps, c.Int)
			setIf(c, "schedule", &opts.Schedule, c.String)
			setIf(c, "micro-batch", &opts.MicroBatch, c.Int)
			setIf(c, "grad-accum", &opts.GradAccum, c.Int)
			setIf(c, "seq-len", &opts.SeqLen, c.Int)
			setIf(c, "max-position-embeddings", &opts.MaxPositionEmbeddings, c.Int)
			setIf(c, "rope-theta", &opts.RopeTheta, c.Float64)
			setIf(c, "packing", &opts.Packing, c.Bool)
			setIf(c, "drop-long", &opts.DropLong, c.Bool)
			setIf(c, "weight-decay", &opts.WeightDecay, c.Float64)
			setIf(c, "max-grad-norm", &opts.MaxGradNorm, c.Float64)
			setIf(c, "seed", &opts.Seed, c.Uint64)
			setIf(c, "eval-every", &opts.EvalEvery, c.Int)
			setIf(c, "save-every", &opts.SaveEvery, c.Int)
			setIf(c, "resume", &opts.Resume, c.Bool)
			setIf(c, "template", &opts.Template, c.String)
			setIf(c, "lora-rank", &opts.LoRARank, c.Int)
			setIf(c, "lora-alpha", &opts.LoRAAlpha, c.Float64)
			setIf(c, "lora-targets", &opts.LoRATargets, c.String)
			setIf(c, "gradient-checkpointing", &opts.GradientCheckpointing, c.Bool)
			opts.EngineOptions.set(c)
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
