package distill

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/urfave/cli/v2"
)

// FilterOptions are the options of `distill filter`; the yaml names are
// those of configs/filter-*.yaml (the dataset settings inline).
type FilterOptions struct {
	In             []string `yaml:"in" path:"file"`
	Out            string   `yaml:"out"`
	Quiet          bool     `yaml:"quiet"`
	dataset.Config `yaml:",inline"`
}

// DefaultFilterOptions are the R1-style defaults of package dataset.
func DefaultFilterOptions() FilterOptions {
	return FilterOptions{Out: "data", Config: dataset.DefaultConfig()}
}

func init() {
	d := DefaultFilterOptions()
	register(&cli.Command{
		Name:  "filter",
		Usage: "verify, filter, deduplicate and decontaminate raw traces into Parquet shards",
		Description: "Reads the traces-*.jsonl[.zst] of each --in directory (or the files given), keeps the traces whose\n" +
			"answer verifies and that pass the filters, and writes DATA_DIR/train-*.parquet, test-*.parquet,\n" +
			"rejects-*.parquet (every dropped row with its reject_reason), stats.json and a dataset card README.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "YAML `FILE` with any of these options (flags override it)"},
			&cli.StringSliceFlag{Name: "in", Aliases: []string{"i"}, Usage: "raw trace `DIR` or file (repeatable: the shards of a sharded run)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: d.Out, Usage: "`DATA_DIR` for the shards, stats.json and README.md"},
			&cli.StringFlag{Name: "filters", Usage: "comma-separated filters in order (default all: " + strings.Join(dataset.FilterNames(), ",") + "; \"none\" for none)"},
			&cli.StringFlag{Name: "verifier", Usage: "verifier for every trace (default: chosen from each trace's task); none keeps plain chats unverified (verifier none)"},
			&cli.BoolFlag{Name: "keep-unverifiable", Usage: "keep traces whose reference cannot be judged"},
			&cli.BoolFlag{Name: "keep-wrong", Usage: "keep traces whose answer is wrong (no rejection sampling)"},
			&cli.IntFlag{Name: "min-tokens", Value: d.Length.MinTokens, Usage: "shortest reply kept, in tokens"},
			&cli.IntFlag{Name: "max-tokens", Value: d.Length.MaxTokens, Usage: "longest reply kept, in tokens (0: no limit)"},
			&cli.Float64Flag{Name: "max-foreign-share", Value: d.Language.MaxForeignShare, Usage: "largest share of the chain of thought in another script than the prompt's"},
			&cli.BoolFlag{Name: "no-dedup", Usage: "keep duplicates (exact and near)"},
			&cli.Float64Flag{Name: "near-threshold", Value: d.Dedup.Threshold, Usage: "Jaccard similarity from which responses are near-duplicates"},
			&cli.StringSliceFlag{Name: "decontaminate", Usage: "benchmark JSONL `FILE` (problem/question field) to remove overlaps with (repeatable)"},
			&cli.IntFlag{Name: "ngram", Value: d.Decontam.NGram, Usage: "words per n-gram for decontamination"},
			&cli.StringFlag{Name: "policy", Value: d.Select.Policy, Usage: "selection per prompt: all, max_per_prompt (with --k) or shortest"},
			&cli.IntFlag{Name: "k", Value: d.Select.K, Usage: "traces kept per prompt by max_per_prompt (the shortest k)"},
			&cli.Float64Flag{Name: "pass-rate-min", Value: d.Select.PassRateMin, Usage: "drop prompts the teacher solves less often than this"},
			&cli.Float64Flag{Name: "pass-rate-max", Value: d.Select.PassRateMax, Usage: "drop prompts the teacher solves more often than this"},
			&cli.Float64Flag{Name: "test-fraction", Value: d.Select.TestFraction, Usage: "share of prompts in the test split (by a hash of the prompt id)"},
			&cli.IntFlag{Name: "shard-size-mb", Value: d.Output.ShardSizeMB, Usage: "target size of a Parquet shard"},
			&cli.BoolFlag{Name: "no-rejects", Usage: "do not write rejects-*.parquet"},
			&cli.IntFlag{Name: "workers", Usage: "parallel parsers and verifiers (default: the number of CPUs)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile (pprof) of the run to `FILE`"},
			&cli.StringFlag{Name: "memprofile", Hidden: true, Usage: "write a heap profile (pprof) at the end of the run to `FILE`"},
		},
		Action: func(c *cli.Context) error {
			opts := DefaultFilterOptions()
			if p := c.String("config"); p != "" {
				if err := loadConfig(p, &opts); err != nil {
					return err
				}
			}
			setIf(c, "in", &opts.In, c.StringSlice)
			setIf(c, "out", &opts.Out, c.String)
			if c.IsSet("filters") {
				opts.Filters = filterParseList(c.String("filters"))
			}
			setIf(c, "verifier", &opts.Verifier, c.String)
			setIf(c, "keep-unverifiable", &opts.KeepUnverifiable, c.Bool)
			setIf(c, "keep-wrong", &opts.KeepWrong, c.Bool)
			setIf(c, "min-tokens", &opts.Length.MinTokens, c.Int)
			setIf(c, "max-tokens", &opts.Length.MaxTokens, c.Int)
			setIf(c, "max-foreign-share", &opts.Language.MaxForeignShare, c.Float64)
			if c.Bool("no-dedup") {
				opts.Dedup.Exact, opts.Dedup.Near = false, false
			}
			setIf(c, "near-threshold", &opts.Dedup.Threshold, c.Float64)
			setIf(c, "decontaminate", &opts.Decontam.Files, c.StringSlice)
			setIf(c, "ngram", &opts.Decontam.NGram, c.Int)
			setIf(c, "policy", &opts.Select.Policy, c.String)
			setIf(c, "k", &opts.Select.K, c.Int)
			setIf(c, "pass-rate-min", &opts.Select.PassRateMin, c.Float64)
			setIf(c, "pass-rate-max", &opts.Select.PassRateMax, c.Float64)
			setIf(c, "test-fraction", &opts.Select.TestFraction, c.Float64)
			setIf(c, "shard-size-mb", &opts.Output.ShardSizeMB, c.Int)
			if c.Bool("no-rejects") {
				opts.Output.WriteRejects = false
			}
			setIf(c, "workers", &opts.Output.Workers, c.Int)
			setIf(c, "quiet", &opts.Quiet, c.Bool)
			stop, err := startProfiles(c.String("cpuprofile"), c.String("memprofile"))
			if err != nil {
				return err
			}
			err = runFilter(c.Context, opts)
			if perr := stop(); err == nil {
				err = perr
			}
			return err
		},
	})
}

// startProfiles starts a CPU profile into cpu (when set) and returns the
// function that stops it and writes a heap profile into mem (when set).
func startProfiles(cpu, mem string) (stop func() error, err error) {
	var cf *os.File
	if cpu != "" {
		if cf, err = os.Create(cpu); err != nil {
			return nil, fmt.Errorf("cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(cf); err != nil {
			cf.Close()
			return nil, fmt.Errorf("cpuprofile: %w", err)
		}
	}
	return func() error {
		if cf != nil {
			pprof.StopCPUProfile()
			if err := cf.Close(); err != nil {
				return fmt.Errorf("cpuprofile: %w", err)
			}
		}
		if mem == "" {
			return nil
		}
		f, err := os.Create(mem)
		if err != nil {
			return fmt.Errorf("memprofile: %w", err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("memprofile: %w", err)
		}
		return f.Close()
	}, nil
}

func filterParseList(s string) []string {
	if s == "none" || s == "" {
		return []string{}
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// runFilter turns the raw traces of opts.In into a dataset in opts.Out.
func runFilter(ctx context.Context, opts FilterOptions) error {
	if len(opts.In) == 0 {
		return errors.New("filter: --in is required (a raw trace directory or file)")
	}
	if opts.Out == "" {
		return errors.New("filter: --out is required")
	}
	if os.Getenv("GOGC") == "" {
		// Most of the live heap is fixed, pointer-free state (the Bloom
		// filter, the zstd windows) that costs the collector nothing to
		// scan, so a heap goal of 1.5× the live heap instead of 2× costs
		// no measurable CPU and takes about 60 MB off the peak at 800k
		// traces (6.7-6.8 s user either way).
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	start := time.Now()
	var bars [3]*progress
	var seen [3]int64
	do := dataset.Options{Inputs: opts.In, OutDir: opts.Out, Config: opts.Config}
	if !opts.Quiet {
		do.Progress = func(pass int, bytes int64) {
			if bars[pass] == nil {
				if pass == 2 && bars[1] != nil {
					bars[1].Finish()
				}
				bars[pass] = newProgress(0, fmt.Sprintf("filter pass %d (bytes)", pass))
			}
			bars[pass].Add(bytes - seen[pass])
			seen[pass] = bytes
		}
	}
	st, err := dataset.Run(ctx, do)
	for _, b := range bars {
		if b != nil {
			b.Finish()
		}
	}
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "filter: %d lines (%.1f MB) in %s (%.1f MB/s): kept %d (train %d, test %d), rejected %d\n",
		st.LinesIn, float64(st.BytesIn)/1e6, el.Round(time.Millisecond), float64(st.BytesIn)/1e6/el.Seconds(),
		st.Kept, st.Train, st.Test, st.Rejected)
	for _, k := range slices.Sorted(maps.Keys(st.Reasons)) {
		fmt.Fprintf(os.Stderr, "  %-18s %d\n", k, st.Reasons[k])
	}
	fmt.Fprintf(os.Stderr, "wrote %s (stats.json, README.md)\n", opts.Out)
	return nil
}
