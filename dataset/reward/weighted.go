package reward

import (
	"errors"
	"fmt"
	"sort"
)

// Weighted is a reward in use with its weight.
type Weighted struct {
	Name   string
	Func   Func
	Weight float64
}

// Default is the reward of a run that names none: accuracy alone.
func Default() map[string]float64 { return map[string]float64{"accuracy": 1} }

// Resolve looks up the configured rewards (name → weight), in name order so
// that metrics and sums are deterministic. Zero weights are dropped.
func Resolve(ws map[string]float64) ([]Weighted, error) {
	var out []Weighted
	for name, w := range ws {
		f, err := Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("rewards: %w", err)
		}
		if w != 0 {
			out = append(out, Weighted{name, f, w})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("rewards: no reward with a non-zero weight")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Score puts each reward of s into scores (one per entry of ws, in order)
// and returns their weighted sum, the reward GRPO's advantages are computed
// from.
func Score(ws []Weighted, s *Sample, scores []float64) float64 {
	total := 0.0
	for k, w := range ws {
		v := w.Func(s)
		scores[k] = v
		total += w.Weight * v
	}
	return total
}
