package rl

import (
	"fmt"

	"github.com/distill-dev/distill/student/trainer"
)

// sequence is one completion laid out in a row of the graph: prompt then
// completion, one sequence per row.
type sequence struct {
	prompt, comp []int32
	adv          float64
	n            int       // completion tokens trained on (the row may cut the completion)
	ref, old     []float64 // per completion token, when needed
}

// rows is a micro-batch in the graph's flat layout.
type rows struct {
	tokens, targets []int32
	coef            []float32
}

// fill lays seqs out, one per row; row r's completion token k is predicted
// at position r*seq + len(prompt)-1 + k.
func (b *rows) fill(seqs []*sequence, seq int) {
	for i := range b.tokens {
		b.tokens[i], b.targets[i], b.coef[i] = 0, -1, 0
	}
	for r, s := range seqs {
		row := b.tokens[r*seq : (r+1)*seq]
		tg := b.targets[r*seq : (r+1)*seq]
		n := copy(row, s.prompt)
		copy(row[n:], s.comp[:s.n])
		for k := range s.n {
			tg[len(s.prompt)-1+k] = s.comp[k]
		}
	}
}

// at is the flat index of sequence r's completion token k.
func at(s *sequence, r, k, seq int) int { return r*seq + len(s.prompt) - 1 + k }

// batch is a step's sequences with a gradient, and T, the number of
// completion tokens of all its completions (the loss's denominator).
type batch struct {
	seqs []*sequence
	T    int
	rows *rows
}

// update turns the groups trained on into one (or, with NumIterations > 1,
// several) policy updates and returns the step's metrics, whose rewards
// are those of every group sampled.
func (r *run) update(s *trainer.State, groups, train []*group, u *trainer.Update) (Metric, error) {
	o := r.o
	b, m := r.collect(s, groups, train)
	m.LR = u.LR
	if len(b.seqs) == 0 || b.T == 0 {
		return m, nil // no signal in any group: nothing to update
	}
	if err := r.logProbs(b); err != nil {
		return m, err
	}
	var kl float64
	clipped, counted := 0, 0
	for it := range o.NumIterations {
		r.pol.ZeroGrads()
		res, err := r.objective(b, true)
		if err != nil {
			return m, err
		}
		norm, err := u.Apply(res.loss)
		if err != nil {
			return m, err
		}
		if it == 0 {
			kl = res.kl
		}
		clipped += res.clipped
		counted += res.tokens
		m.GradNorm, m.Loss = norm, res.loss
	}
	m.KL = kl
	m.ClipFrac = float64(clipped) / float64(max(1, counted))
	return m, nil
}

// collect lays out the completions of the groups trained on and computes
// the reward metrics of all the groups sampled. Every completion's tokens
// count in T (token-level aggregation), but only sequences with a gradient
// are kept: with Beta 0 a zero advantage (a group whose rewards are all
// equal) contributes exactly nothing.
func (r *run) collect(s *trainer.State, groups, train []*group) (*batch, Metric) {
	o := r.o
	m := Metric{Rewards: map[string]Stat{}}
	b := &batch{}
	var all []float64
	per := make([][]float64, len(r.rs))
	zero, trunc, compTok := 0, 0, 0
	for _, g := range groups {
		all = append(all, g.total...)
		for k := range r.rs {
			per[k] = append(per[k], g.scores[k]...)
		}
		if !g.signal() {
			zero++
		}
		for i, c := range g.comps {
			if g.samples[i].FinishReason == "length" {
				trunc++
			}
			compTok += len(c)
			s.Tokens += int64(len(g.ids) + len(c))
		}
	}
	for _, g := range train {
		for i, c := range g.comps {
			n := min(len(c), r.seq-len(g.ids))
			b.T += n
			if n > 0 && (o.Beta != 0 || g.adv[i] != 0) {
				b.seqs = append(b.seqs, &sequence{prompt: g.ids, comp: c, adv: g.adv[i], n: n})
			}
		}
	}
	ncomp := len(all)
	m.Reward = Stat{mean(all), groupStd(all, mean(all))}
	for k, w := range r.rs {
		m.Rewards[w.Name] = Stat{mean(per[k]), groupStd(per[k], mean(per[k]))}
	}
	m.ZeroStdGroups = float64(zero) / float64(max(1, len(groups)))
	m.Truncated = float64(trunc) / float64(max(1, ncomp))
	m.CompLen = float64(compTok) / float64(max(1, ncomp))
	mb, seq := o.MicroBatch, r.seq
	b.rows = &rows{tokens: make([]int32, mb*seq), targets: make([]int32, mb*seq), coef: make([]float32, mb*seq)}
	return b, m
}

// chunks fills b.rows with each micro-batch of sequences in turn.
func (r *run) chunks(b *batch, fn func(cs []*sequence) error) error {
	for i := 0; i < len(b.seqs); i += r.o.MicroBatch {
		cs := b.seqs[i:min(i+r.o.MicroBatch, len(b.seqs))]
		b.rows.fill(cs, r.seq)
		if err := fn(cs); err != nil {
			return err
		}
	}
	return nil
}

// logProbs computes the reference's log-probabilities (Beta > 0) and, for
// several iterations per batch, the sampling policy's, fixed for all of
// them. With one iteration the sampling policy is the current one.
func (r *run) logProbs(b *batch) error {
	gather := func(g interface {
		Forward(tokens, targets, segments []int32) ([]float32, error)
	}, dst func(*sequence) *[]float64) error {
		return r.chunks(b, func(cs []*sequence) error {
			lp, err := g.Forward(b.rows.tokens, b.rows.targets, nil)
			if err != nil {
				return err
			}
			for j, s := range cs {
				v := make([]float64, s.n)
				for k := range s.n {
					v[k] = float64(lp[at(s, j, k, r.seq)])
				}
				*dst(s) = v
			}
			return nil
		})
	}
	if r.ref != nil {
		if err := gather(r.ref, func(s *sequence) *[]float64 { return &s.ref }); err != nil {
			return fmt.Errorf("reference: %w", err)
		}
	}
	if r.o.NumIterations > 1 {
		return gather(r.pol, func(s *sequence) *[]float64 { return &s.old })
	}
	return nil
}

type objectiveResult struct {
	loss, kl        float64
	clipped, tokens int
}

// objective runs the policy over the batch and returns the loss
// Σ_t L_t / T; with backward it also accumulates its gradient into the
// policy graph's Grads, through coef_t = -dL/dlogp_t (Objective.Coef).
func (r *run) objective(b *batch, backward bool) (objectiveResult, error) {
	var res objectiveResult
	invT := 1 / float64(b.T)
	err := r.chunks(b, func(cs []*sequence) error {
		lp, err := r.pol.Forward(b.rows.tokens, b.rows.targets, nil)
		if err != nil {
			return err
		}
		for j, s := range cs {
			for k := range s.n {
				i := at(s, j, k, r.seq)
				t := Token{LogP: float64(lp[i]), Adv: s.adv}
				t.Old, t.Ref = t.LogP, t.LogP // one iteration: ratio 1, old = current detached
				if s.old != nil {
					t.Old = s.old[k]
				}
				if s.ref != nil {
					t.Ref = s.ref[k]
				}
				c, clip := r.obj.Coef(t)
				l, _ := r.obj.Loss(t)
				b.rows.coef[i] = float32(c * invT)
				res.loss += l * invT
				res.kl += k3(t) * invT
				if clip {
					res.clipped++
				}
				res.tokens++
			}
		}
		if !backward {
			return nil
		}
		return r.pol.Backward(b.rows.coef)
	})
	return res, err
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
