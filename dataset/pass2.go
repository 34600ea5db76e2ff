package dataset

import (
	"context"
	"errors"
	"hash/fnv"
	"path/filepath"

	"github.com/distill-dev/distill/dataset/verify"
)

// Splits a row can go to.
const (
	splitTrain = iota
	splitTest
	splitReject
)

type p2row struct {
	split  int
	row    Row
	reason string
}

type p2batch struct{ rows []p2row }

// isTest puts a prompt in the test split by a hash of its id: stable across
// runs and machines, and all samples of a prompt land on the same side.
func isTest(promptID string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(promptID))
	return float64(mix64(h.Sum64())>>11)/(1<<53) < fraction
}

func (r *run) pass2(parent context.Context) (err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	so := ShardOptions{ShardBytes: int64(r.cfg.Output.ShardSizeMB) << 20, RowGroupBytes: r.cfg.Output.RowGroupMB << 20}
	dir := r.opts.OutDir
	train := NewShardWriter[Row](dir, "train", so, func(x *Row) int { return x.size() })
	test := NewShardWriter[Row](dir, "test", so, func(x *Row) int { return x.size() })
	rejects := NewShardWriter[RejectRow](dir, "rejects", so, func(x *RejectRow) int { return x.size() })
	defer func() {
		if err != nil {
			train.Abort()
			test.Abort()
			rejects.Abort()
		}
	}()
	decons := make([]*Decontaminator, r.workers)
	for i := range decons {
		decons[i] = r.decon.clone()
	}
	in, errc := r.read(ctx, r.lineCount, nil, 2)
	err = orderedMap(ctx, in, r.workers, func(w int, b *batch) p2batch {
		return r.build(decons[w], b)
	}, func(b p2batch) error {
		for i := range b.rows {
			x := &b.rows[i]
			var err error
			switch x.split {
			case splitTrain:
				err = train.Write(x.row)
			case splitTest:
				err = test.Write(x.row)
			default:
				if r.cfg.Output.WriteRejects {
					err = rejects.Write(rejectRow(x.row, x.reason))
				}
			}
			if err != nil {
				return err
			}
			r.count(x)
		}
		return nil
	})
	cancel()
	drain(in)
	if rerr := <-errc; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	if err != nil {
		return err
	}
	if err := parent.Err(); err != nil {
		return err
	}
	for _, w := range []struct {
		name string
		w    interface{ Close() ([]string, error) }
	}{{"train", train}, {"test", test}, {"rejects", rejects}} {
		if w.name == "test" && r.cfg.Select.TestFraction == 0 {
			// No test split asked for: write none, and remove an old one.
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

// build turns the items of a batch into rows with their final destination.
func (r *run) build(decon *Decontaminator, b *batch) p2batch {
	out := p2batch{rows: make([]p2row, 0, len(b.items))}
	k := r.cfg.keepPerPrompt()
	for i, it := range b.items {
		seq := b.first + int64(i)
		d := r.decisions[seq]
		code := decisionCode(d)
		if code == codeBad || (code != codeCandidate && !r.cfg.Output.WriteRejects) {
			continue // nothing to write: the rejection is counted already
		}
		t, bad, _ := parseTrace(it.data)
		if bad != "" {
			continue // cannot happen: pass 1 parsed the same bytes
		}
		x := p2row{row: r.row(&t, decisionVerdict(d))}
		reason := reasonNames[code]
		if code == codeCandidate {
			p := r.prompts[t.PromptID]
			switch {
			case p != nil && !r.inBand(p):
				reason = ReasonPassRate
			case k > 0 && (p == nil || !p.has(seq)):
				reason = ReasonNotSelected
			}
		}
		if reason == ReasonContaminated {
			reason += ":" + decon.Match(t.Prompt, t.ThinkReasoning, t.Answer)
		}
		switch {
		case reason != "":
			x.split, x.reason = splitReject, reason
		case isTest(t.PromptID, r.cfg.Select.TestFraction):
			x.split = splitTest
		default:
			x.split = splitTrain
		}
		out.rows = append(out.rows, x)
	}
	return out
}

func (r *run) row(t *Trace, verdict uint8) Row {
	row := Row{
		Messages: []Message{{Role: "user", Content: t.Prompt},
			{Role: "assistant", Content: t.Assistant()}},
		Prompt: t.Prompt, Reasoning: t.ThinkReasoning, Answer: t.Answer, Reference: t.Reference,
		Correct: verdict == uint8(verify.Correct), NumTokens: int64(numTokens(t)),
		Source: t.Source, Teacher: t.Teacher, PromptID: t.PromptID, Sample: int64(t.Sample),
	}
	if row.Teacher == "" {
		row.Teacher = t.Model
	}
	if verdict != verdictNone {
		row.Verifier = r.verifierFor(t.Task).Name()
	}
	return row
}

func rejectRow(r Row, reason string) RejectRow {
	return RejectRow{Messages: r.Messages, Prompt: r.Prompt, Reasoning: r.Reasoning, Answer: r.Answer,
		Reference: r.Reference, Correct: r.Correct, Verifier: r.Verifier, NumTokens: r.NumTokens,
		Source: r.Source, Teacher: r.Teacher, PromptID: r.PromptID, Sample: r.Sample, RejectReason: reason}
}

// count updates the stats with a row's final destination.
func (r *run) count(x *p2row) {
	st := r.stats
	switch x.split {
	case splitReject:
		if x.reason == ReasonPassRate || x.reason == ReasonNotSelected {
			st.Reasons[x.reason]++
			st.Rejected++
		}
		return
	case splitTrain:
		st.Train++
	case splitTest:
		st.Test++
	}
	st.Kept++
	st.source(x.row.Source).Kept++
	b := lengthBin(int(x.row.NumTokens))
	for len(st.Lengths) <= b {
		lo := 0
		if n := len(st.Lengths); n > 0 {
			lo = 1 << n
		}
		st.Lengths = append(st.Lengths, LengthBin{Min: lo, Max: 1 << (len(st.Lengths) + 1)})
	}
	st.Lengths[b].Count++
}

func (r *run) finishStats() {
	for _, s := range r.stats.Sources {
		if n := s.Correct + s.Wrong; n > 0 {
			s.Accuracy = float64(s.Correct) / float64(n)
		}
	}
	r.stats.Config = *r.cfg
}
