package train

import (
	"fmt"
	"runtime"

	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// CheckMemory refuses, before anything is allocated, a run that needs more
// memory than the machine has, saying what would fit instead. loraRank 0
// is full fine-tuning.
func CheckMemory(cfg *model.Config, microBatch, seqLen, loraRank int) error {
	need := memory.Estimate(cfg, microBatch, seqLen, memory.Options{LoRARank: loraRank, Workers: runtime.GOMAXPROCS(0)})
	avail := memory.Available()
	if need.Check(avail) == nil {
		return nil
	}
	hint := "a smaller preset (distill models lists them), a smaller --micro-batch or --seq-len, or a machine with more memory"
	// The largest micro-batch that fits, with --grad-accum keeping the
	// batch: the cheapest change when the weights fit.
	for mb := microBatch - 1; mb >= 1; mb-- {
		if e := memory.Estimate(cfg, mb, seqLen, memory.Options{LoRARank: loraRank, Workers: runtime.GOMAXPROCS(0)}); e.Total <= avail {
			hint = fmt.Sprintf("--micro-batch %d with a larger --grad-accum (needs %s), ", mb, memory.Format(e.Total)) + hint
			break
		}
	}
	what := "full fine-tuning of"
	if loraRank > 0 {
		what = fmt.Sprintf("LoRA (rank %d) on", loraRank)
	} else if lora := memory.Estimate(cfg, microBatch, seqLen, memory.Options{LoRARank: 16, Workers: runtime.GOMAXPROCS(0)}); lora.Total <= avail {
		hint = "LoRA adapters (--lora-rank 16 needs " + memory.Format(lora.Total) + "), " + hint
	}
	return fmt.Errorf("%w: %s this %s-parameter student needs about %s (weights %s, gradients %s, AdamW %s, activations %s) but %s is available; try %s",
		memory.ErrDoesNotFit, what, fmtParams(cfg.NumParams()), memory.Format(need.Total), memory.Format(need.Weights), memory.Format(need.Grads),
		memory.Format(need.Optimizer), memory.Format(need.Activations), memory.Format(avail), hint)
}

func fmtParams(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprint(n)
}
