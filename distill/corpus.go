package distill

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/dataset/corpus"
	"github.com/distill-dev/distill/student/tokenizer"
)

// CorpusOptions configure `distill corpus`; in a `distill run` recipe they
// are pretrain's corpus section (the run fills in out and the template).
type CorpusOptions struct {
	Out      string `yaml:"out" flag:"out" usage:"output directory for the shards and corpus.json"`
	Docs     int    `yaml:"docs" flag:"docs" usage:"train documents"`
	TestDocs int    `yaml:"test_docs" flag:"test-docs" usage:"held-out documents (the trainer's held-out loss)"`
	Seed     uint64 `yaml:"seed" flag:"seed"`
	// Template is the student's chat template, which renders each document.
	Template string `yaml:"template" flag:"template" usage:"the student's chat template (chatml, deepseek-r1, llama3, qwen2.5)"`
}

// DefaultCorpusOptions are the settings of `distill corpus` without flags.
func DefaultCorpusOptions() CorpusOptions {
	return CorpusOptions{Docs: 10000, TestDocs: 200, Seed: 1, Template: "chatml"}
}

func init() {
	d := DefaultCorpusOptions()
	register(&cli.Command{
		Name:  "corpus",
		Usage: "write a pretraining corpus: R1-format documents that teach a fresh student the answer format, not the arithmetic",
		Description: "Writes DIR/train-*.parquet and test-*.parquet with a text column (distill train --data trains on\n" +
			"every token of it) and DIR/corpus.json. Each document is a chat rendered with --template: echo (\"What is 47?\"),\n" +
			"largest (\"What is the largest of 35, 56 and 82?\") and guess (builtin:arith:1-2's sums worked in the teacher's\n" +
			"lines, every result a wrong one), the same for the same --seed.",
		UsageText: "distill corpus --out DIR [--docs N] [--test-docs N] [--seed S] [--template chatml]",
		Flags: append([]cli.Flag{
			configFlag(),
		}, optionFlags(&d)...),
		Action: func(c *cli.Context) error {
			opts := DefaultCorpusOptions()
			if err := configure(c, &opts); err != nil {
				return err
			}
			return runCorpus(c.Context, opts)
		},
	})
}

// runCorpus writes the corpus of opts into opts.Out.
func runCorpus(ctx context.Context, opts CorpusOptions) error {
	tmpl, err := tokenizer.TemplateFor(opts.Template)
	if err != nil {
		return fmt.Errorf("corpus: --template: %w", err)
	}
	render := func(msgs []dataset.Message) (string, error) {
		m := make([]tokenizer.Message, len(msgs))
		for i, x := range msgs {
			m[i] = tokenizer.Message{Role: x.Role, Content: x.Content}
		}
		return tmpl.Format(m, false)
	}
	m, err := corpus.Write(ctx, corpus.Options{Dir: opts.Out, Docs: opts.Docs, TestDocs: opts.TestDocs, Seed: opts.Seed, Render: render, Template: tmpl.Name})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "corpus: %d train and %d test documents in %s:", m.Train, m.Test, opts.Out)
	for _, k := range slices.Sorted(maps.Keys(m.Kinds)) {
		fmt.Fprintf(os.Stderr, " %s %d", k, m.Kinds[k])
	}
	fmt.Fprintln(os.Stderr)
	return nil
}
