package model

import (
	"context"
	"flag"
	"math/rand/v2"
	"testing"
)

// The generation benchmark's shape; scripts/bench/gen_vs_torch.sh passes the
// same numbers to scripts/torch_reference.py bench.
var (
	genPreset = flag.String("gen.preset", "qwen-tiny", "preset of BenchmarkGenerate")
	genBatch  = flag.Int("gen.batch", 16, "sequences of BenchmarkGenerate")
	genPrompt = flag.Int("gen.prompt", 32, "prompt tokens per sequence of BenchmarkGenerate")
	genNew    = flag.Int("gen.new", 64, "new tokens per sequence of BenchmarkGenerate")
)

// BenchmarkGenerate times a KV-cached greedy decode (prefill included) of
// random weights and reports new tokens per second of wall time and of CPU
// time.
func BenchmarkGenerate(b *testing.B) {
	p, ok := Presets[*genPreset]
	if !ok {
		b.Fatalf("no preset %q", *genPreset)
	}
	c := p.Config
	c.MaxPositionEmbeddings = *genPrompt + *genNew
	w := NewWeights(&c)
	w.Init(0)
	rng := rand.New(rand.NewPCG(1, 2))
	prompts := make([][]int32, *genBatch)
	for i := range prompts {
		prompts[i] = make([]int32, *genPrompt)
		for j := range prompts[i] {
			prompts[i][j] = int32(rng.IntN(c.VocabSize))
		}
	}
	opts := SampleOptions{MaxNewTokens: *genNew}
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Generate(context.Background(), w, prompts, opts); err != nil {
			b.Fatal(err)
		}
	}
	toks := float64(*genBatch * *genNew * b.N)
	b.ReportMetric(toks/b.Elapsed().Seconds(), "tok/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		// tokens per CPU-second: the work per token, whatever the load
		b.ReportMetric(toks/cpu.Seconds(), "tok/cpu-s")
	}
}
