package sampler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/record"
	"github.com/parquet-go/parquet-go"
)

// ParquetPrompts streams prompts from a Parquet file with flat columns (as
// Hugging Face datasets ship GSM8K and MATH-500).
type ParquetPrompts struct {
	Path   string
	Fields Fields
}

func (p *ParquetPrompts) Name() string { return p.Path }

func (p *ParquetPrompts) Each(ctx context.Context, fn func(record.Prompt) error) error {
	f, err := os.Open(p.Path)
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("prompts: %s: %w", p.Path, err)
	}
	schema := pf.Schema()
	// Map each named leaf column to its index once; rows are then read as
	// flat value lists without reflection.
	cols := map[string]int{}
	for _, path := range schema.Columns() {
		if len(path) != 1 {
			continue // nested columns are not prompt fields
		}
		if leaf, ok := schema.Lookup(path...); ok {
			cols[path[0]] = leaf.ColumnIndex
		}
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	source := sourceName(p.Path)
	base := filepath.Base(p.Path)
	rows := make([]parquet.Row, 64)
	n := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		k, err := r.ReadRows(rows)
		for _, row := range rows[:k] {
			n++
			vals := map[int]parquet.Value{}
			for _, v := range row {
				vals[v.Column()] = v
			}
			get := func(name string) (string, bool, error) {
				ci, ok := cols[name]
				if !ok {
					return "", false, nil
				}
				v, ok := vals[ci]
				if !ok || v.IsNull() {
					return "", false, nil
				}
				return v.String(), true, nil
			}
			pr, err := buildPrompt(get, p.Fields, source, base, n)
			if err != nil {
				return fmt.Errorf("prompts: %s: row %d: %w", p.Path, n, err)
			}
			if err := fn(pr); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("prompts: %s: %w", p.Path, err)
		}
	}
}
