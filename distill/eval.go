package distill

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/eval"
	"github.com/distill-dev/distill/teacher"
)

// EvalOptions configure `distill eval`.
type EvalOptions struct {
	Model       string `yaml:"model" path:"model" flag:"model" usage:"student checkpoint directory (HF layout)"` // checkpoint directory
	Teacher     string `yaml:"teacher" path:"file" flag:"teacher" redact:"url" usage:"evaluate a teacher instead: builtin, http(s)://HOST:PORT/v1 or local:DIR"`
	TeacherName string `yaml:"teacher_model" flag:"teacher-model" usage:"model name to request from an HTTP teacher"`
	APIKeyEnv   string `yaml:"api_key_env" flag:"api-key-env" usage:"environment variable holding the teacher's API key"`
	// An HTTP teacher's connection settings and the builtin teacher's
	// imperfections, as generate takes them.
	Stream      bool          `yaml:"stream" flag:"stream" usage:"stream an HTTP teacher's answers (SSE)"`
	Timeout     time.Duration `yaml:"timeout" flag:"timeout" usage:"an HTTP teacher's time limit per request"`
	Builtin     BuiltinRates  `yaml:"builtin"`
	Prompts     string        `yaml:"prompts" path:"file" flag:"prompts" usage:"a .jsonl/.parquet prompt file or builtin:SUITE"`
	NumPrompts  int           `yaml:"num_prompts" flag:"num-prompts" usage:"prompts to use (0: all of a file)"`
	Template    string        `yaml:"template" flag:"template" usage:"user message template: r1, r1-zero or plain"`
	Samples     int           `yaml:"samples" flag:"samples,k" usage:"samples per prompt (k)"`
	Temperature float64       `yaml:"temperature" flag:"temperature"`
	TopP        float64       `yaml:"top_p" flag:"top-p"`
	MaxTokens   int           `yaml:"max_tokens" flag:"max-tokens" usage:"new tokens per sample"`
	Seed        int64         `yaml:"seed" flag:"seed" usage:"seed of the builtin prompt suite and of sampling (with --compare: of the bootstrap)"`
	Concurrency int           `yaml:"concurrency" flag:"concurrency" usage:"teacher requests in flight"` // teacher requests in flight
	Batch       int           `yaml:"batch" flag:"batch" usage:"sequences a checkpoint generates together"`
	Out         string        `yaml:"out" flag:"out" usage:"directory for results.json and samples.jsonl (with --compare: compare.json)"`
	Quiet       bool          `yaml:"quiet" flag:"quiet" usage:"no table on stdout"`
}

// DefaultEvalOptions are R1's evaluation settings: temperature 0.6, top-p
// 0.95, several samples per prompt.
func DefaultEvalOptions() EvalOptions {
	g := DefaultGenerateOptions()
	return EvalOptions{APIKeyEnv: g.APIKeyEnv, Timeout: g.Timeout, Builtin: g.Builtin, Prompts: "builtin:arith", NumPrompts: 200, Template: "r1",
		Samples: 8, Temperature: 0.6, TopP: 0.95, MaxTokens: 512, Seed: 1234, Concurrency: 16, Batch: 64}
}

func init() {
	d := DefaultEvalOptions()
	register(&cli.Command{
		Name:  "eval",
		Usage: "measure pass@1, pass@k and cons@k of a checkpoint or a teacher",
		UsageText: "distill eval --model CKPT_DIR | --teacher URL|builtin --prompts FILE|builtin:arith --samples K --out DIR\n" +
			"distill eval --compare [--seed N] [--out DIR] A B   (B − A, paired over the prompts of two eval directories)",
		Flags: append([]cli.Flag{
			configFlag(),
			&cli.BoolFlag{Name: "compare", Usage: "compare two eval directories A B given after the flags: B − A paired over their prompts"},
			&cli.IntFlag{Name: "resamples", Value: DefaultCompareOptions().Resamples, Usage: "with --compare: bootstrap resamples and permutation draws"},
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			if c.Bool("compare") {
				return evalCompareAction(c)
			}
			opts := DefaultEvalOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			res, err := runEval(c.Context, opts)
			if err != nil {
				return err
			}
			if !opts.Quiet {
				evalTable(os.Stdout, res)
			}
			return nil
		},
	})
}

// evalCompareAction runs `distill eval --compare A B`: a mode of eval, as the
// comparison is of two evaluations, with its options apart in
// eval_compare.go.
func evalCompareAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return fmt.Errorf("--compare takes two eval directories, A and B, after the flags; got %d arguments %q", c.NArg(), c.Args().Slice())
	}
	for _, f := range []string{"model", "teacher", "config"} {
		if c.IsSet(f) {
			return fmt.Errorf("--%s: --compare reads two finished evaluations and runs none", f)
		}
	}
	opts := DefaultCompareOptions()
	opts.A, opts.B = c.Args().Get(0), c.Args().Get(1)
	// eval's own --seed and --out, and --resamples, set these.
	if err := applyFlags(c, &opts); err != nil {
		return err
	}
	cmp, err := runCompare(c.Context, opts)
	if err != nil {
		return err
	}
	if !c.Bool("quiet") {
		compareTable(os.Stdout, cmp)
	}
	return nil
}

func runEval(ctx context.Context, opts EvalOptions) (*eval.Results, error) {
	switch {
	case (opts.Model == "") == (opts.Teacher == ""):
		return nil, errors.New("give exactly one of --model CKPT_DIR and --teacher URL|builtin|local:DIR")
	case opts.Samples < 1:
		return nil, fmt.Errorf("--samples must be at least 1, got %d", opts.Samples)
	case opts.MaxTokens < 1:
		return nil, fmt.Errorf("--max-tokens must be at least 1, got %d", opts.MaxTokens)
	case opts.Out == "":
		return nil, errors.New("--out: the results directory is required")
	}
	tmpl, err := sampler.ResolveTemplate(opts.Template, nil)
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	prompts, err := evalPrompts(ctx, opts)
	if err != nil {
		return nil, err
	}
	msgs := make([]string, len(prompts))
	for i, p := range prompts {
		msgs[i] = tmpl.Render(p.Problem)
	}

	var gen eval.Generator
	subject := opts.Model
	var p *progress
	if !opts.Quiet {
		p = newProgress(int64(len(prompts)*opts.Samples), "eval")
		defer p.Finish()
	}
	if opts.Model != "" {
		st, err := student.Open(opts.Model)
		if err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		ck := &eval.Checkpoint{Student: st, Batch: opts.Batch, Progress: progressTo(p)}
		if err := ck.CheckMemory(msgs, opts.Samples, evalParams(opts)); err != nil {
			return nil, err
		}
		gen = ck
	} else {
		t, name, model, err := genTeacher(opts.teacherOptions())
		if err != nil {
			return nil, err
		}
		subject = name + " " + model
		gen = &teacherGenerator{t: t, model: model, concurrency: opts.Concurrency, progress: progressTo(p)}
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "eval: %s on %d prompts of %s, %d samples each\n", subject, len(prompts), opts.Prompts, opts.Samples)
	samples, err := gen.Generate(ctx, msgs, opts.Samples, evalParams(opts))
	if err != nil {
		return nil, err
	}
	items := make([]eval.Item, len(prompts))
	for i, p := range prompts {
		items[i] = eval.Item{PromptID: p.ID, Source: p.Source, Level: p.Level, Task: p.Task, Reference: p.Answer, Samples: samples[i]}
	}
	rep, scored := eval.Score(items, opts.Samples)
	res := &eval.Results{Report: rep, Subject: subject, PromptSet: opts.Prompts, Template: tmpl.Name, Temperature: opts.Temperature,
		TopP: opts.TopP, MaxTokens: opts.MaxTokens, Seed: opts.Seed, Seconds: time.Since(start).Seconds()}
	if err := evalWrite(opts.Out, res, scored); err != nil {
		return nil, err
	}
	return res, nil
}

// teacherOptions are generate's options for the teacher eval asks.
func (opts EvalOptions) teacherOptions() GenerateOptions {
	g := DefaultGenerateOptions()
	g.Teacher, g.Model, g.APIKeyEnv, g.Stream, g.Timeout, g.Builtin, g.Concurrency = opts.Teacher, opts.TeacherName,
		opts.APIKeyEnv, opts.Stream, opts.Timeout, opts.Builtin, opts.Concurrency
	return g
}

func evalParams(opts EvalOptions) eval.Params {
	return eval.Params{Temperature: opts.Temperature, TopP: opts.TopP, MaxTokens: opts.MaxTokens, Seed: uint64(opts.Seed)}
}

var errStopEach = errors.New("enough prompts")

// evalPrompts reads the first --num-prompts prompts of the set.
func evalPrompts(ctx context.Context, opts EvalOptions) ([]record.Prompt, error) {
	g := DefaultGenerateOptions()
	g.Prompts, g.NumPrompts, g.Seed = opts.Prompts, opts.NumPrompts, opts.Seed
	src, err := genPrompts(g)
	if err != nil {
		return nil, err
	}
	var prompts []record.Prompt
	if err := src.Each(ctx, func(p record.Prompt) error {
		if opts.NumPrompts > 0 && len(prompts) >= opts.NumPrompts {
			return errStopEach
		}
		prompts = append(prompts, p)
		return nil
	}); err != nil && !errors.Is(err, errStopEach) {
		return nil, err
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("--prompts %s: no prompts", opts.Prompts)
	}
	return prompts, nil
}

// evalWrite writes samples.jsonl, then results.json, each renamed into place.
func evalWrite(dir string, res *eval.Results, scored []eval.Scored) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := atomicfile.Create(filepath.Join(dir, "samples.jsonl"), 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keep <think> readable
	for _, s := range scored {
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(dir, "results.json"), res)
}

func evalTable(w io.Writer, r *eval.Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "source\tprompts\tpass@1\t95%% CI\tpass@%d\tcons@%d\t95%% CI\ttruncated\tformat fail\n", r.K, r.K)
	row := func(name string, m eval.Metrics) {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t[%.3f, %.3f]\t%.3f\t%.3f\t[%.3f, %.3f]\t%.1f%%\t%.1f%%\n", name, m.Prompts, m.PassAt1,
			m.PassAt1CI.Low, m.PassAt1CI.High, m.PassAtK, m.ConsAtK, m.ConsAtKCI.Low, m.ConsAtKCI.High,
			100*m.TruncationRate, 100*m.FormatFailRate)
	}
	if len(r.BySource) > 1 {
		for _, n := range slices.Sorted(maps.Keys(r.BySource)) {
			row(n, r.BySource[n])
		}
	}
	for _, l := range slices.Sorted(maps.Keys(r.ByLevel)) {
		row("level "+l, r.ByLevel[l])
	}
	row("all", r.Metrics)
	tw.Flush()
}

// teacherGenerator samples from a Teacher with requests in flight
// concurrently, retrying what the teacher says may succeed when sent again.
type teacherGenerator struct {
	t           teacher.Teacher
	model       string
	concurrency int
	progress    func(done, total int)
}

// progressTo reports sample counts to p (nil: no reporting).
func progressTo(p *progress) func(done, total int) {
	if p == nil {
		return nil
	}
	var mu sync.Mutex
	last := 0
	return func(done, _ int) {
		mu.Lock()
		defer mu.Unlock()
		if done > last {
			p.Add(int64(done - last))
			last = done
		}
	}
}

func (g *teacherGenerator) Generate(ctx context.Context, msgs []string, k int, p eval.Params) ([][]eval.Sample, error) {
	out := make([][]eval.Sample, len(msgs))
	for i := range out {
		out[i] = make([]eval.Sample, k)
	}
	type job struct{ i, s int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var done atomic.Int64
	for w := 0; w < max(1, g.concurrency); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				seed := int64(p.Seed) + int64(j.i*k+j.s)
				req := teacher.Request{Model: g.model, Messages: []teacher.Message{{Role: "user", Content: msgs[j.i]}},
					Temperature: p.Temperature, TopP: p.TopP, MaxTokens: p.MaxTokens, Seed: &seed}
				out[j.i][j.s] = completeWithRetry(ctx, g.t, req)
				if g.progress != nil {
					g.progress(int(done.Add(1)), len(msgs)*k)
				}
			}
		}()
	}
feed:
	for i := range msgs {
		for s := 0; s < k; s++ {
			select {
			case jobs <- job{i, s}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return out, ctx.Err()
}

func completeWithRetry(ctx context.Context, t teacher.Teacher, req teacher.Request) eval.Sample {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var resp teacher.Response
		resp, err = t.Complete(ctx, req)
		if err == nil {
			return eval.Sample{Reasoning: resp.Reasoning, Content: resp.Content, FinishReason: resp.FinishReason, Tokens: resp.Usage.CompletionTokens}
		}
		var te *teacher.Error
		if !errors.As(err, &te) || !te.Retryable {
			break
		}
		wait := time.Duration(1<<attempt) * time.Second
		if te.RetryAfter > 0 {
			wait = te.RetryAfter
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return eval.Sample{Error: ctx.Err().Error()}
		}
	}
	return eval.Sample{Error: strings.TrimSpace(err.Error())}
}
