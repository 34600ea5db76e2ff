package train

import (
	"context"
	"fmt"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student/tokenizer"
)

// LoadExamples reads the messages column of the Parquet files and renders
// each conversation with the template, keeping the assistant mask. Rows
// without an assistant turn are skipped and counted. The rendered ids are
// held in memory: 5 bytes a token, so an 800k-trace R1 set (~4G tokens)
// needs a streaming loader this version does not have.
func LoadExamples(ctx context.Context, files []string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template) (exs []Example, skipped int, err error) {
	for _, f := range files {
		row := 0
		err := dataset.ReadMessages(ctx, f, func(r dataset.MessagesRow) error {
			row++
			msgs := make([]tokenizer.Message, len(r.Messages))
			hasAssistant := false
			for i, m := range r.Messages {
				msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
				hasAssistant = hasAssistant || m.Role == "assistant"
			}
			if !hasAssistant {
				skipped++
				return nil
			}
			ids, mask, err := tmpl.Render(tok, msgs, false)
			if err != nil {
				return fmt.Errorf("%s row %d: %w", f, row, err)
			}
			exs = append(exs, Example{IDs: ids, Mask: mask})
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f, err)
		}
	}
	return exs, skipped, nil
}
