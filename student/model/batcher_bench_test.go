package model

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
)

// BenchmarkConcurrentRequests serves the same 16 concurrent requests (as a
// worker pool or a server sends them) two ways: each through its own
// Generate call, and through one Batcher that shares forward passes. It
// reports new tokens per second of each.
func BenchmarkConcurrentRequests(b *testing.B) {
	c := Presets[*genPreset].Config
	c.MaxPositionEmbeddings = *genPrompt + *genNew
	w := NewWeights(&c)
	w.Init(0)
	rng := rand.New(rand.NewPCG(3, 4))
	prompts := make([][]int32, *genBatch)
	for i := range prompts {
		prompts[i] = make([]int32, *genPrompt)
		for j := range prompts[i] {
			prompts[i][j] = int32(rng.IntN(c.VocabSize))
		}
	}
	opts := SampleOptions{MaxNewTokens: *genNew}
	run := func(b *testing.B, gen func(p []int32) error) {
		for b.Loop() {
			var wg sync.WaitGroup
			for _, p := range prompts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := gen(p); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(len(prompts)**genNew*b.N)/b.Elapsed().Seconds(), "tok/s")
	}
	b.Run("generate-each", func(b *testing.B) {
		run(b, func(p []int32) error {
			_, err := Generate(context.Background(), w, [][]int32{p}, opts)
			return err
		})
	})
	b.Run("batcher", func(b *testing.B) {
		bt := NewBatcher(w, 64)
		run(b, func(p []int32) error {
			_, err := bt.Generate(context.Background(), p, opts)
			return err
		})
	})
}
