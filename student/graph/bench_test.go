package graph

import (
	"testing"

	"github.com/distill-dev/distill/student/model"
)

// BenchmarkStep times one Forward+Backward at the qwen-tiny shape with a
// short sequence (the full shape is `distill bench train`).
func BenchmarkStep(b *testing.B) {
	cfg, _ := model.LookupPreset("qwen-tiny")
	benchStep(b, cfg, 2, 128, 128)
}

// BenchmarkStepQuickstart times the quickstart's step: qwen-nano with the
// byte-level vocabulary, 16 rows of 256 tokens packed in segments of 64,
// a third of the targets masked out (prompt tokens).
func BenchmarkStepQuickstart(b *testing.B) {
	cfg, _ := model.LookupPreset("qwen-nano")
	cfg.VocabSize = 261
	benchStep(b, cfg, 16, 256, 64)
}

func benchStep(b *testing.B, cfg *model.Config, batch, seq, segLen int) {
	w := model.NewWeights(cfg)
	w.Init(1)
	g, err := New(w, batch, seq)
	if err != nil {
		b.Fatal(err)
	}
	n := batch * seq
	tok, tgt, coef, seg := make([]int32, n), make([]int32, n), make([]float32, n), make([]int32, n)
	for i := range tok {
		tok[i], tgt[i], coef[i], seg[i] = int32(i*37%cfg.VocabSize), int32(i*91%cfg.VocabSize), 1/float32(n), int32(i/segLen)
		if segLen < seq && i%3 == 0 {
			tgt[i] = -1
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Forward(tok, tgt, seg); err != nil {
			b.Fatal(err)
		}
		if err := g.Backward(coef); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
