package train

import (
	"math"
	"testing"
)

func TestBench(t *testing.T) {
	tests := []struct {
		c    BenchConfig
		mode string
	}{
		{BenchConfig{Student: "qwen-nano", SeqLen: 8, Batch: 2, Seed: 1}, "full"},
		{BenchConfig{Student: "qwen-nano", SeqLen: 8, Batch: 2, Seed: 1, Recompute: true}, "full, gradient checkpointing"},
		{BenchConfig{Student: "qwen-nano", SeqLen: 8, Batch: 2, Seed: 1, LoRA: 4, Recompute: true}, "LoRA rank 4 (0.02M trainable), gradient checkpointing"},
	}
	for _, tt := range tests {
		b, err := NewBench(tt.c)
		if err != nil {
			t.Fatalf("%+v: %v", tt.c, err)
		}
		if b.Mode != tt.mode || b.Tokens != 16 || b.Params <= 0 {
			t.Errorf("%+v: mode %q, %d tokens, %d parameters", tt.c, b.Mode, b.Tokens, b.Params)
		}
		// No optimiser step between them: the same weights give the same loss.
		l1, err := b.Step()
		if err != nil {
			t.Fatal(err)
		}
		l2, err := b.Step()
		if err != nil {
			t.Fatal(err)
		}
		if l1 <= 0 || math.IsNaN(l1) || l1 != l2 {
			t.Errorf("%+v: losses %v then %v, want one positive value", tt.c, l1, l2)
		}
	}
}

func TestBenchBadConfig(t *testing.T) {
	for _, c := range []BenchConfig{
		{Student: "no-such-preset", SeqLen: 8, Batch: 1},
		{Student: "qwen-nano", SeqLen: 0, Batch: 1},
		{Student: "qwen-nano", SeqLen: 8, Batch: 0},
		{Student: "qwen-nano", SeqLen: 8, Batch: 1, LoRA: -1},
	} {
		if _, err := NewBench(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
