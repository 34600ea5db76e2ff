package gguf

import (
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/model"
)

// TestRopeFactors compares rope_freqs with what llama.cpp's converter
// (LlamaModel.generate_extra_tensors, float32 torch) writes for the same
// configs; the values below were printed by that code.
func TestRopeFactors(t *testing.T) {
	llama31 := model.Presets["llama-8b"].Config
	small := model.Config{HiddenSize: 64, NumAttentionHeads: 4, RopeTheta: 500000,
		RopeScaling: &model.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}}
	want31 := make([]float32, 64)
	for i := range want31 {
		want31[i] = 8
	}
	for i := range 29 {
		want31[i] = 1
	}
	copy(want31[29:], []float32{1.20748389, 1.55341458, 2.02631307, 2.69453001, 3.68425322, 5.25732708})
	for _, tc := range []struct {
		name string
		cfg  model.Config
		want []float32
	}{
		{"Llama 3.1 8B", llama31, want31},
		{"small", small, []float32{1, 2.44225955, 8, 8, 8, 8, 8, 8}},
		{"no scaling", model.Presets["qwen-7b"].Config, nil},
	} {
		if got := ropeFactors(&tc.cfg); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v\nwant %v", tc.name, got, tc.want)
		}
	}
}
