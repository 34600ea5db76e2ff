package distill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/dataset/corpus"
	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/report"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/eval"
	"github.com/distill-dev/distill/student/rl"
	"github.com/distill-dev/distill/student/train"
)

// RunOptions configure `distill run`: one section per stage, each holding
// that command's options (the run directory fills in the paths).
type RunOptions struct {
	Out      string          `yaml:"out"`
	Generate GenerateOptions `yaml:"generate"`
	Filter   FilterOptions   `yaml:"filter"`
	Pretrain PretrainOptions `yaml:"pretrain"`
	Train    TrainOptions    `yaml:"train"`
	RL       RLOptions       `yaml:"rl"` // GRPO after SFT, and alone from the base
	Eval     EvalOptions     `yaml:"eval"`
	// Stages to skip, by name (e.g. [rl-only] for a shorter run).
	Skip []string `yaml:"skip"`
}

// PretrainOptions are a recipe's pretrain section: a generated corpus
// (its docs, test_docs and seed; the run sets out and the template) and
// next-token training of the fresh train.student on it, into base/, from
// which SFT and GRPO alone both start, as R1's were pretrained models. The
// student, its template and context, and the data and output are the
// run's. Corpus.Docs 0 (a recipe without the section): no pretraining, and
// the base is the fresh student or train.init.
type PretrainOptions struct {
	Corpus        CorpusOptions `yaml:"corpus"`
	train.Options `yaml:",inline"`
}

// DefaultRunOptions are every stage's defaults.
func DefaultRunOptions() RunOptions {
	c := DefaultCorpusOptions()
	c.Docs, c.Template = 0, "" // no pretraining; the template is train's
	return RunOptions{Out: filepath.Join("runs", "quickstart"), Generate: DefaultGenerateOptions(), Filter: DefaultFilterOptions(),
		Pretrain: PretrainOptions{Corpus: c, Options: train.Defaults},
		Train:    DefaultTrainOptions(), RL: DefaultRLOptions(), Eval: DefaultEvalOptions()}
}

// pretraining is whether the recipe has a pretrain section.
func (o *RunOptions) pretraining() bool { return o.Pretrain.Corpus.Docs > 0 }

// pretrainTrain is the pretrain stage's `distill train` options: the
// section's training options on train's student, template, context and
// engine.
func (o *RunOptions) pretrainTrain() TrainOptions {
	t := o.Train
	p := TrainOptions{Options: o.Pretrain.Options, EngineOptions: t.EngineOptions}
	p.Student, p.Template, p.MaxPositionEmbeddings, p.RopeTheta = t.Student, t.Template, t.MaxPositionEmbeddings, t.RopeTheta
	return p
}

// checkPretrain refuses a pretrain section that sets what the run decides,
// or that has no fresh student to pretrain.
func (o *RunOptions) checkPretrain() error {
	p := o.Pretrain
	switch {
	case !o.pretraining():
		return nil
	case o.Train.Init != "":
		return errors.New("pretrain: the recipe starts from train.init; pretraining starts from a fresh train.student")
	case p.Student != "" || p.Init != "" || len(p.Data) > 0 || p.Out != "" || p.Template != "" || p.Corpus.Out != "" || p.Corpus.Template != "":
		return errors.New("pretrain: student, init, data, out and template are the run's (train.student, train.template, the corpus); remove them from the pretrain section")
	case p.LoRARank > 0:
		return errors.New("pretrain: lora_rank: pretraining trains every weight of the fresh student")
	}
	return nil
}

// runStage is one step of the pipeline.
type runStage struct {
	name   string
	output string // a file the stage writes last: its presence marks it complete
	// command is the stage as a command line, for the record; asked for as
	// the stage starts, as GRPO alone's time limit is the SFT stage's time.
	command func() (stageCommand, error)
	run     func(ctx context.Context) error
}

// stageCommand is the command line a stage amounts to, and the --config
// file it names (none when conf is nil) at confPath.
type stageCommand struct {
	line     string
	conf     []byte
	confPath string
}

// commandOf is a stage as the command `distill NAME` with the options
// opts, whose defaults are defaults: a flag for each option that differs,
// and a config file in the run directory (RUN/commands/STAGE.yaml) for
// those no flag gives.
func commandOf(runDir, stage, name string, opts, defaults any) stageCommand {
	args, conf := commandArgs(opts, defaults)
	line := append([]string{"distill", name}, args...)
	var c stageCommand
	if conf != nil {
		b, err := yaml.Marshal(conf)
		if err != nil {
			panic(fmt.Sprintf("%s: options that do not marshal: %v", stage, err)) // options structs hold plain values
		}
		c.conf, c.confPath = b, filepath.Join(runDir, "commands", stage+".yaml")
		line = append(line[:2:2], append([]string{"--config", c.confPath}, args...)...)
	}
	c.line = shellLine(line)
	return c
}

// commandStage is a stage that runs `distill NAME` with opts.
func commandStage(runDir, stage, name string, opts, defaults any, output string, run func(ctx context.Context) error) runStage {
	return runStage{stage, output, func() (stageCommand, error) { return commandOf(runDir, stage, name, opts, defaults), nil }, run}
}

// described is the command of a stage that is no distill command: what it
// does, in words.
func described(text string) func() (stageCommand, error) {
	return func() (stageCommand, error) { return stageCommand{line: text}, nil }
}

func init() {
	register(&cli.Command{
		Name:      "run",
		Usage:     "run the whole pipeline (generate, filter, train, rl, eval) into one run directory",
		UsageText: "distill run --config configs/quickstart.yaml [--out RUN_DIR]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: filepath.Join("configs", "quickstart.yaml"), Usage: "pipeline recipe (YAML)"},
			&cli.StringFlag{Name: "out", Usage: "run directory (default: the recipe's out)"},
			&cli.BoolFlag{Name: "check", Usage: "check the recipe without running it: teacher, key, inputs, the student's context, memory, disk (one line each; non-zero exit on a failure)"},
		},
		Action: func(c *cli.Context) error {
			opts := DefaultRunOptions()
			if err := loadConfig(c.String("config"), &opts); err != nil {
				return err
			}
			if c.IsSet("out") {
				opts.Out = c.String("out")
			}
			if c.Bool("check") {
				return runCheck(c.Context, opts, os.Stdout)
			}
			return runRun(c.Context, c.String("config"), opts)
		},
	})
}

// runStages lists the pipeline's stages. rec is the run's record, which
// the loop fills as stages finish: GRPO alone from a pretrained base reads
// the SFT stage's time from it.
func runStages(o *RunOptions, rec *report.Record) []runStage {
	dir := func(parts ...string) string { return filepath.Join(append([]string{o.Out}, parts...)...) }
	g := o.Generate
	g.Out = dir("raw")
	f := o.Filter
	f.In, f.Out = []string{g.Out}, dir("data")
	// The evaluation prompts are held out: training traces whose problem
	// shares an n-gram with one of them are dropped by the filter.
	heldout := dir("heldout.jsonl")
	f.Decontam.Files = append(append([]string(nil), f.Decontam.Files...), heldout)
	t := o.Train
	// The recipe's extra_data join the run's own traces in the mixture.
	t.Data, t.ExtraData, t.Out = append(train.Dir(f.Out), t.ExtraData...), nil, dir("sft")
	// The base SFT and GRPO alone start from: the fresh preset, saved; the
	// checkpoint the recipe starts from (train.init), used where it is; or
	// the fresh preset pretrained on the corpus.
	base, baseStages := dir("base"), []runStage{{"base", filepath.Join(dir("base"), "model.safetensors"),
		described("(the fresh " + t.Student + " student, saved untrained)"),
		func(ctx context.Context) error { return runSaveBase(t.Options, dir("base")) }}}
	switch {
	case t.Init != "":
		base, baseStages = t.Init, []runStage{{"base", filepath.Join(t.Init, "config.json"),
			described("(the checkpoint " + t.Init + ", as it is)"),
			func(ctx context.Context) error {
				_, err := checkpoint.LoadConfig(t.Init)
				return err
			}}}
	case o.pretraining():
		c := o.Pretrain.Corpus
		c.Out, c.Template = dir("corpus"), cmp.Or(t.Template, "chatml")
		p := o.pretrainTrain()
		p.Data, p.Out = train.Dir(c.Out), base
		baseStages = []runStage{
			commandStage(o.Out, "corpus", "corpus", c, DefaultCorpusOptions(), filepath.Join(c.Out, corpus.ManifestName),
				func(ctx context.Context) error { return runCorpus(ctx, c) }),
			trainStage(o.Out, "pretrain", p),
		}
		// SFT starts from the pretrained base.
		t.Student, t.Init = "", base
	}
	evalOf := func(stage, model, teacherSpec string) runStage {
		e := o.Eval
		e.Model, e.Teacher, e.Out, e.Quiet = model, teacherSpec, dir("eval", stage), true
		if teacherSpec != "" {
			// The teacher as generate reached it: its model name, key, stream and timeout.
			e.TeacherName, e.APIKeyEnv, e.Stream, e.Timeout, e.Builtin = g.Model, g.APIKeyEnv, g.Stream, g.Timeout, g.Builtin
		}
		return commandStage(o.Out, "eval-"+stage, "eval", e, DefaultEvalOptions(), filepath.Join(e.Out, "results.json"),
			func(ctx context.Context) error {
				_, err := runEval(ctx, e)
				return err
			})
	}
	stages := []runStage{
		{"heldout", heldout,
			described(fmt.Sprintf("(the %d evaluation prompts of %s, seed %d, written to %s)", o.Eval.NumPrompts, o.Eval.Prompts, o.Eval.Seed, heldout)),
			func(ctx context.Context) error { return runWriteHeldout(ctx, o.Eval, heldout) }},
		commandStage(o.Out, "generate", "generate", g, DefaultGenerateOptions(), filepath.Join(g.Out, "manifest.json"),
			func(ctx context.Context) error { return runGenerate(ctx, g) }),
		commandStage(o.Out, "filter", "filter", f, DefaultFilterOptions(), filepath.Join(f.Out, "stats.json"),
			func(ctx context.Context) error { return runFilter(ctx, f) }),
	}
	stages = append(append(stages, baseStages...), trainStage(o.Out, "train", t))
	rlFrom := func(name, model string) runStage {
		r := o.RL
		r.Model, r.Out = model, dir(name)
		// From a pretrained base, R1's comparison: GRPO alone gets the wall
		// time distillation's SFT took, however many steps that is.
		equalTime := name == "rl-only" && o.pretraining()
		if equalTime {
			r.MaxSteps = rl.NoStepLimit
		}
		// GRPO trains on no evaluation problem either.
		r.Decontaminate, r.NGram = append(append([]string(nil), r.Decontaminate...), heldout), cmp.Or(f.Decontam.NGram, r.NGram)
		return runStage{name, filepath.Join(r.Out, "model.safetensors"),
			func() (stageCommand, error) {
				if equalTime {
					sft, ok := rec.Stages["train"]
					if !ok || !sft.Done {
						return stageCommand{}, errors.New("GRPO alone gets the SFT stage's wall time, and run.json has no finished train stage")
					}
					r.MaxTime = time.Duration(sft.Seconds * float64(time.Second))
				}
				return commandOf(o.Out, name, "rl", r, DefaultRLOptions()), nil
			},
			func(ctx context.Context) error {
				r.Resume = r.Resume || interrupted(r.Out)
				_, err := runRL(ctx, r)
				return err
			}}
	}
	stages = append(stages, rlFrom("rl", t.Out), rlFrom("rl-only", base),
		evalOf("teacher", "", g.Teacher), evalOf("base", base, ""), evalOf("sft", t.Out, ""),
		evalOf("rl", dir("rl"), ""), evalOf("rl-only", dir("rl-only"), ""))
	return stages
}

// interrupted is whether a training stage left checkpoints in out: its
// rerun continues from the last one.
func interrupted(out string) bool {
	_, err := os.Stat(filepath.Join(out, "checkpoints"))
	return err == nil
}

// trainStage trains t into t.Out; a rerun after an interruption continues
// from the last checkpoint.
func trainStage(runDir, name string, t TrainOptions) runStage {
	return commandStage(runDir, name, "train", t, DefaultTrainOptions(), filepath.Join(t.Out, "model.safetensors"),
		func(ctx context.Context) error {
			t.Resume = t.Resume || interrupted(t.Out)
			_, err := runTrain(ctx, t)
			return err
		})
}

// runWriteHeldout writes the evaluation prompts as JSONL (id, problem,
// answer), the benchmark format the filter decontaminates against.
func runWriteHeldout(ctx context.Context, e EvalOptions, path string) error {
	prompts, err := evalPrompts(ctx, e)
	if err != nil {
		return err
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, p := range prompts {
		if err := enc.Encode(map[string]string{"id": p.ID, "problem": p.Problem, "answer": p.Answer}); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(path, []byte(b.String()), 0o644)
}

// runSaveBase writes the untrained student as a checkpoint, with the
// generation config training writes (it stops at the template's end of
// turn, not only at the tokenizer's EOS).
func runSaveBase(o train.Options, dir string) error {
	st, err := train.NewStudent(&o)
	if err != nil {
		return err
	}
	return st.Save(dir, train.GenerationConfig(st))
}

func runRun(ctx context.Context, configPath string, opts RunOptions) error {
	if opts.Out == "" {
		return errors.New("run: --out (or out: in the recipe) is required")
	}
	if err := opts.checkPretrain(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// Lengths the student cannot hold fail now, not after hours of sampling.
	student, cfg, err := recipeStudent(opts.Train)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if _, err := checkContext(opts, student, cfg); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// So do the recipe's extra_data, which the run does not make itself.
	if len(opts.Train.ExtraData) > 0 {
		if _, err := train.PlanMixture(opts.Train.ExtraData, opts.Train.Seed); err != nil {
			return fmt.Errorf("run: train.extra_data: %w", err)
		}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	recPath := filepath.Join(opts.Out, "run.json")
	rec := report.Record{Config: configPath, Started: time.Now().UTC(), Stages: map[string]report.StageRecord{}}
	if b, err := os.ReadFile(recPath); err == nil {
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s: %w", recPath, err)
		}
	}
	skip := map[string]bool{}
	for _, s := range opts.Skip {
		skip[s] = true
	}
	stages := runStages(&opts, &rec)
	rec.Order = nil
	start := time.Now()
	for i, s := range stages {
		rec.Order = append(rec.Order, s.name)
		if skip[s.name] || skip[strings.TrimPrefix(s.name, "eval-")] { // skipping a stage skips its evaluation
			continue
		}
		if _, err := os.Stat(s.output); err == nil && rec.Stages[s.name].Done {
			fmt.Fprintf(os.Stderr, "run: [%d/%d] %s: done in an earlier run, skipped\n", i+1, len(stages), s.name)
			continue
		}
		cmd, err := s.command()
		if err != nil {
			return fmt.Errorf("run: %s: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "run: [%d/%d] %s: %s\n", i+1, len(stages), s.name, cmd.line)
		t0 := time.Now()
		if cmd.conf != nil {
			if err = os.MkdirAll(filepath.Dir(cmd.confPath), 0o755); err == nil {
				err = atomicfile.WriteFile(cmd.confPath, cmd.conf, 0o644)
			}
		}
		if err == nil {
			err = s.run(ctx)
		}
		secs := time.Since(t0).Seconds()
		if prev := rec.Stages[s.name]; !prev.Done {
			secs += prev.Seconds // an interrupted attempt's time counts too
		}
		rec.Stages[s.name] = report.StageRecord{Done: err == nil, Seconds: secs, Command: cmd.line}
		if werr := atomicfile.WriteJSON(recPath, rec); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("run: interrupted in %s; rerun the same command to continue: %w", s.name, err)
			}
			return fmt.Errorf("run: %s: %w", s.name, err)
		}
	}
	table, err := runSummary(opts, rec)
	if err != nil {
		return err
	}
	page, err := runReport(ctx, ReportOptions{Dir: opts.Out, Quiet: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\n%s\nrun directory: %s (%s); report: %s\n", table, opts.Out, time.Since(start).Round(time.Second), page)
	return nil
}

// runSummary writes results.md: each stage's pass@1 and cons@k on the
// held-out prompts, with the seed and the commands that produced them.
func runSummary(opts RunOptions, rec report.Record) (string, error) {
	base := "student before training"
	if opts.pretraining() {
		base = "pretrained base (no distillation, no RL)"
	}
	rows := []struct{ stage, label string }{
		{"teacher", "teacher (" + genRedactURL(opts.Generate.Teacher) + ")"},
		{"base", base},
		{"sft", "student after SFT (distillation)"},
		{"rl", "student after SFT + GRPO"},
		{"rl-only", "student with GRPO alone (no distillation)"},
	}
	var b strings.Builder
	e := opts.Eval
	fmt.Fprintf(&b, "| model | pass@1 | 95%% CI | cons@%d | 95%% CI | pass@%d |\n|---|---|---|---|---|---|\n", e.Samples, e.Samples)
	for _, r := range rows {
		var res eval.Results
		data, err := os.ReadFile(filepath.Join(opts.Out, "eval", r.stage, "results.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(data, &res); err != nil {
			return "", fmt.Errorf("eval/%s/results.json: %w", r.stage, err)
		}
		fmt.Fprintf(&b, "| %s | %.3f | [%.3f, %.3f] | %.3f | [%.3f, %.3f] | %.3f |\n", r.label, res.PassAt1, res.PassAt1CI.Low, res.PassAt1CI.High,
			res.ConsAtK, res.ConsAtKCI.Low, res.ConsAtKCI.High, res.PassAtK)
	}
	runComparisons(&b, filepath.Join(opts.Out, "eval"))
	if opts.pretraining() {
		if err := rlOnlyBudget(&b, rec, filepath.Join(opts.Out, "rl-only", "metrics.jsonl")); err != nil {
			return "", err
		}
	}
	table := b.String()
	fmt.Fprintf(&b, "\nHeld-out prompts: %d of %s (seed %d), %d samples each at temperature %g, top-p %g, at most %d new tokens.\n",
		e.NumPrompts, e.Prompts, e.Seed, e.Samples, e.Temperature, e.TopP, e.MaxTokens)
	fmt.Fprintf(&b, "\nCommands (from %s):\n\n", rec.Config)
	for _, name := range rec.Order {
		if s, ok := rec.Stages[name]; ok {
			fmt.Fprintf(&b, "- %s (%.0f s): `%s`\n", name, s.Seconds, s.Command)
		}
	}
	doc := "# Results\n\n" + b.String()
	if err := atomicfile.WriteFile(filepath.Join(opts.Out, "results.md"), []byte(doc), 0o644); err != nil {
		return "", err
	}
	return table, nil
}

// rlOnlyBudget writes what GRPO alone from the pretrained base had against
// distillation: its steps and seconds beside the SFT stage's, and the
// reward of its first and last steps (metrics.jsonl), which says whether
// the base gave it any signal.
func rlOnlyBudget(w io.Writer, rec report.Record, metrics string) error {
	sft, ok := rec.Stages["train"]
	data, err := os.ReadFile(metrics)
	if errors.Is(err, os.ErrNotExist) || !ok {
		return nil // a stage the run skipped
	}
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var first, last rl.Metric
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		return fmt.Errorf("%s line 1: %w", metrics, err)
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		return fmt.Errorf("%s line %d: %w", metrics, len(lines), err)
	}
	fmt.Fprintf(w, "\nEqual wall time: SFT (distillation) %.0f s; GRPO alone %.0f s, %d steps, mean reward %.3f at its first step (accuracy %.3f; batches sampled: %d), %.3f at its last.\n",
		sft.Seconds, rec.Stages["rl-only"].Seconds, last.Step, first.Reward.Mean, first.Rewards["accuracy"].Mean,
		first.GenBatches, last.Reward.Mean)
	return nil
}
