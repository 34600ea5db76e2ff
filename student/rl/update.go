package rl

import (
	"fmt"
	"math"

	"github.com/distill-dev/distill/student/train"
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

// update turns the groups into one (or, with NumIterations > 1, several)
// policy updates and returns the step's metrics.
func (r *run) update(groups []*group, lr float64) (Metric, error) {
	o := r.o
	m := Metric{LR: lr, Rewards: map[string]Stat{}}
	var all []float64
	per := make([][]float64, len(r.rs))
	zero, trunc, compTok := 0, 0, 0
	// Every completion's tokens count in T (token-level aggregation), but
	// only sequences with a gradient are run: with Beta 0 a zero advantage
	// (a group whose rewards are all equal) contributes exactly nothing.
	var seqs []*sequence
	T := 0
	for _, g := range groups {
		all = append(all, g.total...)
		for k := range r.rs {
			per[k] = append(per[k], g.scores[k]...)
		}
		if groupStd(g.total, mean(g.total)) == 0 {
			zero++
		}
		for i, c := range g.comps {
			if g.samples[i].FinishReason == "length" {
				trunc++
			}
			compTok += len(c)
			n := min(len(c), r.seq-len(g.ids))
			T += n
			r.state.Tokens += int64(len(g.ids) + len(c))
			if n > 0 && (o.Beta != 0 || g.adv[i] != 0) {
				seqs = append(seqs, &sequence{prompt: g.ids, comp: c, adv: g.adv[i], n: n})
			}
		}
	}
	ncomp := len(all)
	m.Reward = Stat{mean(all), groupStd(all, mean(all))}
	for k, w := range r.rs {
		m.Rewards[w.name] = Stat{mean(per[k]), groupStd(per[k], mean(per[k]))}
	}
	m.ZeroStdGroups = float64(zero) / float64(max(1, len(groups)))
	m.Truncated = float64(trunc) / float64(max(1, ncomp))
	m.CompLen = float64(compTok) / float64(max(1, ncomp))
	if len(seqs) == 0 || T == 0 {
		return m, nil // no signal in any group: nothing to update
	}

	mb, seq := o.MicroBatch, r.seq
	b := &rows{tokens: make([]int32, mb*seq), targets: make([]int32, mb*seq), coef: make([]float32, mb*seq)}
	chunks := func(fn func(cs []*sequence) error) error {
		for i := 0; i < len(seqs); i += mb {
			cs := seqs[i:min(i+mb, len(seqs))]
			b.fill(cs, seq)
			if err := fn(cs); err != nil {
				return err
			}
		}
		return nil
	}
	// gather copies each sequence's completion log-probabilities out of lp.
	gather := func(cs []*sequence, lp []float32, dst func(*sequence) *[]float64) {
		for j, s := range cs {
			v := make([]float64, s.n)
			for k := range s.n {
				v[k] = float64(lp[at(s, j, k, seq)])
			}
			*dst(s) = v
		}
	}
	if r.ref != nil {
		if err := chunks(func(cs []*sequence) error {
			lp, err := r.ref.Forward(b.tokens, b.targets, nil)
			if err != nil {
				return err
			}
			gather(cs, lp, func(s *sequence) *[]float64 { return &s.ref })
			return nil
		}); err != nil {
			return m, fmt.Errorf("reference: %w", err)
		}
	}
	if o.NumIterations > 1 {
		// The sampling policy's log-probabilities, fixed for all iterations.
		if err := chunks(func(cs []*sequence) error {
			lp, err := r.pol.Forward(b.tokens, b.targets, nil)
			if err != nil {
				return err
			}
			gather(cs, lp, func(s *sequence) *[]float64 { return &s.old })
			return nil
		}); err != nil {
			return m, err
		}
	}

	invT := 1 / float64(T)
	var loss, kl float64
	clipped, counted := 0, 0
	for it := range o.NumIterations {
		r.pol.ZeroGrads()
		var itLoss float64
		err := chunks(func(cs []*sequence) error {
			lp, err := r.pol.Forward(b.tokens, b.targets, nil)
			if err != nil {
				return err
			}
			for j, s := range cs {
				for k := range s.n {
					i := at(s, j, k, seq)
					t := Token{LogP: float64(lp[i]), Adv: s.adv}
					t.Old, t.Ref = t.LogP, t.LogP // μ = 1: ratio 1, old = current detached
					if s.old != nil {
						t.Old = s.old[k]
					}
					if s.ref != nil {
						t.Ref = s.ref[k]
					}
					c, clip := r.obj.Coef(t)
					l, _ := r.obj.Loss(t)
					b.coef[i] = float32(c * invT)
					itLoss += l * invT
					if clip {
						clipped++
					}
					counted++
					if it == 0 {
						kl += k3(t)
					}
				}
			}
			return r.pol.Backward(b.coef)
		})
		if err != nil {
			return m, err
		}
		if math.IsNaN(itLoss) || math.IsInf(itLoss, 0) {
			return m, fmt.Errorf("%w (%v)", train.ErrNonFinite, itLoss)
		}
		m.GradNorm = train.ClipGradNorm(r.grads, o.MaxGradNorm)
		r.opt.Update(r.params, r.grads, lr)
		loss = itLoss
	}
	m.Loss = loss
	m.KL = kl * invT
	m.ClipFrac = float64(clipped) / float64(max(1, counted))
	return m, nil
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
