// Package distill is the command-line interface: one file per subcommand,
// each with an options struct whose fields declare its flags and config keys
// (flags.go), and a runX(ctx, opts) function that tests call without the
// CLI.
//
// Of ours it may import only `dataset`, `dataset/corpus`, `dataset/reward`,
// `engine`, `export/gguf`, `export/verl`, `internal/atomicfile`, `record`, `report`,
// `sampler`, `student`, `student/checkpoint`, `student/eval`,
// `student/local`, `student/memory`, `student/model`, `student/rl`,
// `student/tokenizer`, `student/train` and `teacher`. No stage imports it.
package distill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/urfave/cli/v2"
)

// commands is filled by the init functions of the subcommand files, as restic
// does with its command tree, so adding a command touches one file only.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

// NewApp builds the CLI.
func NewApp() *cli.App {
	cmds := append([]*cli.Command(nil), commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for _, c := range cmds {
		c.OnUsageError = onUsageError
	}
	return &cli.App{
		Name:                 "distill",
		Usage:                "distill the reasoning of a teacher model into small students",
		Commands:             cmds,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		OnUsageError:         onUsageError,
		// An unknown command is bad usage, not "nothing to do".
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("no command %q (distill --help lists them)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// Exit statuses of the distill command, as main passes them to os.Exit.
const (
	ExitFailed      = 1   // the command failed
	ExitUsage       = 2   // bad usage: unknown command or flag, a value refused before starting
	ExitBudget      = 3   // generate stopped at --max-cost or --max-total-tokens
	ExitInterrupted = 130 // SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C)
)

// ExitError is an error with the exit status it calls for. (Its method is
// not ExitCode: urfave/cli would exit the process itself on one.)
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf is a bad-usage error (exit status 2).
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// onUsageError makes flag parsing errors (unknown flag, a value that does
// not parse) bad usage.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return &ExitError{Code: ExitUsage, Err: err}
}

// ExitCode is the exit status for Main's error: 0 for none, the code of an
// ExitError in its chain, else 1.
func ExitCode(err error) int {
	var e *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	}
	return ExitFailed
}

// Main runs the CLI with a context that is cancelled on SIGINT or SIGTERM, so
// every stage can stop cleanly and keep what it has done. A second signal
// kills the process at once. A command that fails once interrupted returns
// an ExitError with ExitInterrupted, however it worded its error.
func Main(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second Ctrl-C exits immediately
	}()
	err := NewApp().RunContext(ctx, args)
	if err != nil && ctx.Err() != nil {
		var e *ExitError
		if !errors.As(err, &e) || e.Code != ExitUsage {
			err = &ExitError{Code: ExitInterrupted, Err: err}
		}
	}
	return err
}
