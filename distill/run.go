package distill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/report"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/eval"
	"github.com/distill-dev/distill/student/train"
)

// RunOptions configure `distill run`: one section per stage, each holding
// that command's options (the run directory fills in the paths).
type RunOptions struct {
	Out      string          `yaml:"out"`
	Generate GenerateOptions `yaml:"generate"`
	Filter   FilterOptions   `yaml:"filter"`
	Train    TrainOptions    `yaml:"train"`
	RL       RLOptions       `yaml:"rl"` // GRPO after SFT, and alone from the untrained student
	Eval     EvalOptions     `yaml:"eval"`
	// Stages to skip, by name (e.g. [rl-only] for a shorter run).
	Skip []string `yaml:"skip"`
}

// DefaultRunOptions are every stage's defaults.
func DefaultRunOptions() RunOptions {
	return RunOptions{Out: filepath.Join("runs", "quickstart"), Generate: DefaultGenerateOptions(), Filter: DefaultFilterOptions(),
		Train: DefaultTrainOptions(), RL: DefaultRLOptions(), Eval: DefaultEvalOptions()}
}

// runStage is one step of the pipeline.
type runStage struct {
	name    string
	command string // the equivalent command line, for the record
	output  string // a file the stage writes last: its presence marks it complete
	run     func(ctx context.Context) error
	// The --config file of command, for the options no flag gives, and
	// its path; none when conf is nil.
	conf     []byte
	confPath string
}

// stageCommand is a stage as the command `distill NAME` with the options
// opts, whose defaults are defaults: a flag for each option that differs,
// and a config file in the run directory (RUN/commands/STAGE.yaml) for
// those no flag gives.
func stageCommand(runDir, stage, name string, opts, defaults any) runStage {
	args, conf := commandArgs(opts, defaults)
	s := runStage{name: stage}
	line := append([]string{"distill", name}, args...)
	if conf != nil {
		b, err := yaml.Marshal(conf)
		if err != nil {
			panic(fmt.Sprintf("%s: options that do not marshal: %v", stage, err)) // options structs hold plain values
		}
		s.conf, s.confPath = b, filepath.Join(runDir, "commands", stage+".yaml")
		line = append(line[:2:2], append([]string{"--config", s.confPath}, args...)...)
	}
	s.command = shellLine(line)
	return s
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

func runStages(o *RunOptions) []runStage {
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
	// The untrained student: the fresh preset, saved; or the checkpoint the
	// recipe starts from (train.init), used where it is.
	base, baseStage := dir("base"), runStage{name: "base", command: "(the fresh " + t.Student + " student, saved untrained)",
		output: filepath.Join(dir("base"), "model.safetensors"),
		run:    func(ctx context.Context) error { return runSaveBase(t.Options, dir("base")) }}
	if t.Init != "" {
		base, baseStage = t.Init, runStage{name: "base", command: "(the checkpoint " + t.Init + ", as it is)",
			output: filepath.Join(t.Init, "config.json"),
			run: func(ctx context.Context) error {
				_, err := checkpoint.LoadConfig(t.Init)
				return err
			}}
	}
	evalOf := func(stage, model, teacherSpec string) runStage {
		e := o.Eval
		e.Model, e.Teacher, e.Out, e.Quiet = model, teacherSpec, dir("eval", stage), true
		if teacherSpec != "" {
			// The teacher as generate reached it: its model name, key, stream and timeout.
			e.TeacherName, e.APIKeyEnv, e.Stream, e.Timeout, e.Builtin = g.Model, g.APIKeyEnv, g.Stream, g.Timeout, g.Builtin
		}
		s := stageCommand(o.Out, "eval-"+stage, "eval", e, DefaultEvalOptions())
		s.output = filepath.Join(e.Out, "results.json")
		s.run = func(ctx context.Context) error {
			_, err := runEval(ctx, e)
			return err
		}
		return s
	}
	gen := stageCommand(o.Out, "generate", "generate", g, DefaultGenerateOptions())
	gen.output, gen.run = filepath.Join(g.Out, "manifest.json"), func(ctx context.Context) error { return runGenerate(ctx, g) }
	filt := stageCommand(o.Out, "filter", "filter", f, DefaultFilterOptions())
	filt.output, filt.run = filepath.Join(f.Out, "stats.json"), func(ctx context.Context) error { return runFilter(ctx, f) }
	tr := stageCommand(o.Out, "train", "train", t, DefaultTrainOptions())
	tr.output, tr.run = filepath.Join(t.Out, "model.safetensors"), func(ctx context.Context) error {
		// A rerun after an interruption continues from the last checkpoint.
		if _, err := os.Stat(filepath.Join(t.Out, "checkpoints")); err == nil {
			t.Resume = true
		}
		_, err := runTrain(ctx, t)
		return err
	}
	stages := []runStage{
		{name: "heldout", command: fmt.Sprintf("(the %d evaluation prompts of %s, seed %d, written to %s)", o.Eval.NumPrompts, o.Eval.Prompts, o.Eval.Seed, heldout),
			output: heldout,
			run:    func(ctx context.Context) error { return runWriteHeldout(ctx, o.Eval, heldout) }},
		gen, filt, baseStage, tr,
	}
	rlFrom := func(name, model string) runStage {
		r := o.RL
		r.Model, r.Out = model, dir(name)
		// GRPO trains on no evaluation problem either.
		r.Decontaminate, r.NGram = append(append([]string(nil), r.Decontaminate...), heldout), cmp.Or(f.Decontam.NGram, r.NGram)
		s := stageCommand(o.Out, name, "rl", r, DefaultRLOptions())
		s.output = filepath.Join(r.Out, "model.safetensors")
		s.run = func(ctx context.Context) error {
			if _, err := os.Stat(filepath.Join(r.Out, "checkpoints")); err == nil {
				r.Resume = true
			}
			_, err := runRL(ctx, r)
			return err
		}
		return s
	}
	stages = append(stages, rlFrom("rl", t.Out), rlFrom("rl-only", base),
		evalOf("teacher", "", g.Teacher), evalOf("base", base, ""), evalOf("sft", t.Out, ""),
		evalOf("rl", dir("rl"), ""), evalOf("rl-only", dir("rl-only"), ""))
	return stages
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
	stages := runStages(&opts)
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
		fmt.Fprintf(os.Stderr, "run: [%d/%d] %s: %s\n", i+1, len(stages), s.name, s.command)
		t0 := time.Now()
		var err error
		if s.conf != nil {
			if err = os.MkdirAll(filepath.Dir(s.confPath), 0o755); err == nil {
				err = atomicfile.WriteFile(s.confPath, s.conf, 0o644)
			}
		}
		if err == nil {
			err = s.run(ctx)
		}
		rec.Stages[s.name] = report.StageRecord{Done: err == nil, Seconds: time.Since(t0).Seconds(), Command: s.command}
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
	rows := []struct{ stage, label string }{
		{"teacher", "teacher (" + genRedactURL(opts.Generate.Teacher) + ")"},
		{"base", "student before training"},
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
