package train

import (
	"fmt"
	"runtime"

	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// CheckMemory refuses, before anything is allocated, a run that needs more
// memory than the machine has, saying what would fit instead.
func CheckMemory(cfg *model.Config, microBatch, seqLen int) error {
	need := memory.Estimate(cfg, microBatch, seqLen, memory.Options{Workers: runtime.GOMAXPROCS(0)})
	avail := memory.Available()
	if need.Check(avail) != nil {
		lora := memory.Estimate(cfg, microBatch, seqLen, memory.Options{LoRARank: 16, Workers: runtime.GOMAXPROCS(0)})
		hint := "a smaller preset (distill models lists them), a smaller --micro-batch or --seq-len, or a machine with more memory"
		if lora.Total <= avail {
			hint = "LoRA adapters (--lora-rank 16 needs " + memory.Format(lora.Total) + "; not yet in this trainer), " + hint
		}
		return fmt.Errorf("%w: full fine-tuning of this %s-parameter student needs about %s (weights %s, gradients %s, AdamW %s, activations %s) but %s is available; try %s",
			memory.ErrDoesNotFit, fmtParams(cfg.NumParams()), memory.Format(need.Total), memory.Format(need.Weights), memory.Format(need.Grads),
			memory.Format(need.Optimizer), memory.Format(need.Activations), memory.Format(avail), hint)
	}
	return nil
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
