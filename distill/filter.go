package distill

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
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
	In             []string `yaml:"in" path:"file" flag:"in,i" arg:"DIR" usage:"raw trace DIR or file (repeatable: the shards of a sharded run)"`
	Out            string   `yaml:"out" flag:"out,o" arg:"DATA_DIR" usage:"DATA_DIR for the shards, stats.json and README.md"`
	Quiet          bool     `yaml:"quiet" flag:"quiet,q" usage:"no progress output"`
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
		Flags: append([]cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "filters", Usage: "comma-separated filters in order (default all: " + strings.Join(dataset.FilterNames(), ",") + "; \"none\" for none)"},
			&cli.BoolFlag{Name: "no-dedup", Usage: "keep duplicates (exact and near)"},
			&cli.BoolFlag{Name: "no-rejects", Usage: "do not write rejects-*.parquet"},
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile (pprof) of the run to `FILE`"},
			&cli.StringFlag{Name: "memprofile", Hidden: true, Usage: "write a heap profile (pprof) at the end of the run to `FILE`"},
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			opts := DefaultFilterOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			// Flags that set config keys their own way.
			if c.IsSet("filters") {
				opts.Filters = filterParseList(c.String("filters"))
			}
			if c.Bool("no-dedup") {
				opts.Dedup.Exact, opts.Dedup.Near = false, false
			}
			if c.Bool("no-rejects") {
				opts.Output.WriteRejects = false
			}
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
