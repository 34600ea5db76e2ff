package distill

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestBenchTrain(t *testing.T) {
	for _, rank := range []int{0, 4} {
		var out bytes.Buffer
		prof := filepath.Join(t.TempDir(), "cpu.prof")
		err := runBenchTrain(context.Background(), BenchTrain{Student: "qwen-nano", SeqLen: 16, Batch: 2, Steps: 2, Seed: 1, LoRA: rank, Recompute: rank > 0,
			CPUProfile: prof, Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		checkBenchOutput(t, out)
		// a pprof profile is gzipped protobuf
		if b, err := os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("--cpuprofile wrote %d bytes (%v), want a gzipped pprof profile", len(b), err)
		}
		if rank > 0 && !strings.Contains(out.String(), "LoRA rank 4 (0.02M trainable), gradient checkpointing") {
			t.Errorf("LoRA bench does not say so:\n%s", out.String())
		}
	}
}

func checkBenchOutput(t *testing.T, out bytes.Buffer) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	v, ok := strings.CutPrefix(last, "tokens/s: ")
	if !ok {
		t.Fatalf("last line %q, want tokens/s: X", last)
	}
	if x, err := strconv.ParseFloat(v, 64); err != nil || x <= 0 {
		t.Fatalf("last line %q: want a positive rate", last)
	}
	if !strings.Contains(out.String(), "step 2: ") || !strings.Contains(out.String(), "peak RSS: ") {
		t.Errorf("output lacks per-step times or peak RSS:\n%s", out.String())
	}
}

func TestBenchTrainBadOptions(t *testing.T) {
	for _, o := range []BenchTrain{
		{Student: "no-such-preset", SeqLen: 8, Batch: 1, Steps: 1},
		{Student: "qwen-nano", SeqLen: 0, Batch: 1, Steps: 1},
		{Student: "qwen-nano", SeqLen: 8, Batch: 1, Steps: 0},
		{Student: "qwen-nano", SeqLen: 8, Batch: 1, Steps: 1, LoRA: -1},
	} {
		o.Out = &bytes.Buffer{}
		if err := runBenchTrain(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
