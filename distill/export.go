package distill

import "github.com/urfave/cli/v2"

// exportCommand is `distill export`; each format adds its subcommand from
// its own file (export_gguf.go, ...) with registerExport. A package-level
// variable is initialised before any init function runs, so the order of
// the files' init functions does not matter.
var exportCommand = &cli.Command{
	Name:  "export",
	Usage: "write a checkpoint in another runtime's format",
}

func init() { register(exportCommand) }

func registerExport(c *cli.Command) {
	exportCommand.Subcommands = append(exportCommand.Subcommands, c)
}
