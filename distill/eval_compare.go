package distill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/student/eval"
)

// CompareOptions configure `distill eval --compare A B`, which pairs two
// finished evaluations instead of running one.
type CompareOptions struct {
	A, B      string // eval output directories (results.json, samples.jsonl)
	Resamples int    `flag:"resamples"`
	Seed      int64  `flag:"seed"`
	Out       string `flag:"out"` // where compare.json goes; empty: nowhere
}

// DefaultCompareOptions resample 10,000 times: the interval's endpoints
// then move by about 3% of a standard error between seeds.
func DefaultCompareOptions() CompareOptions {
	return CompareOptions{Resamples: 10000, Seed: DefaultEvalOptions().Seed}
}

// runCompare measures B − A over the prompts of two evaluations.
func runCompare(ctx context.Context, opts CompareOptions) (*eval.Comparison, error) {
	a, ka, err := readEvalDir(ctx, opts.A)
	if err != nil {
		return nil, err
	}
	b, kb, err := readEvalDir(ctx, opts.B)
	if err != nil {
		return nil, err
	}
	if ka != kb {
		return nil, fmt.Errorf("--compare %s %s: k differs (%d and %d samples per prompt); cons@k compares only at the same k", opts.A, opts.B, ka, kb)
	}
	c, err := eval.Compare(a, b, opts.Resamples, uint64(opts.Seed))
	if err != nil {
		return nil, fmt.Errorf("--compare %s %s: %w", opts.A, opts.B, err)
	}
	c.A, c.B, c.K = opts.A, opts.B, ka
	if opts.Out != "" {
		if err := os.MkdirAll(opts.Out, 0o755); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		if err := atomicfile.WriteJSON(filepath.Join(opts.Out, "compare.json"), c); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	return &c, nil
}

// readEvalDir reads an evaluation's k from results.json and its prompts'
// outcomes from samples.jsonl.
func readEvalDir(ctx context.Context, dir string) ([]eval.Outcome, int, error) {
	var res eval.Results
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, 0, fmt.Errorf("--compare: %w", err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, 0, fmt.Errorf("--compare: %s: %w", filepath.Join(dir, "results.json"), err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	path := filepath.Join(dir, "samples.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--compare: %w", err)
	}
	defer f.Close()
	outs, err := eval.ReadOutcomes(f)
	if err != nil {
		return nil, 0, fmt.Errorf("--compare: %s: %w", path, err)
	}
	return outs, res.K, nil
}

func compareTable(w io.Writer, c *eval.Comparison) {
	fmt.Fprintf(w, "B − A over %d prompts, k = %d (A: %s, B: %s)\n", c.Prompts, c.K, c.A, c.B)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tA\tB\tB − A\t95%% CI\tp\n")
	for _, m := range []struct {
		name string
		p    eval.Paired
	}{{"pass@1", c.PassAt1}, {fmt.Sprintf("cons@%d", c.K), c.ConsAtK}} {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%+.3f\t[%+.3f, %+.3f]\t%s\n", m.name, m.p.A, m.p.B, m.p.Diff, m.p.CI.Low, m.p.CI.High, pValue(m.p.P))
	}
	tw.Flush()
	fmt.Fprintf(w, "%s; %d resamples, seed %d\n", c.Method, c.Resamples, c.Seed)
}

// pValue prints p to the precision the test has: with 10,000 draws, the
// third decimal.
func pValue(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p)
}

// runComparisons writes to results.md the paired comparisons of a run's
// evaluations that exist: GRPO after SFT (sft → rl), distillation against
// GRPO alone (rl-only → sft), and what GRPO alone did to the base it
// started from (base → rl-only). A comparison that fails is reported
// in its line rather than failing the summary.
func runComparisons(w io.Writer, evalDir string) {
	opts := DefaultCompareOptions()
	first := true
	for _, pair := range []struct{ label, a, b string }{
		{"GRPO after SFT (sft → rl)", "sft", "rl"},
		{"distillation vs GRPO alone (rl-only → sft)", "rl-only", "sft"},
		{"GRPO alone from the base (base → rl-only)", "base", "rl-only"},
	} {
		opts.A, opts.B = filepath.Join(evalDir, pair.a), filepath.Join(evalDir, pair.b)
		// results.md is written once the stages are done: nothing here waits
		// on more than the disk.
		c, err := runCompare(context.Background(), opts)
		if errors.Is(err, os.ErrNotExist) {
			continue // a stage the run skipped
		}
		if first {
			fmt.Fprintf(w, "\nPaired over the same prompts (95%% percentile bootstrap, sign-flip p; `distill eval --compare`):\n\n")
			first = false
		}
		if err != nil {
			fmt.Fprintf(w, "- %s: not compared: %v\n", pair.label, err)
			continue
		}
		fmt.Fprintf(w, "- %s: pass@1 %+.3f [%+.3f, %+.3f] (%s); cons@%d %+.3f [%+.3f, %+.3f] (%s)\n", pair.label,
			c.PassAt1.Diff, c.PassAt1.CI.Low, c.PassAt1.CI.High, pValue(c.PassAt1.P),
			c.K, c.ConsAtK.Diff, c.ConsAtK.CI.Low, c.ConsAtK.CI.High, pValue(c.ConsAtK.P))
	}
}
