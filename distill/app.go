// Package distill is the command-line interface: one file per subcommand,
// each with an options struct, its flags and a runX(ctx, opts) function that
// tests call without the CLI.
//
// Of ours it may import only `dataset`, `dataset/reward`, `engine`,
// `export/gguf`, `export/verl`, `internal/atomicfile`, `record`, `report`,
// `sampler`, `student`, `student/checkpoint`, `student/eval`,
// `student/local`, `student/memory`, `student/model`, `student/rl`,
// `student/tokenizer`, `student/train` and `teacher`. No stage imports it.
package distill

import (
	"context"
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
	return &cli.App{
		Name:                 "distill",
		Usage:                "distill the reasoning of a teacher model into small students",
		Commands:             cmds,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
	}
}

// Main runs the CLI with a context that is cancelled on SIGINT or SIGTERM, so
// every stage can stop cleanly and keep what it has done. A second signal
// kills the process at once.
func Main(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second Ctrl-C exits immediately
	}()
	return NewApp().RunContext(ctx, args)
}
