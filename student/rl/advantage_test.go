package rl

import (
	"math"
	"testing"
)

func TestAdvantages(t *testing.T) {
	tests := []struct {
		name    string
		rewards []float64
		scale   string
		want    []float64
	}{
		{"group: one of four right", []float64{1, 0, 0, 0}, ScaleGroup, []float64{1.5, -0.5, -0.5, -0.5}},
		{"none: mean-centred only", []float64{1, 0, 0, 0}, ScaleNone, []float64{0.75, -0.25, -0.25, -0.25}},
		{"all equal: no signal", []float64{1, 1, 1}, ScaleGroup, []float64{0, 0, 0}},
		{"all zero", []float64{0, 0}, ScaleNone, []float64{0, 0}},
		{"weighted sums", []float64{1.5, 0.5}, ScaleGroup, []float64{0.5 / math.Sqrt(0.5), -0.5 / math.Sqrt(0.5)}},
	}
	for _, tc := range tests {
		got := Advantages(tc.rewards, tc.scale)
		for i := range got {
			// the 1e-4 added to the std shifts group-scaled values slightly
			if math.Abs(got[i]-tc.want[i]) > 1e-3 {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
		if tc.scale == ScaleGroup && groupStd(tc.rewards, mean(tc.rewards)) > 0 {
			// group-normalised advantages have mean 0 and std ≈ 1
			if m, s := mean(got), groupStd(got, mean(got)); math.Abs(m) > 1e-9 || math.Abs(s-1) > 1e-3 {
				t.Errorf("%s: mean %v std %v, want 0 and 1", tc.name, m, s)
			}
		}
	}
	if err := ParseScale("batch"); err == nil {
		t.Error("ParseScale(batch): want an error")
	}
}
