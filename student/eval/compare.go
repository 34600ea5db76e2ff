package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Paired is B − A in one metric over the prompts both were measured on.
type Paired struct {
	A    float64  `json:"a"`
	B    float64  `json:"b"`
	Diff float64  `json:"diff"` // B − A
	CI   Interval `json:"ci95"` // of Diff, percentile paired bootstrap over prompts
	P    float64  `json:"p"`    // two-sided, sign-flip permutation test over prompts
}

// Comparison is compare.json: two evaluations of the same prompts, paired.
type Comparison struct {
	A         string `json:"a"`
	B         string `json:"b"`
	Prompts   int    `json:"prompts"`
	K         int    `json:"k"`
	Resamples int    `json:"resamples"`
	Seed      uint64 `json:"seed"`
	Method    string `json:"method"`
	PassAt1   Paired `json:"pass@1"`
	ConsAtK   Paired `json:"cons@k"`
}

const compareMethod = "95% interval: percentile paired bootstrap over prompts; p: two-sided sign-flip permutation test over prompts " +
	"(exact up to 16 differing prompts, else Monte Carlo with the same number of draws as resamples)"

// ErrPromptsDiffer is returned by Compare when the two evaluations were not
// measured on the same prompts: there is nothing to pair.
var ErrPromptsDiffer = errors.New("the evaluations were measured on different prompts")

// Compare pairs two evaluations' outcomes by prompt id and measures B − A
// in pass@1 and cons@k. The prompts are the sampling unit, so both the
// bootstrap and the test resample or relabel whole prompts, keeping each
// prompt's A and B together: what differs between prompts (difficulty)
// cancels in the pairs instead of widening the interval as it does when two
// unpaired intervals are set side by side.
func Compare(a, b []Outcome, resamples int, seed uint64) (Comparison, error) {
	if resamples < 1 {
		return Comparison{}, fmt.Errorf("resamples must be at least 1, got %d", resamples)
	}
	inB := make(map[string]Outcome, len(b))
	for _, o := range b {
		inB[o.PromptID] = o
	}
	var onlyA []string
	var passA, passB, consA, consB []float64
	for _, oa := range a {
		ob, ok := inB[oa.PromptID]
		switch {
		case !ok:
			onlyA = append(onlyA, oa.PromptID)
			continue
		case oa.Reference != ob.Reference:
			return Comparison{}, fmt.Errorf("%w: prompt %q has reference %q in A, %q in B", ErrPromptsDiffer, oa.PromptID, oa.Reference, ob.Reference)
		case oa.N == 0 || ob.N == 0:
			return Comparison{}, fmt.Errorf("prompt %q has no samples in A or B", oa.PromptID)
		}
		passA, passB = append(passA, float64(oa.Correct)/float64(oa.N)), append(passB, float64(ob.Correct)/float64(ob.N))
		consA, consB = append(consA, b2f(oa.Cons)), append(consB, b2f(ob.Cons))
	}
	if len(onlyA) > 0 || len(passA) != len(b) || len(a) == 0 {
		detail := fmt.Sprintf("A has %d prompts, B %d, shared %d", len(a), len(b), len(passA))
		if len(onlyA) > 0 {
			detail += fmt.Sprintf("; A's %q is not in B", onlyA[0])
		}
		inA := make(map[string]bool, len(a))
		for _, o := range a {
			inA[o.PromptID] = true
		}
		if i := slices.IndexFunc(b, func(o Outcome) bool { return !inA[o.PromptID] }); i >= 0 {
			detail += fmt.Sprintf("; B's %q is not in A", b[i].PromptID)
		}
		return Comparison{}, fmt.Errorf("%w: %s", ErrPromptsDiffer, detail)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	return Comparison{Prompts: len(passA), Resamples: resamples, Seed: seed, Method: compareMethod,
		PassAt1: paired(passA, passB, resamples, rng), ConsAtK: paired(consA, consB, resamples, rng)}, nil
}

// paired measures mean(b − a) with its percentile bootstrap interval
// (Efron & Tibshirani 1993, ch. 13) and the sign-flip p-value.
func paired(a, b []float64, resamples int, rng *rand.Rand) Paired {
	n := len(a)
	d := make([]float64, n)
	for i := range d {
		d[i] = b[i] - a[i]
	}
	p := Paired{A: stat.Mean(a, nil), B: stat.Mean(b, nil), Diff: stat.Mean(d, nil)}
	means := make([]float64, resamples)
	for r := range means {
		var s float64
		for range n {
			s += d[rng.IntN(n)]
		}
		means[r] = s / float64(n)
	}
	slices.Sort(means)
	p.CI = Interval{quantile(means, 0.025), quantile(means, 0.975)}
	p.P = signFlip(d, resamples, rng)
	return p
}

// quantile of sorted x, interpolated linearly between order statistics
// (numpy's default, Hyndman & Fan type 7).
func quantile(x []float64, q float64) float64 {
	pos := q * float64(len(x)-1)
	i := int(pos)
	if i+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[i] + (pos-float64(i))*(x[i+1]-x[i])
}

// exactFlips is the most differing prompts whose 2^m sign patterns
// signFlip enumerates rather than samples.
const exactFlips = 16

// signFlip is the two-sided p-value of the sign-flip permutation test of a
// zero mean difference (Fisher 1935; Good, Permutation Tests, 2005, §3.7):
// if A and B are exchangeable on every prompt, each prompt's difference is
// as likely to have either sign. It is exact under that null whatever the
// distribution of the differences, where a bootstrap p-value is only
// asymptotic and is least reliable in the tail it is read from. Prompts
// both got equally right carry no sign and drop out. Up to exactFlips
// differing prompts every pattern is counted; beyond, draws patterns are
// sampled and p = (1 + hits)/(1 + draws), which is never 0 (Phipson &
// Smyth 2010, Stat. Appl. Genet. Mol. Biol. 9:39).
func signFlip(d []float64, draws int, rng *rand.Rand) float64 {
	var nz []float64
	var obs, scale float64
	for _, v := range d {
		if v != 0 {
			nz = append(nz, v)
			obs += v
			scale += math.Abs(v)
		}
	}
	if len(nz) == 0 {
		return 1
	}
	// Sums equal in exact arithmetic count as ties with the observed one.
	limit := math.Abs(obs) - 1e-9*scale
	if len(nz) <= exactFlips {
		hits := 0
		for mask := range 1 << len(nz) {
			var s float64
			for i, v := range nz {
				if mask>>i&1 == 1 {
					v = -v
				}
				s += v
			}
			if math.Abs(s) >= limit {
				hits++
			}
		}
		return float64(hits) / float64(int(1)<<len(nz))
	}
	hits := 0
	for range draws {
		var s float64
		var bits uint64
		for i, v := range nz {
			if i%64 == 0 {
				bits = rng.Uint64()
			}
			if bits&1 == 1 {
				v = -v
			}
			bits >>= 1
			s += v
		}
		if math.Abs(s) >= limit {
			hits++
		}
	}
	return float64(1+hits) / float64(1+draws)
}

// ReadOutcomes reads samples.jsonl and tallies each prompt's samples, in
// the order the prompts first appear.
func ReadOutcomes(r io.Reader) ([]Outcome, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var order []string
	byID := map[string][]Scored{}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var s Scored
			if jerr := json.Unmarshal(b, &s); jerr != nil {
				return nil, fmt.Errorf("line %d: %w", line, jerr)
			}
			ss := byID[s.PromptID]
			if slices.ContainsFunc(ss, func(o Scored) bool { return o.Sample == s.Sample }) {
				return nil, fmt.Errorf("line %d: prompt %q has sample %d twice (does the prompt set repeat an id?)", line, s.PromptID, s.Sample)
			}
			if ss == nil {
				order = append(order, s.PromptID)
			}
			byID[s.PromptID] = append(ss, s)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	outs := make([]Outcome, len(order))
	for i, id := range order {
		outs[i] = tally(byID[id])
	}
	return outs, nil
}
