package distill

import "github.com/urfave/cli/v2"

// exportCommand is `distill export`; each format is a subcommand in a file
// export_FORMAT.go whose init calls registerExport.
var exportCommand = &cli.Command{
	Name:      "export",
	Usage:     "write files another tool runs (verl: a GRPO job with distill's rewards)",
	UsageText: "distill export FORMAT [options]",
}

func init() { register(exportCommand) }

func registerExport(c *cli.Command) { exportCommand.Subcommands = append(exportCommand.Subcommands, c) }
