// Command distill distills the reasoning of a teacher model into small students.
//
// Of ours it may import only `distill`. main only calls into distill.
package main

import (
	"fmt"
	"os"

	"github.com/distill-dev/distill/distill"
)

func main() {
	if err := distill.Main(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "distill:", err)
		os.Exit(distill.ExitCode(err))
	}
}
