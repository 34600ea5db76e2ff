package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// MessagesRow is what trainers need from a dataset row: the conversation,
// or for a language-modelling row (a `text` column, as Hugging Face text
// datasets have it) the text, every token of which is trained on.
type MessagesRow struct {
	Messages []Message `parquet:"messages,list"`
	Text     string    `parquet:"text"`
}

// readBatch is how many rows ReadMessages decodes at a time.
const readBatch = 256

// ReadMessages calls fn for every row of the Parquet file at path, in order,
// with its `messages` column, or its `text` column in a file without one.
// Other columns are ignored, so files written by other tools (Hugging Face
// datasets, DuckDB, pandas) work as long as they have a `messages` list of
// struct<role, content> (in any field order) or a string `text`. It stops at
// the first error fn returns and returns it.
func ReadMessages(ctx context.Context, path string, fn func(row MessagesRow) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("read messages %s: %w", path, err)
	}
	if !hasField(pf.Schema(), "messages") && !hasField(pf.Schema(), "text") {
		return fmt.Errorf("read messages %s: %w", path, ErrNoMessages)
	}
	r, err := openMessagesReader(pf)
	if err != nil {
		return fmt.Errorf("read messages %s: %w", path, err)
	}
	defer r.Close()
	buf := make([]MessagesRow, readBatch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		for i := 0; i < n; i++ {
			if ferr := fn(buf[i]); ferr != nil {
				return ferr
			}
			buf[i] = MessagesRow{}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read messages %s: %w", path, err)
		}
	}
}

// openMessagesReader converts the file's schema to MessagesRow; parquet-go panics
// when the two cannot be reconciled, which here is bad input, not a bug.
func openMessagesReader(pf *parquet.File) (r *parquet.GenericReader[MessagesRow], err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("messages column has an unexpected type: %v", p)
		}
	}()
	return parquet.NewGenericReader[MessagesRow](pf), nil
}

func hasField(s *parquet.Schema, name string) bool {
	for _, f := range s.Fields() {
		if f.Name() == name {
			return true
		}
	}
	return false
}

// ErrNoMessages is returned when a Parquet file has neither a `messages`
// nor a `text` column.
var ErrNoMessages = errors.New("no messages or text column")

// shardName matches the Hugging Face shard names we write, and the usual
// variants other tools write (train-00000-of-00004.parquet, train.parquet,
// train-0.parquet, data/train-….parquet).
var shardName = regexp.MustCompile(`^([A-Za-z0-9_]+?)(?:[-_]\d+(?:-of-\d+)?)?(?:-[0-9a-f]{8,})?\.parquet$`)

// ListShards returns the Parquet shard files of split ("train", "test") in
// dir, sorted by name. It also looks in dir/data, where Hugging Face puts
// them. It returns an empty list, not an error, when the split has no shards.
func ListShards(dir, split string) ([]string, error) {
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, "data")} {
		entries, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) && d != dir {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list shards: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			m := shardName.FindStringSubmatch(e.Name())
			if m != nil && m[1] == split {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// CountRows is the number of rows of the Parquet file at path, from its
// footer: no row is read.
func CountRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("count rows %s: %w", path, err)
	}
	return int(pf.NumRows()), nil
}
