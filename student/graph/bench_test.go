package graph

import (
	"math/rand/v2"
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

// BenchmarkAttention times attention's forward and backward passes at the
// qwen-tiny shape (8 rows of 256 tokens packed in segments of 100, 8 query
// heads over 2 key/value heads of 32) on one thread.
func BenchmarkAttention(b *testing.B) {
	a := attnDims{8, 256, 8, 2, 32, attnBlock}
	n := a.b * a.s
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(k int) []float32 {
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	q, k, v, dout := mk(n*a.nh*a.d), mk(n*a.nkv*a.d), mk(n*a.nkv*a.d), mk(n*a.nh*a.d)
	out, dq, dk, dv := make([]float32, len(q)), make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
	p := make([]float32, a.b*a.nh*a.s*a.s)
	seg := make([]int32, n)
	for i := range seg {
		seg[i] = int32(i / 100)
	}
	scratch := [][]float32{make([]float32, a.scratchLen())}
	b.Run("fwd", func(b *testing.B) {
		for b.Loop() {
			attentionForward(out, p, q, k, v, seg, a, scratch)
		}
	})
	b.Run("bwd", func(b *testing.B) {
		for b.Loop() {
			attentionBackward(dq, dk, dv, dout, p, q, k, v, seg, a, scratch)
		}
	})
}
