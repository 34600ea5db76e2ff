package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/tokens"
)

// DataStats is the filter stage: data/stats.json and the length
// histogram of the kept traces.
type DataStats struct {
	Stats *dataset.Stats // nil when stats.json is missing
	// Lengths are the kept rows by num_tokens in power-of-two bins, from
	// stats.json or, when it lacks them, counted in the train and test
	// shards (the kept rows, as in stats.json).
	Lengths     []dataset.LengthBin
	LengthsFrom string
}

func (r *Run) loadData(ctx context.Context) error {
	dir := filepath.Join(r.Dir, DataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		r.missing("filter: no %s/ directory", DataDir)
		return nil
	}
	d := &DataStats{}
	var st dataset.Stats
	switch err := readJSON(filepath.Join(dir, "stats.json"), &st); {
	case errors.Is(err, os.ErrNotExist):
		r.missing("filter: no %s/stats.json (the dataset was not written by distill filter, or it did not finish)", DataDir)
	case err != nil:
		r.problem(err)
	default:
		d.Stats = &st
		if total(st.Lengths) > 0 {
			d.Lengths, d.LengthsFrom = st.Lengths, DataDir+"/stats.json"
		}
	}
	if d.Lengths == nil {
		var shards []string
		for _, split := range []string{"train", "test"} {
			s, err := dataset.ListShards(dir, split)
			if err != nil {
				r.problem(err)
			}
			shards = append(shards, s...)
		}
		if len(shards) > 0 {
			bins, err := shardLengths(ctx, shards)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				r.problem(err)
			} else {
				d.Lengths, d.LengthsFrom = bins, fmt.Sprintf("%d train and test shard(s)", len(shards))
			}
		}
	}
	if d.Stats == nil && d.Lengths == nil {
		r.missing("filter: no stats.json and no train or test shards in %s/", DataDir)
		return nil
	}
	r.Data = d
	return nil
}

func total(bins []dataset.LengthBin) int64 {
	var n int64
	for _, b := range bins {
		n += b.Count
	}
	return n
}

// lengthBins counts lengths in the bins of dataset.Stats: [2^i, 2^(i+1)),
// the first being [0, 2).
type lengthBins []int64

func (l *lengthBins) add(n int64) {
	b := 0
	for v := n; v > 1; v >>= 1 {
		b++
	}
	for len(*l) <= b {
		*l = append(*l, 0)
	}
	(*l)[b]++
}

func (l lengthBins) bins() []dataset.LengthBin {
	out := make([]dataset.LengthBin, len(l))
	for i, c := range l {
		lo, hi := 1<<i, 2<<i
		if i == 0 {
			lo = 0
		}
		out[i] = dataset.LengthBin{Min: lo, Max: hi, Count: c}
	}
	return out
}

// shardLengths counts the rows of the shards by their num_tokens column,
// or, for files other tools wrote without it, by the token estimate of the
// assistant turns that the filter uses for traces without usage.
func shardLengths(ctx context.Context, shards []string) ([]dataset.LengthBin, error) {
	var l lengthBins
	for _, path := range shards {
		ok, err := numTokensColumn(ctx, path, &l)
		if err != nil {
			return nil, err
		}
		if ok {
			continue
		}
		err = dataset.ReadMessages(ctx, path, func(row dataset.MessagesRow) error {
			n := 0
			for _, m := range row.Messages {
				if m.Role == "assistant" {
					n += tokens.Estimate(m.Content)
				}
			}
			l.add(int64(n))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return l.bins(), nil
}

type numTokensRow struct {
	NumTokens int64 `parquet:"num_tokens"`
}

// numTokensColumn adds the num_tokens of every row of path to l; false when
// the file has no such column.
func numTokensColumn(ctx context.Context, path string, l *lengthBins) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	col, ok := pf.Schema().Lookup("num_tokens")
	if !ok || col.Node.Type().Kind() != parquet.Int64 {
		return false, nil
	}
	rd := parquet.NewGenericReader[numTokensRow](pf)
	defer rd.Close()
	buf := make([]numTokensRow, 1024)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		n, err := rd.Read(buf)
		for _, row := range buf[:n] {
			l.add(row.NumTokens)
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
	}
}
