package train

import (
	"fmt"
	"runtime"

	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// CheckMemory refuses, before anything is allocated, a run that needs more
// memory than the machine has, saying what would fit instead; its advice
// names only `distill train` flags. opt says how the run trains (LoRA
// rank, gradient checkpointing); Workers is filled in.
func CheckMemory(cfg *model.Config, microBatch, seqLen int, opt memory.Options) error {
	opt.Workers = runtime.GOMAXPROCS(0)
	need := memory.Estimate(cfg, microBatch, seqLen, opt)
	a := memory.Advice{Avail: memory.Available()}
	if need.Check(a.Avail) == nil {
		return nil
	}
	// Cheapest first: a smaller micro-batch (--grad-accum keeps the
	// batch), recomputing activations, adapters instead of every weight.
	for mb := microBatch - 1; mb >= 1; mb-- {
		if a.Try(memory.Estimate(cfg, mb, seqLen, opt), "--micro-batch %d with a larger --grad-accum (needs %s)", mb) {
			break
		}
	}
	ckpt := opt
	ckpt.GradientCheckpointing = true
	if !opt.GradientCheckpointing {
		a.Try(memory.Estimate(cfg, microBatch, seqLen, ckpt), "--gradient-checkpointing (needs %s)")
	}
	what := "full fine-tuning of"
	if opt.LoRARank > 0 {
		what = fmt.Sprintf("LoRA (rank %d) on", opt.LoRARank)
	} else {
		lora, loraCkpt := opt, ckpt
		lora.LoRARank, loraCkpt.LoRARank = 16, 16
		if !a.Try(memory.Estimate(cfg, microBatch, seqLen, lora), "LoRA adapters (--lora-rank 16 needs %s)") && !opt.GradientCheckpointing {
			a.Try(memory.Estimate(cfg, microBatch, seqLen, loraCkpt), "LoRA adapters with gradient checkpointing (--lora-rank 16 --gradient-checkpointing needs %s)")
		}
	}
	route := "--engine trl, which hands the run to TRL on GPUs"
	if g := memory.GPUs(cfg, microBatch, seqLen, opt.LoRARank); g > 0 {
		route += fmt.Sprintf(" (about %d × %.0f GB GPUs with DeepSpeed ZeRO-3)", g, memory.GPUBytes/1e9)
	}
	a.Add(route)
	a.Add("a smaller preset (distill models lists them), a smaller --micro-batch or --seq-len, or a machine with more memory")
	return a.Refuse(fmt.Sprintf("%s this %s-parameter student", what, memory.FormatParams(cfg.NumParams())), need)
}
