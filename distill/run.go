package distill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

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
		Train:    TrainOptions{Options: train.Defaults, EngineOptions: engineDefaults}, RL: DefaultRLOptions(), Eval: DefaultEvalOptions()}
}

// pretraining is whether the recipe has a pretrain section.
func (o *RunOptions) pretraining() bool { return o.Pretrain.Corpus.Docs > 0 }

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
	name    string
	command string // the equivalent command line, for the record
	output  string // a file the stage writes last: its presence marks it complete
	run     func(ctx context.Context) error
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
			setIf(c, "out", &opts.Out, c.String)
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
	base, baseStages := dir("base"), []runStage{{"base", "(the fresh " + t.Student + " student, saved untrained)",
		filepath.Join(dir("base"), "model.safetensors"),
		func(ctx context.Context) error { return runSaveBase(t.Options, dir("base")) }}}
	switch {
	case t.Init != "":
		base, baseStages = t.Init, []runStage{{"base", "(the checkpoint " + t.Init + ", as it is)",
			filepath.Join(t.Init, "config.json"),
			func(ctx context.Context) error {
				_, err := checkpoint.LoadConfig(t.Init)
				return err
			}}}
	case o.pretraining():
		c := o.Pretrain.Corpus
		c.Out, c.Template = dir("corpus"), cmp.Or(t.Template, "chatml")
		p := TrainOptions{Options: o.Pretrain.Options, EngineOptions: t.EngineOptions}
		p.Student, p.Template, p.MaxPositionEmbeddings, p.RopeTheta = t.Student, t.Template, t.MaxPositionEmbeddings, t.RopeTheta
		p.Data, p.Out = train.Dir(c.Out), base
		baseStages = []runStage{
			{"corpus", fmt.Sprintf("distill corpus --docs %d --test-docs %d --seed %d --template %s --out %s", c.Docs, c.TestDocs, c.Seed, c.Template, c.Out),
				filepath.Join(c.Out, corpus.ManifestName),
				func(ctx context.Context) error { return runCorpus(ctx, c) }},
			trainStage("pretrain", p),
		}
		// SFT starts from the pretrained base.
		t.Student, t.Init = "", base
	}
	evalOf := func(stage, model, teacherSpec string) runStage {
		e := o.Eval
		e.Model, e.Teacher, e.Out, e.Quiet = model, teacherSpec, dir("eval", stage), true
		subject := "--model " + model
		if teacherSpec != "" {
			// The teacher as generate reached it: its model name, key, stream and timeout.
			e.TeacherName, e.APIKeyEnv, e.Stream, e.Timeout, e.Builtin = g.Model, g.APIKeyEnv, g.Stream, g.Timeout, g.Builtin
			subject = "--teacher " + genRedactURL(teacherSpec)
			if e.TeacherName != "" {
				subject += " --teacher-model " + e.TeacherName
			}
		}
		return runStage{"eval-" + stage,
			fmt.Sprintf("distill eval %s --prompts %s --num-prompts %d --samples %d --temperature %g --top-p %g --max-tokens %d --seed %d --out %s",
				subject, e.Prompts, e.NumPrompts, e.Samples, e.Temperature, e.TopP, e.MaxTokens, e.Seed, e.Out),
			filepath.Join(e.Out, "results.json"),
			func(ctx context.Context) error {
				_, err := runEval(ctx, e)
				return err
			}}
	}
	stages := []runStage{
		{"heldout", fmt.Sprintf("(the %d evaluation prompts of %s, seed %d, written to %s)", o.Eval.NumPrompts, o.Eval.Prompts, o.Eval.Seed, heldout),
			heldout,
			func(ctx context.Context) error { return runWriteHeldout(ctx, o.Eval, heldout) }},
		{"generate", fmt.Sprintf("distill generate --teacher %s --prompts %s --num-prompts %d --samples %d --template %s --seed %d --out %s",
			genRedactURL(g.Teacher), g.Prompts, g.NumPrompts, g.Samples, g.Template, g.Seed, g.Out),
			filepath.Join(g.Out, "manifest.json"),
			func(ctx context.Context) error { return runGenerate(ctx, g) }},
		{"filter", fmt.Sprintf("distill filter --in %s --out %s --test-fraction %g", g.Out, f.Out, f.Select.TestFraction),
			filepath.Join(f.Out, "stats.json"),
			func(ctx context.Context) error { return runFilter(ctx, f) }},
	}
	stages = append(append(stages, baseStages...), trainStage("train", t))
	rlFrom := func(name, model string) runStage {
		r := o.RL
		r.Model, r.Out = model, dir(name)
		// From a pretrained base, R1's comparison: GRPO alone gets the wall
		// time distillation's SFT took, however many steps that is.
		equalTime := name == "rl-only" && o.pretraining()
		if equalTime {
			r.MaxSteps = math.MaxInt32
		}
		// GRPO trains on no evaluation problem either.
		r.Decontaminate, r.NGram = append(append([]string(nil), r.Decontaminate...), heldout), cmp.Or(f.Decontam.NGram, r.NGram)
		limit := fmt.Sprintf("--max-steps %d", r.MaxSteps)
		if equalTime {
			limit = fmt.Sprintf("--max-steps %d --max-time <the train stage's seconds>", r.MaxSteps)
		}
		return runStage{name,
			fmt.Sprintf("distill rl --model %s --prompts %s --num-prompts %d --template %s --seed %d --lr %g --num-generations %d --prompts-per-step %d %s --out %s",
				r.Model, r.Prompts, r.NumPrompts, r.Template, r.Seed, r.LR, r.NumGenerations, r.PromptsPerStep, limit, r.Out),
			filepath.Join(r.Out, "model.safetensors"),
			func(ctx context.Context) error {
				if _, err := os.Stat(filepath.Join(r.Out, "checkpoints")); err == nil {
					r.Resume = true
				}
				if equalTime {
					sft, ok := rec.Stages["train"]
					if !ok || !sft.Done {
						return errors.New("GRPO alone gets the SFT stage's wall time, and run.json has no finished train stage")
					}
					r.MaxTime = time.Duration(sft.Seconds * float64(time.Second))
					fmt.Fprintf(os.Stderr, "run: rl-only: --max-time %s, the train stage's time\n", r.MaxTime.Round(time.Second))
				}
				_, err := runRL(ctx, r)
				return err
			}}
	}
	stages = append(stages, rlFrom("rl", t.Out), rlFrom("rl-only", base),
		evalOf("teacher", "", g.Teacher), evalOf("base", base, ""), evalOf("sft", t.Out, ""),
		evalOf("rl", dir("rl"), ""), evalOf("rl-only", dir("rl-only"), ""))
	return stages
}

// trainStage trains t into t.Out; a rerun after an interruption continues
// from the last checkpoint.
func trainStage(name string, t TrainOptions) runStage {
	return runStage{name, trainCommand(t.Options),
		filepath.Join(t.Out, "model.safetensors"),
		func(ctx context.Context) error {
			if _, err := os.Stat(filepath.Join(t.Out, "checkpoints")); err == nil {
				t.Resume = true
			}
			_, err := runTrain(ctx, t)
			return err
		}}
}

// trainCommand is the `distill train` command line a run's train stage
// amounts to, for results.md.
func trainCommand(t train.Options) string {
	from := "--student " + t.Student
	if t.Init != "" {
		from = "--init " + t.Init
	}
	cmd := fmt.Sprintf("distill train %s --data %s --out %s --epochs %d --lr %g --micro-batch %d --grad-accum %d --seq-len %d --seed %d",
		from, t.Data, t.Out, t.Epochs, t.LR, t.MicroBatch, t.GradAccum, t.SeqLen, t.Seed)
	if t.GradientCheckpointing {
		cmd += " --gradient-checkpointing"
	}
	if t.LoRARank > 0 {
		cmd += fmt.Sprintf(" --lora-rank %d --lora-alpha %g --lora-targets %s", t.LoRARank, cmp.Or(t.LoRAAlpha, 2*float64(t.LoRARank)), cmp.Or(t.LoRATargets, "all-linear"))
	}
	return cmd
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
		fmt.Fprintf(os.Stderr, "run: [%d/%d] %s: %s\n", i+1, len(stages), s.name, s.command)
		t0 := time.Now()
		err := s.run(ctx)
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
	fmt.Fprintf(w, "\nEqual wall time: SFT (distillation) %.0f s; GRPO alone %.0f s, %d steps, mean reward %.3f at its first step (accuracy %.3f), %.3f at its last.\n",
		sft.Seconds, rec.Stages["rl-only"].Seconds, last.Step, first.Reward.Mean, first.Rewards["accuracy"].Mean, last.Reward.Mean)
	return nil
}
