package graph

import (
	"testing"

	"github.com/distill-dev/distill/student/model"
)

// BenchmarkStep times one Forward+Backward at the qwen-tiny shape with a
// short sequence (the full shape is `distill bench train`).
func BenchmarkStep(b *testing.B) {
	cfg, _ := model.LookupPreset("qwen-tiny")
	w := model.NewWeights(cfg)
	w.Init(1)
	const batch, seq = 2, 128
	g, err := New(w, batch, seq)
	if err != nil {
		b.Fatal(err)
	}
	n := batch * seq
	tok, tgt, coef := make([]int32, n), make([]int32, n), make([]float32, n)
	for i := range tok {
		tok[i], tgt[i], coef[i] = int32(i*37%cfg.VocabSize), int32(i*91%cfg.VocabSize), 1/float32(n)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Forward(tok, tgt, nil); err != nil {
			b.Fatal(err)
		}
		if err := g.Backward(coef); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
