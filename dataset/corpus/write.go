package corpus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/atomicfile"
)

// TextRow is a language-modelling row: the trainer learns every token of
// Text (Hugging Face datasets' "text" column, as TRL's SFTTrainer reads it).
type TextRow struct {
	Text string `parquet:"text"`
}

// Options say what corpus Write makes.
type Options struct {
	Dir      string
	Docs     int    // train documents: indices 0..Docs-1
	TestDocs int    // held-out documents: the next TestDocs indices
	Seed     uint64 // the corpus is Format(Seed, i) for each index i
	// Render turns a document's chat into its text: the student's chat
	// template, so that pretraining sees the tokens SFT and GRPO will.
	Render   func(msgs []dataset.Message) (string, error)
	Template string // Render's name, for the manifest
}

// Manifest is DIR/corpus.json, written last: what the corpus holds.
type Manifest struct {
	Seed     uint64         `json:"seed"`
	Train    int            `json:"train"`
	Test     int            `json:"test"`
	Kinds    map[string]int `json:"kinds"` // documents of each kind, both splits
	Template string         `json:"template"`
}

// ManifestName is the file Write writes last.
const ManifestName = "corpus.json"

// Write writes the corpus as Parquet shards with a text column,
// DIR/train-*.parquet and DIR/test-*.parquet (the layout of `distill
// filter`'s output, which `distill train --data` reads), then DIR/corpus.json.
func Write(ctx context.Context, o Options) (*Manifest, error) {
	switch {
	case o.Docs <= 0:
		return nil, fmt.Errorf("corpus: --docs must be positive, got %d", o.Docs)
	case o.TestDocs < 0:
		return nil, fmt.Errorf("corpus: --test-docs must not be negative, got %d", o.TestDocs)
	case o.Dir == "":
		return nil, errors.New("corpus: --out is required")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	m := &Manifest{Seed: o.Seed, Train: o.Docs, Test: o.TestDocs, Kinds: map[string]int{}, Template: o.Template}
	size := func(r *TextRow) int { return len(r.Text) + 8 }
	for _, split := range []struct {
		name     string
		from, to int
	}{{"train", 0, o.Docs}, {"test", o.Docs, o.Docs + o.TestDocs}} {
		w := dataset.NewShardWriter[TextRow](o.Dir, split.name, dataset.ShardOptions{}, size)
		for i := split.from; i < split.to; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				w.Abort()
				return nil, ctx.Err()
			}
			d := Format(o.Seed, i)
			text, err := o.Render(d.Messages())
			if err == nil {
				err = w.Write(TextRow{Text: text})
			}
			if err != nil {
				w.Abort()
				return nil, fmt.Errorf("corpus: document %d: %w", i, err)
			}
			m.Kinds[d.Kind]++
		}
		if _, err := w.Close(); err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(o.Dir, ManifestName), m); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return m, nil
}
