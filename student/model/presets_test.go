package model

import (
	"math"
	"testing"
)

// Published parameter counts, from the model cards.
func TestPresetParamCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		want float64 // billions
		tol  float64
	}{
		{"qwen-1.5b", 1.54, 0.005},
		{"qwen-7b", 7.62, 0.005},
		{"qwen-14b", 14.77, 0.01}, // the card rounds to 14.7B,
		{"qwen-32b", 32.76, 0.01}, // the card says 32.5B; HF counts 32.8B,
		{"llama-8b", 8.03, 0.005},
		{"llama-70b", 70.6, 0.05},
	} {
		c, err := LookupPreset(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := float64(c.NumParams()) / 1e9
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: %.3fB parameters, published %.2fB", tc.name, got, tc.want)
		}
	}
	tiny, _ := LookupPreset("qwen-tiny")
	if n := tiny.NumParams(); n < 4_500_000 || n > 5_500_000 {
		t.Errorf("qwen-tiny: %d parameters, want about 5M", n)
	}
	sm, _ := LookupPreset("qwen-small")
	if n := sm.NumParams(); n < 25_000_000 || n > 50_000_000 {
		t.Errorf("qwen-small: %d parameters, want 25-50M", n)
	}
}

func TestWeightsMatchConfigCount(t *testing.T) {
	for _, name := range []string{"qwen-tiny", "llama-tiny", "qwen-nano"} {
		c, _ := LookupPreset(name)
		w := NewWeights(c)
		w.Init(1)
		if w.NumParams() != c.NumParams() {
			t.Errorf("%s: allocated %d, config says %d", name, w.NumParams(), c.NumParams())
		}
		if w.Norm.Data[0] != 1 || w.Layers[0].Q.Data[0] == 0 {
			t.Errorf("%s: init did not fill norms with 1 and matrices at random", name)
		}
	}
}
