package distill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/report"
)

// ReportOptions configure `distill report`.
type ReportOptions struct {
	Dir   string // the run directory
	Out   string // the HTML file; "" for RUN_DIR/report.html
	Quiet bool
}

func init() {
	register(&cli.Command{
		Name:      "report",
		Usage:     "write report.html of a run directory: plots of the losses, rewards, KL, accuracy and trace lengths, and every stage's stats",
		UsageText: "distill report RUN_DIR [--out FILE]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "HTML `FILE` to write (default RUN_DIR/report.html); the PNGs go to plots/ next to it"},
			&cli.BoolFlag{Name: "quiet", Usage: "print nothing but errors"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("report: give exactly one RUN_DIR")
			}
			_, err := runReport(c.Context, ReportOptions{Dir: c.Args().First(), Out: c.String("out"), Quiet: c.Bool("quiet")})
			return err
		},
	})
}

// runReport writes the report of opts.Dir and returns the path of the page.
func runReport(ctx context.Context, opts ReportOptions) (string, error) {
	if opts.Dir == "" {
		return "", errors.New("report: RUN_DIR is required")
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(opts.Dir, "report.html")
	}
	run, err := report.Load(ctx, opts.Dir)
	if err != nil {
		return "", err
	}
	plots, err := run.Write(out)
	if err != nil {
		return "", err
	}
	if !opts.Quiet {
		for _, m := range run.Missing {
			fmt.Fprintf(os.Stderr, "report: not in this run: %s\n", m)
		}
		for _, p := range run.Problems {
			fmt.Fprintf(os.Stderr, "report: %s\n", p)
		}
		fmt.Fprintf(os.Stderr, "report: wrote %s with %d plots\n", out, len(plots))
	}
	return out, nil
}
