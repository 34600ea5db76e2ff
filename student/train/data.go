package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student/tokenizer"
)

// progressEvery is how often rendering a split reports its progress, so
// that the log of a batch job shows it alive on a large set.
var progressEvery = 10 * time.Second

// loadSplit returns the token cache of a split of the mixture's shards,
// OUT/cache/SPLIT.tokens: the one already there when it was rendered from
// the same rows with the same tokenizer and template (a rerun, --resume),
// else a new one.
func loadSplit(ctx context.Context, o *Options, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, plan *Plan, split string) (*tokenCache, error) {
	path := filepath.Join(o.Out, "cache", split+".tokens")
	key, err := newCacheKey(plan, split, tok, tmpl)
	if err != nil {
		return nil, err
	}
	c, err := openCache(ctx, path, key)
	switch {
	case err == nil:
		o.logf("%s: %d examples rendered by an earlier run", path, c.Len())
		return c, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case !errors.Is(err, fs.ErrNotExist):
		o.logf("%v; rendering the shards again", err)
	}
	if err := renderSplit(ctx, path, key, plan, split, tok, tmpl, o.logf); err != nil {
		return nil, err
	}
	return openCache(ctx, path, key)
}

// renderSplit reads the messages (or text) column of the split's rows that
// the plan keeps and renders each conversation with the template, keeping
// the assistant mask, into a new cache at path; a text row is trained on
// whole. Rows without an assistant turn or text are skipped and counted. Memory stays flat: rows go to the file as they
// are rendered.
func renderSplit(ctx context.Context, path string, key cacheKey, plan *Plan, split string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template,
	logf func(string, ...any)) error {
	w, err := createCache(path)
	if err != nil {
		return err
	}
	defer w.f.Abort()
	start := time.Now()
	last := start
	examples, skipped := 0, 0
	err = plan.ReadRows(ctx, split, func(f string, row int, r dataset.MessagesRow) error {
		ids, mask, ok, err := render(r, tok, tmpl)
		if err != nil {
			return fmt.Errorf("%s row %d: %w", f, row, err)
		}
		if !ok {
			skipped++
			return nil
		}
		if err := w.add(ids, mask); err != nil {
			return err
		}
		examples++
		if now := time.Now(); now.Sub(last) >= progressEvery {
			last = now
			logf("%s: %d examples rendered (%.0f/s)", path, examples, float64(examples)/now.Sub(start).Seconds())
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	if err := w.commit(key, skipped); err != nil {
		return err
	}
	el := time.Since(start)
	logf("%s: %d examples (%d tokens, %d rows without an assistant turn) rendered in %s (%.0f/s)",
		path, examples, w.tokens, skipped, el.Round(time.Millisecond), float64(examples)/max(el.Seconds(), 1e-9))
	return nil
}

// render renders a row's conversation with the template: its ids and the
// assistant mask. ok is false for a conversation without an assistant
// turn, which has nothing to learn from. A row with text and no messages
// is a language-modelling row, tokenised as TRL's SFTTrainer does a text
// dataset: the text, then the tokenizer's EOS unless it ends with it, every
// token trained on.
func render(r dataset.MessagesRow, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template) (ids []int32, mask []bool, ok bool, err error) {
	if len(r.Messages) == 0 && r.Text != "" {
		eos, has := tok.EOS()
		if !has {
			return nil, nil, false, errors.New("a text row, and the tokenizer has no EOS token to end it with")
		}
		ids = tok.Encode(r.Text)
		if len(ids) == 0 || ids[len(ids)-1] != eos { // TRL appends it unless the text ends with it
			ids = append(ids, eos)
		}
		mask = make([]bool, len(ids))
		for i := range mask {
			mask[i] = true
		}
		return ids, mask, true, nil
	}
	msgs := make([]tokenizer.Message, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
		ok = ok || m.Role == "assistant"
	}
	if !ok {
		return nil, nil, false, nil
	}
	ids, mask, err = tmpl.Render(tok, msgs, false)
	return ids, mask, err == nil, err
}
