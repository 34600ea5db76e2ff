package distill

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
)

// Configuration: every command's options struct carries yaml tags. A
// command fills it with its defaults, overlays the --config file with
// loadConfig, then overlays the flags the user actually set with setIf, so
// the precedence is flags > config file > defaults.

// loadConfig decodes the YAML file at path into into (a pointer to an
// options struct already holding defaults). Unknown keys are errors, so a
// typo in a recipe fails loudly instead of being ignored.
func loadConfig(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// setIf copies a flag's value into dst when the user set the flag, so an
// unset flag's default never hides a value from the config file:
//
//	setIf(c, "samples", &opts.Samples, c.Int)
func setIf[T any](c *cli.Context, name string, dst *T, get func(string) T) {
	if c.IsSet(name) {
		*dst = get(name)
	}
}
