package train

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// CheckMemory refuses, before anything is allocated, a run that needs more
// memory than the machine has, saying what would fit instead. opt says
// how the run trains (LoRA rank, gradient checkpointing); Workers is
// filled in.
func CheckMemory(cfg *model.Config, microBatch, seqLen int, opt memory.Options) error {
	opt.Workers = runtime.GOMAXPROCS(0)
	need := memory.Estimate(cfg, microBatch, seqLen, opt)
	avail := memory.Available()
	if need.Check(avail) == nil {
		return nil
	}
	// Cheapest first: a smaller micro-batch (--grad-accum keeps the
	// batch), recomputing activations, adapters instead of every weight.
	var hints []string
	try := func(mb int, o memory.Options, format string, args ...any) bool {
		e := memory.Estimate(cfg, mb, seqLen, o)
		if e.Total > avail {
			return false
		}
		hints = append(hints, fmt.Sprintf(format, append(args, memory.Format(e.Total))...))
		return true
	}
	for mb := microBatch - 1; mb >= 1; mb-- {
		if try(mb, opt, "--micro-batch %d with a larger --grad-accum (needs %s)", mb) {
			break
		}
	}
	ckpt := opt
	ckpt.GradientCheckpointing = true
	if !opt.GradientCheckpointing {
		try(microBatch, ckpt, "--gradient-checkpointing (needs %s)")
	}
	what := "full fine-tuning of"
	if opt.LoRARank > 0 {
		what = fmt.Sprintf("LoRA (rank %d) on", opt.LoRARank)
	} else {
		lora, loraCkpt := opt, ckpt
		lora.LoRARank, loraCkpt.LoRARank = 16, 16
		if !try(microBatch, lora, "LoRA adapters (--lora-rank 16 needs %s)") && !opt.GradientCheckpointing {
			try(microBatch, loraCkpt, "LoRA adapters with gradient checkpointing (--lora-rank 16 --gradient-checkpointing needs %s)")
		}
	}
	route := "--engine trl, which hands the run to TRL on GPUs"
	if g := memory.GPUs(cfg, microBatch, seqLen, opt.LoRARank); g > 0 {
		route += fmt.Sprintf(" (about %d × %.0f GB GPUs with DeepSpeed ZeRO-3)", g, memory.GPUBytes/1e9)
	}
	hints = append(hints, route)
	hint := strings.Join(append(hints, "a smaller preset (distill models lists them), a smaller --micro-batch or --seq-len, or a machine with more memory"), ", ")
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
