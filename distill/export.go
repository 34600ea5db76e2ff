package distill

import "github.com/urfave/cli/v2"

// exportCommand is `distill export`; each format adds its subcommand from
// its own file (export_gguf.go, export_verl.go) with registerExport. A
// package-level variable is initialised before any init function runs, so
// the order of the files' init functions does not matter.
var exportCommand = &cli.Command{
	Name:      "export",
	Usage:     "write files another tool runs: GGUF for llama.cpp and Ollama, verl's GRPO job",
	UsageText: "distill export gguf|verl [options]",
}

func init() { register(exportCommand) }

func registerExport(c *cli.Command) {
	exportCommand.Subcommands = append(exportCommand.Subcommands, c)
}
