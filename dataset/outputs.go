package dataset

import (
	"path/filepath"

	"github.com/distill-dev/distill/dataset/verify"
)

// outputs are the shard writers of the three splits. Rows reach them in
// input order, from pass 2 or, when no per-prompt policy needs a second
// look, straight from pass 1 (Run).
type outputs struct {
	train, test *ShardWriter[Row]
	rejects     *ShardWriter[RejectRow]
}

func (r *run) newOutputs() *outputs {
	so := ShardOptions{ShardBytes: int64(r.cfg.Output.ShardSizeMB) << 20, RowGroupBytes: r.cfg.Output.RowGroupMB << 20}
	dir := r.opts.OutDir
	return &outputs{
		train:   NewShardWriter[Row](dir, "train", so, func(x *Row) int { return x.size() }),
		test:    NewShardWriter[Row](dir, "test", so, func(x *Row) int { return x.size() }),
		rejects: NewShardWriter[RejectRow](dir, "rejects", so, func(x *RejectRow) int { return x.size() }),
	}
}

// place writes a decided row to its split and counts it.
func (r *run) place(o *outputs, x *spilled, k int) error {
	x.row.Correct = x.verdict == uint8(verify.Correct)
	split, reason := r.destination(x, k)
	var err error
	switch split {
	case splitTrain:
		x.row.withMessages()
		err = o.train.Write(x.row)
	case splitTest:
		x.row.withMessages()
		err = o.test.Write(x.row)
	default:
		if r.cfg.Output.WriteRejects {
			err = o.rejects.Write(rejectRow(x.row, reason))
		}
	}
	if err != nil {
		return err
	}
	r.count(split, reason, &x.row)
	return nil
}

// close finishes the shards and records their names in the stats; a split
// that is not asked for (no test fraction, no rejects) has its old shards
// removed instead.
func (r *run) closeOutputs(o *outputs) error {
	dir := r.opts.OutDir
	for _, w := range []struct {
		name string
		w    interface{ Close() ([]string, error) }
	}{{"train", o.train}, {"test", o.test}, {"rejects", o.rejects}} {
		if w.name == "test" && r.cfg.Select.TestFraction == 0 {
			if err := removeShards(dir, "test", nil); err != nil {
				return err
			}
			continue
		}
		if w.name == "rejects" && !r.cfg.Output.WriteRejects {
			if err := removeShards(dir, "rejects", nil); err != nil {
				return err
			}
			continue
		}
		paths, err := w.w.Close()
		if err != nil {
			return err
		}
		for _, p := range paths {
			r.stats.Shards[w.name] = append(r.stats.Shards[w.name], filepath.Base(p))
		}
	}
	return nil
}

// abort removes the temporary shards of a failed run.
func (o *outputs) abort() {
	o.train.Abort()
	o.test.Abort()
	o.rejects.Abort()
}
