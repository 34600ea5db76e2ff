package model

import (
	"math"
	"testing"
)

// TestSamplerWarpers checks the kept sets and their renormalised
// frequencies against HF's TemperatureLogitsWarper, TopKLogitsWarper and
// TopPLogitsWarper on a distribution with known probabilities.
func TestSamplerWarpers(t *testing.T) {
	probs := []float64{0.1, 0.2, 0.3, 0.4}
	logits := make([]float32, len(probs))
	for i, p := range probs {
		logits[i] = float32(math.Log(p))
	}
	tests := []struct {
		name string
		o    SampleOptions
		want []float64 // expected frequency of each id
	}{
		{"plain", SampleOptions{Temperature: 1}, []float64{0.1, 0.2, 0.3, 0.4}},
		// T=0.5 squares the probabilities: 1, 4, 9, 16 over 30.
		{"temperature", SampleOptions{Temperature: 0.5}, []float64{1. / 30, 4. / 30, 9. / 30, 16. / 30}},
		{"top-k 2", SampleOptions{Temperature: 1, TopK: 2}, []float64{0, 0, 3. / 7, 4. / 7}},
		{"top-k 1", SampleOptions{Temperature: 1, TopK: 1}, []float64{0, 0, 0, 1}},
		// ascending cumulative 0.1, 0.3, 0.6, 1: top_p 0.6 removes those ≤ 0.4
		{"top-p 0.6", SampleOptions{Temperature: 1, TopP: 0.6}, []float64{0, 0, 3. / 7, 4. / 7}},
		{"top-p 0.75", SampleOptions{Temperature: 1, TopP: 0.75}, []float64{0, 2. / 9, 3. / 9, 4. / 9}},
		{"top-p tiny keeps the best", SampleOptions{Temperature: 1, TopP: 0.01}, []float64{0, 0, 0, 1}},
		// top-k first (keeps 3, renormalised 2/9, 3/9, 4/9; ascending
		// cumulative 2/9, 5/9, 1), then top_p 0.7 removes those ≤ 0.3.
		{"top-k then top-p", SampleOptions{Temperature: 1, TopK: 3, TopP: 0.7}, []float64{0, 0, 3. / 7, 4. / 7}},
		{"greedy", SampleOptions{}, []float64{0, 0, 0, 1}},
	}
	const n = 40000
	for _, tt := range tests {
		s := newSampler(1, 0)
		counts := make([]float64, len(probs))
		for range n {
			counts[s.next(logits, &tt.o)]++
		}
		for i, c := range counts {
			got := c / n
			// 4.5 standard deviations of a binomial frequency
			tol := 4.5*math.Sqrt(tt.want[i]*(1-tt.want[i])/n) + 1e-9
			if math.Abs(got-tt.want[i]) > tol {
				t.Errorf("%s: id %d drawn %.4f of the time, want %.4f", tt.name, i, got, tt.want[i])
			}
		}
	}
}
