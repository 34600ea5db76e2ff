package dataset

import (
	"context"
	"errors"
	"io"

	"github.com/distill-dev/distill/dataset/verify"
)

// Splits a row can go to.
const (
	splitTrain = iota
	splitTest
	splitReject
)

// IsTest puts a prompt in the test split by a hash of its id: stable across
// runs and machines, and all samples of a prompt land on the same side
// (distill filter and distill export verl split alike).
func IsTest(promptID string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	return float64(hashString(promptID)>>11)/(1<<53) < fraction // mix64 of FNV-1a
}

// pass2 writes the spilled rows to their splits, in input order.
func (r *run) pass2(ctx context.Context, sp *spillReader) (err error) {
	o := r.newOutputs()
	defer func() {
		if err != nil {
			o.abort()
		}
	}()
	k := r.cfg.keepPerPrompt()
	var x spilled
	var done, shown int64
	if r.opts.Progress != nil {
		r.opts.Progress(2, 0)
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := sp.next(&x); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if done += x.bytes; r.opts.Progress != nil && done-shown >= 4<<20 {
			r.opts.Progress(2, done)
			shown = done
		}
		if err := r.place(o, &x, k); err != nil {
			return err
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(2, r.stats.BytesIn)
	}
	return r.closeOutputs(o)
}

// destination is the split of a spilled row and, for rejects, the reason.
func (r *run) destination(x *spilled, k int) (split int, reason string) {
	reason = reasonNames[x.code]
	if x.code == codeCandidate {
		var p *promptState
		if s := &r.states[x.prompt]; s.present {
			p = s
		}
		switch {
		case p != nil && !r.inBand(p):
			reason = ReasonPassRate
		case k > 0 && (p == nil || !hasSeq(r.best[x.prompt], x.seq)):
			reason = ReasonNotSelected
		}
	}
	if reason == ReasonContaminated {
		reason += ":" + x.contam
	}
	switch {
	case reason != "":
		return splitReject, reason
	case IsTest(x.row.PromptID, r.cfg.Select.TestFraction):
		return splitTest, ""
	}
	return splitTrain, ""
}

func rejectRow(r Row, reason string) RejectRow {
	return RejectRow{Prompt: r.Prompt, Reasoning: r.Reasoning, Answer: r.Answer,
		Reference: r.Reference, Correct: r.Correct, Verifier: r.Verifier, NumTokens: r.NumTokens,
		Source: r.Source, Teacher: r.Teacher, PromptID: r.PromptID, Sample: r.Sample, RejectReason: reason}
}

// count updates the stats with a row's final destination.
func (r *run) count(split int, reason string, row *Row) {
	st := r.stats
	switch split {
	case splitReject:
		if reason == ReasonPassRate || reason == ReasonNotSelected {
			st.Reasons[reason]++
			st.Rejected++
		}
		return
	case splitTrain:
		st.Train++
	case splitTest:
		st.Test++
	}
	st.Kept++
	st.source(row.Source).Kept++
	b := lengthBin(int(row.NumTokens))
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
	for v, n := range r.verdicts {
		if n > 0 {
			r.stats.Verdicts[verify.Verdict(v).String()] += n
		}
	}
	for code, n := range r.reasons {
		if n > 0 {
			r.stats.Reasons[reasonNames[code]] += n
		}
	}
	for _, s := range r.stats.Sources {
		if n := s.Correct + s.Wrong; n > 0 {
			s.Accuracy = float64(s.Correct) / float64(n)
		}
	}
	r.stats.Config = *r.cfg
}
