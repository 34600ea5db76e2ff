package distill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/teacher"
	"github.com/urfave/cli/v2"
)

// GenerateOptions are the options of `distill generate`; the yaml names
// are those of configs/generate-*.yaml.
type GenerateOptions struct {
	Teacher   string        `yaml:"teacher" json:"teacher" path:"file" flag:"teacher" redact:"url" usage:"builtin, an OpenAI-compatible base URL (http://HOST:PORT/v1), or local:CKPT_DIR"`
	Model     string        `yaml:"model" json:"model" flag:"model" usage:"model name sent to an HTTP teacher"`
	Stream    bool          `yaml:"stream" json:"stream" flag:"stream" usage:"stream answers (server-sent events) from an HTTP teacher"`
	APIKeyEnv string        `yaml:"api_key_env" json:"api_key_env" flag:"api-key-env" usage:"environment variable holding the API key (falls back to OPENAI_API_KEY)"`
	Timeout   time.Duration `yaml:"timeout" json:"timeout_ns" flag:"timeout" usage:"limit for one request"`
	Builtin   BuiltinRates  `yaml:"builtin" json:"builtin"`

	Prompts     string            `yaml:"prompts" json:"prompts" path:"file" flag:"prompts" arg:"FILE" usage:"prompt FILE (.jsonl or .parquet) or builtin:SUITE"`
	NumPrompts  int               `yaml:"num_prompts" json:"num_prompts" flag:"num-prompts" usage:"problems to generate from a builtin suite"`
	IDField     string            `yaml:"id_field" json:"id_field" flag:"id-field" usage:"prompt id column (default: id, unique_id, ...; else FILE:LINE)"`
	PromptField string            `yaml:"prompt_field" json:"prompt_field" flag:"prompt-field" usage:"problem text column (default: problem, question, prompt, input)"`
	AnswerField string            `yaml:"answer_field" json:"answer_field" flag:"answer-field" usage:"reference answer column (default: answer, ...; GSM8K's '#### N' is understood)"`
	Task        string            `yaml:"task" json:"task" flag:"task" usage:"task of every prompt (default: a task column, else gsm8k or math)"`
	Template    string            `yaml:"template" json:"template" flag:"template" usage:"prompt template: r1, r1-zero, plain, or one from the config's templates"`
	Templates   map[string]string `yaml:"templates" json:"templates"` // custom templates by name, "{problem}" marks the problem

	Samples int `yaml:"samples" json:"samples" flag:"samples" usage:"samples per prompt (with --until-correct, the most asked for)"`
	// UntilCorrect stops sampling a prompt once that many of its samples
	// verify (Samples is then the most asked for); 0 samples them all.
	UntilCorrect      int     `yaml:"until_correct" json:"until_correct" flag:"until-correct" arg:"K" usage:"K: stop sampling a prompt once K of its samples verify (filter's verifiers)"`
	SamplesPerRequest int     `yaml:"samples_per_request" json:"samples_per_request" flag:"samples-per-request" arg:"N" usage:"N samples of a prompt per request (the API's n; HTTP teachers, no --stream)"`
	Temperature       float64 `yaml:"temperature" json:"temperature" flag:"temperature"`
	TopP              float64 `yaml:"top_p" json:"top_p" flag:"top-p"`
	MaxTokens         int     `yaml:"max_tokens" json:"max_tokens" flag:"max-tokens"`
	Seed              int64   `yaml:"seed" json:"seed" flag:"seed" usage:"seed for builtin suites and per-request seeds"`

	Concurrency int     `yaml:"concurrency" json:"concurrency" flag:"concurrency,c" usage:"requests in flight"`
	RPM         float64 `yaml:"rpm" json:"rpm" flag:"rpm" usage:"requests per minute limit (0: none)"`
	TPM         float64 `yaml:"tpm" json:"tpm" flag:"tpm" usage:"tokens per minute limit (0: none)"`
	MaxRetries  int     `yaml:"max_retries" json:"max_retries" flag:"max-retries" usage:"retries of a retryable failure"`
	RetryFailed bool    `yaml:"retry_failed" json:"retry_failed" flag:"retry-failed" usage:"sample again the pairs recorded as failed"`

	MaxCost        float64 `yaml:"max_cost" json:"max_cost" flag:"max-cost" usage:"stop when the run directory's cost reaches this (needs prices)"`
	MaxTotalTokens int64   `yaml:"max_total_tokens" json:"max_total_tokens" flag:"max-total-tokens" usage:"stop when the run directory's tokens reach this"`
	PriceInput     float64 `yaml:"price_input" json:"price_input" flag:"price-input" usage:"price per million prompt tokens"` // per million prompt tokens
	PriceOutput    float64 `yaml:"price_output" json:"price_output" flag:"price-output" usage:"price per million completion tokens"`
	// Batch prices (per million tokens) of answers imported from batch
	// files; 0 means half the live price, OpenAI's batch discount.
	PriceBatchInput  float64 `yaml:"price_batch_input" json:"price_batch_input" flag:"price-batch-input" usage:"price per million prompt tokens of batch answers (default: half --price-input)"`
	PriceBatchOutput float64 `yaml:"price_batch_output" json:"price_batch_output" flag:"price-batch-output" usage:"price per million completion tokens of batch answers (default: half --price-output)"`

	// BatchExport, a directory, writes the pending requests there as
	// OpenAI Batch API input files instead of sampling them.
	BatchExport string `yaml:"batch_export" json:"batch_export" flag:"batch-export" arg:"DIR" usage:"write the pending requests to DIR as OpenAI Batch API files (batch-00000.jsonl, ...) instead of sampling"`
	// BatchImport merges batch output and error files into the run.
	BatchImport []string `yaml:"batch_import" json:"batch_import" path:"file" flag:"batch-import" arg:"FILE" usage:"merge batch output and error FILEs into the run (more files may follow as arguments)"`

	Shard      string `yaml:"shard" json:"shard" flag:"shard" arg:"i/N" usage:"i/N: this job's part of the prompts (default from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX)"`
	ShardCount int    `yaml:"shard_count" json:"shard_count" flag:"shard-count" usage:"N for JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's completions; or DISTILL_SHARD_COUNT)"` // N for a Kubernetes Indexed Job (its completions)

	Out      string `yaml:"out" json:"out" flag:"out,o" arg:"DIR" usage:"run DIR (default ./runs/PROMPTS-MODEL)"`
	Compress bool   `yaml:"compress" json:"compress" flag:"compress" usage:"write traces as .jsonl.zst"`
	Quiet    bool   `yaml:"quiet" json:"quiet" flag:"quiet,q" usage:"no progress output"`
}

// BuiltinRates configure the builtin teacher's imperfections.
type BuiltinRates struct {
	Seed            uint64  `yaml:"seed" json:"seed"`
	WrongRate       float64 `yaml:"wrong_rate" json:"wrong_rate"`
	TruncateRate    float64 `yaml:"truncate_rate" json:"truncate_rate"`
	LanguageMixRate float64 `yaml:"language_mix_rate" json:"language_mix_rate"`
	RepeatRate      float64 `yaml:"repeat_rate" json:"repeat_rate"`
	MissingTagsRate float64 `yaml:"missing_tags_rate" json:"missing_tags_rate"`
	CheckRate       float64 `yaml:"check_rate" json:"check_rate"`
}

// DefaultGenerateOptions are R1's sampling settings on the builtin suite.
func DefaultGenerateOptions() GenerateOptions {
	d := teacher.DefaultBuiltinConfig()
	return GenerateOptions{
		Teacher:   "builtin",
		APIKeyEnv: "DISTILL_API_KEY",
		Timeout:   10 * time.Minute,
		Builtin: BuiltinRates{Seed: d.Seed, WrongRate: d.WrongRate, TruncateRate: d.TruncateRate, LanguageMixRate: d.LanguageMixRate,
			RepeatRate: d.RepeatRate, MissingTagsRate: d.MissingTagsRate, CheckRate: d.CheckRate},
		Prompts:           "builtin:arith",
		NumPrompts:        1000,
		Template:          "r1",
		Samples:           1,
		SamplesPerRequest: 1,
		Temperature:       0.6,
		TopP:              0.95,
		MaxTokens:         32768,
		Concurrency:       16,
		MaxRetries:        sampler.DefaultRetry.MaxRetries,
	}
}

func init() {
	d := DefaultGenerateOptions()
	register(&cli.Command{
		Name:  "generate",
		Usage: "sample chain-of-thought traces from a teacher into a crash-safe, resumable run directory",
		Description: "With no flags, the builtin teacher answers " + fmt.Sprint(d.NumPrompts) + " builtin:arith problems into ./runs/.\n" +
			"Rerunning the same command resumes: finished (prompt, sample) pairs are never sampled twice.",
		Flags: append([]cli.Flag{
			configFlag(),
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			opts := DefaultGenerateOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			if c.NArg() > 0 {
				if !c.IsSet("batch-import") {
					return usageErrorf("generate takes no arguments, got %q", c.Args().First())
				}
				opts.BatchImport = append(opts.BatchImport, c.Args().Slice()...)
			}
			return runGenerate(c.Context, opts)
		},
	})
}

// runGenerate samples traces as opts say and reports where they went.
func runGenerate(ctx context.Context, opts GenerateOptions) error {
	job, out, err := genOpen(ctx, opts)
	if err != nil {
		return err
	}
	switch {
	case opts.BatchExport != "":
		return genExport(ctx, job, opts.BatchExport, out)
	case len(opts.BatchImport) > 0:
		return genImport(ctx, job, opts.BatchImport, out)
	}
	st := job.Stats()
	todo := st.Total - st.DoneBefore
	if !opts.Quiet {
		atMost := ""
		if opts.UntilCorrect > 0 {
			atMost = "at most "
		}
		fmt.Fprintf(os.Stderr, "generate: %s%d of %d traces to do (%d already in %s)\n", atMost, todo, st.Total, st.DoneBefore, out)
	}
	var stopProgress func()
	if !opts.Quiet && todo > 0 {
		stopProgress = genProgress(job, todo)
	}
	sum, err := job.Run(ctx)
	if stopProgress != nil {
		stopProgress()
	}
	genReport(os.Stdout, sum, out)
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted: %d traces kept in %s; rerun the same command to resume: %w", sum.Done(), out, err)
	case err != nil:
		return err
	case sum.Stopped == "budget":
		return &ExitError{Code: ExitBudget, Err: fmt.Errorf("budget reached (cost %.4f, %d tokens): %d of %d traces in %s; raise --max-cost/--max-total-tokens and rerun to resume",
			sum.Cost, sum.PromptTokens+sum.CompletionTokens+sum.PromptTokensBefore+sum.CompletionTokensBefore, sum.Done(), sum.Total, out)}
	}
	return nil
}

// genExport writes the job's pending requests as batch input files.
func genExport(ctx context.Context, job *sampler.Job, dir, out string) error {
	ex, err := job.ExportBatch(ctx, dir, sampler.OpenAIBatchLimits)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "batch export: %d pending requests of %s in %d files under %s\n", ex.Requests, out, len(ex.Files), dir)
	return nil
}

// genImport merges batch result files into the run directory.
func genImport(ctx context.Context, job *sampler.Job, files []string, out string) error {
	sum, err := job.ImportBatch(ctx, files)
	if err != nil {
		return err
	}
	b := sum.Batch
	fmt.Fprintf(os.Stdout, "batch import: %d result lines of %d files: %d new records (%d failed), %d already in %s, %d repeated\n",
		b.Lines, len(b.Files), b.Imported, sum.Failed, b.Skipped, out, b.Duplicates)
	fmt.Fprintf(os.Stdout, "done %d/%d; batch tokens in %d out %d; cost %.4f\nmanifest: %s\n",
		sum.Done(), sum.Total, sum.PromptTokens, sum.CompletionTokens, sum.Cost, sum.Manifest)
	return nil
}

// genOpen builds the teacher and prompt source and opens the run directory.
func genOpen(ctx context.Context, opts GenerateOptions) (*sampler.Job, string, error) {
	if opts.Samples < 1 {
		return nil, "", usageErrorf("--samples must be at least 1, got %d", opts.Samples)
	}
	if opts.UntilCorrect < 0 || opts.UntilCorrect > opts.Samples {
		return nil, "", usageErrorf("--until-correct %d: want 0 (off) to --samples (%d)", opts.UntilCorrect, opts.Samples)
	}
	switch n := opts.SamplesPerRequest; {
	case n < 1 || n > sampler.MaxSamplesPerRequest:
		return nil, "", usageErrorf("--samples-per-request %d: want 1 to %d", n, sampler.MaxSamplesPerRequest)
	case n > 1 && opts.Stream:
		return nil, "", usageErrorf("--samples-per-request %d with --stream: several samples per request need a non-streaming teacher", n)
	}
	switch {
	case opts.BatchExport != "" && len(opts.BatchImport) > 0:
		return nil, "", usageErrorf("--batch-export and --batch-import: one at a time")
	case (opts.BatchExport != "" || len(opts.BatchImport) > 0) && opts.UntilCorrect > 0:
		return nil, "", usageErrorf("--until-correct with batch files: a batch cannot wait for verified answers; export every sample (--samples) instead")
	case opts.BatchExport != "" && opts.SamplesPerRequest > 1:
		return nil, "", usageErrorf("--samples-per-request %d with --batch-export: batch files hold one sample a line", opts.SamplesPerRequest)
	}
	if opts.Concurrency < 1 {
		return nil, "", usageErrorf("--concurrency must be at least 1, got %d", opts.Concurrency)
	}
	if opts.MaxCost > 0 && opts.PriceInput == 0 && opts.PriceOutput == 0 {
		return nil, "", usageErrorf("--max-cost needs --price-input and/or --price-output (per million tokens)")
	}
	t, teacherName, model, err := genTeacher(opts)
	if err != nil {
		return nil, "", err
	}
	prompts, err := genPrompts(opts)
	if err != nil {
		return nil, "", err
	}
	tmpl, err := sampler.ResolveTemplate(opts.Template, opts.Templates)
	if err != nil {
		return nil, "", fmt.Errorf("--template: %w", err)
	}
	shard := sampler.All
	if opts.Shard != "" {
		if shard, err = sampler.ParseShard(opts.Shard); err != nil {
			return nil, "", fmt.Errorf("--shard: %w", err)
		}
	} else if shard, _, err = sampler.ShardFromEnv(os.Getenv, opts.ShardCount); err != nil {
		return nil, "", err
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join("runs", genSlug(opts.Prompts)+"-"+genSlug(model))
	}
	seed := opts.Seed
	settings := opts
	settings.Out = out
	settings.Shard = shard.String()
	settings.Teacher = genRedactURL(opts.Teacher)
	cfg := sampler.Config{
		Teacher: t, TeacherName: teacherName, Model: model,
		Prompts: prompts, Template: tmpl, Samples: opts.Samples, SamplesPerRequest: opts.SamplesPerRequest,
		Params:      record.Params{Temperature: opts.Temperature, TopP: opts.TopP, MaxTokens: opts.MaxTokens, Seed: &seed},
		Concurrency: opts.Concurrency, RPM: opts.RPM, TPM: opts.TPM,
		Retry:       sampler.RetryPolicy{MaxRetries: opts.MaxRetries, Base: sampler.DefaultRetry.Base, Max: sampler.DefaultRetry.Max},
		RetryFailed: opts.RetryFailed,
		Budget: sampler.Budget{MaxCost: opts.MaxCost, MaxTotalTokens: opts.MaxTotalTokens, PriceInput: opts.PriceInput, PriceOutput: opts.PriceOutput,
			PriceBatchInput: cmp.Or(opts.PriceBatchInput, opts.PriceInput*batchDiscount), PriceBatchOutput: cmp.Or(opts.PriceBatchOutput, opts.PriceOutput*batchDiscount)},
		Shard: shard, Out: out, Compress: opts.Compress,
		Settings: settings, // holds the key's variable name, never the key
		Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "generate: "+format+"\n", args...)
		},
	}
	if opts.UntilCorrect > 0 {
		cfg.UntilCorrect, cfg.Correct = opts.UntilCorrect, dataset.Correct
	}
	job, err := sampler.Open(ctx, cfg)
	if errors.Is(err, sampler.ErrNoMultiSample) {
		err = fmt.Errorf("--samples-per-request %d with --teacher %s: %w", opts.SamplesPerRequest, teacherName, err)
	}
	return job, out, err
}

// batchDiscount prices batch answers when no batch price is given: OpenAI's
// Batch API costs half the live price.
const batchDiscount = 0.5

// genTeacher returns the teacher, its name for the traces, and the model.
func genTeacher(opts GenerateOptions) (teacher.Teacher, string, string, error) {
	switch spec := opts.Teacher; {
	case spec == "" || spec == "builtin":
		b := opts.Builtin
		t := teacher.NewBuiltin(teacher.BuiltinConfig{Seed: b.Seed, WrongRate: b.WrongRate, TruncateRate: b.TruncateRate,
			LanguageMixRate: b.LanguageMixRate, RepeatRate: b.RepeatRate, MissingTagsRate: b.MissingTagsRate, CheckRate: b.CheckRate})
		model := opts.Model
		if model == "" {
			model = "builtin"
		}
		return t, "builtin", model, nil
	case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
		if opts.Model == "" {
			return nil, "", "", fmt.Errorf("--model is required with --teacher %s", genRedactURL(spec))
		}
		key := os.Getenv(opts.APIKeyEnv)
		if key == "" && opts.APIKeyEnv == "DISTILL_API_KEY" {
			key = os.Getenv("OPENAI_API_KEY")
		}
		t, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: spec, Model: opts.Model, APIKey: key, Stream: opts.Stream,
			Timeout: opts.Timeout, MaxConns: opts.Concurrency})
		if err != nil {
			return nil, "", "", err
		}
		return t, genRedactURL(spec), opts.Model, nil
	case strings.HasPrefix(spec, "local:"):
		t, model, err := openLocal(strings.TrimPrefix(spec, "local:"), opts.Model)
		if err != nil {
			return nil, "", "", fmt.Errorf("--teacher %s: %w", spec, err)
		}
		return t, spec, model, nil
	default:
		return nil, "", "", fmt.Errorf("--teacher %q: want builtin, http(s)://HOST[:PORT]/v1 or local:DIR", spec)
	}
}

// genRedactURL drops credentials and query strings from an HTTP teacher's
// base URL before it is recorded in traces, manifests and run records;
// other teacher specs (builtin, local:DIR) are returned as they are.
func genRedactURL(s string) string {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid url>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

func genPrompts(opts GenerateOptions) (sampler.Prompts, error) {
	f := sampler.Fields{ID: opts.IDField, Prompt: opts.PromptField, Answer: opts.AnswerField, Task: opts.Task}
	switch p := opts.Prompts; {
	case strings.HasPrefix(p, "builtin:"):
		return sampler.OpenSuitePrompts(p, opts.NumPrompts, uint64(opts.Seed))
	case strings.HasSuffix(p, ".parquet"):
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("--prompts: %w", err)
		}
		return &sampler.ParquetPrompts{Path: p, Fields: f}, nil
	case strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".json"):
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("--prompts: %w", err)
		}
		return &sampler.JSONLPrompts{Path: p, Fields: f}, nil
	case p == "":
		return nil, errors.New("--prompts is empty")
	default:
		return nil, fmt.Errorf("--prompts %s: want a .jsonl or .parquet file, or builtin:SUITE", p)
	}
}

var genSlugRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// genSlug makes a directory name out of a prompt set or model name.
func genSlug(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".json"); i > 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".parquet")
	return strings.Trim(genSlugRE.ReplaceAllString(s, "-"), "-")
}

// genProgress polls the job's counters into a progress display until the
// returned stop function is called.
func genProgress(job *sampler.Job, todo int64) (stop func()) {
	p := newProgress(todo, "generate")
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var shown int64
		update := func() {
			s := job.Stats()
			p.Add(s.Written - shown)
			shown = s.Written
			sec := max(s.Elapsed.Seconds(), 1e-9)
			p.SetStatus(fmt.Sprintf("%.0f req/s %.0f tok/s failed %d retries %d cost %.4f",
				float64(s.Requests)/sec, float64(s.PromptTokens+s.CompletionTokens)/sec, s.Failed, s.Retries, s.Cost))
		}
		for {
			select {
			case <-done:
				update()
				p.Finish()
				return
			case <-t.C:
				update()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// genReport prints the end-of-run summary.
func genReport(w *os.File, s sampler.Summary, out string) {
	sec := max(s.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "wrote %d traces (%d ok, %d failed) to %s in %s: %.0f traces/s, %.0f tokens/s\n",
		s.Written, s.Succeeded, s.Failed, out, s.Elapsed.Round(time.Millisecond), float64(s.Written)/sec, float64(s.PromptTokens+s.CompletionTokens)/sec)
	fmt.Fprintf(w, "done %d/%d; tokens in %d out %d (reasoning %d); cost %.4f; latency ms p50 %d p90 %d p99 %d\n",
		s.Done(), s.Total, s.PromptTokens, s.CompletionTokens, s.ReasoningTokens, s.Cost, s.LatencyMS["p50"], s.LatencyMS["p90"], s.LatencyMS["p99"])
	if len(s.FailuresByKind) > 0 {
		fmt.Fprintf(w, "failures by kind: %v\n", s.FailuresByKind)
	}
	if a := s.Adaptive; a != nil {
		fmt.Fprintf(w, "until-correct %d: %d prompts reached it, %d used every sample; saved %d samples, %d requests, ~%d tokens (estimate)\n",
			a.UntilCorrect, a.PromptsEnough, a.PromptsExhausted, a.SamplesSaved, a.RequestsSaved, a.TokensSaved)
	}
	fmt.Fprintf(w, "manifest: %s\n", s.Manifest)
}
