package rl

import (
	"fmt"
	"runtime"

	"github.com/distill-dev/distill/student/memory"
	"github.com/distill-dev/distill/student/model"
)

// shape is the memory shape of o with rows of seq tokens and prompts of up
// to longest tokens.
func (o *Options) shape(seq, longest int) memory.GRPOShape {
	return memory.GRPOShape{MicroBatch: o.MicroBatch, SeqLen: seq, Sequences: o.PromptsPerStep * o.NumGenerations,
		Context: longest + o.MaxNewTokens, Sampling: o.Temperature > 0, Reference: o.Beta != 0, Workers: runtime.GOMAXPROCS(0),
		GradientCheckpointing: o.GradientCheckpointing, LoRARank: o.LoRARank}
}

// CheckMemory refuses a run whose policy, reference and rollouts need more
// memory than the machine has, before the graphs are built; its advice
// names only `distill rl` flags.
func CheckMemory(cfg *model.Config, o *Options, seq, longest int) error {
	need := memory.GRPO(cfg, o.shape(seq, longest))
	a := memory.Advice{Avail: memory.Available()}
	if need.Check(a.Avail) == nil {
		need.Hold()
		return nil
	}
	try := func(edit func(*Options), format string, args ...any) {
		alt := *o
		edit(&alt)
		a.Try(memory.GRPO(cfg, alt.shape(seq, longest)), format, args...)
	}
	if mb := o.MicroBatch / 2; mb >= 1 {
		try(func(alt *Options) { alt.MicroBatch = mb }, "--micro-batch %d (needs %s)", mb)
	}
	if p := o.PromptsPerStep / 2; p >= 1 {
		try(func(alt *Options) { alt.PromptsPerStep = p }, "--prompts-per-step %d (needs %s)", p)
	}
	if !o.GradientCheckpointing {
		try(func(alt *Options) { alt.GradientCheckpointing = true }, "--gradient-checkpointing (needs %s)")
	}
	if o.Beta != 0 {
		try(func(alt *Options) { alt.Beta = 0 }, "--beta 0, without the reference model (needs %s)")
	}
	a.Add("--engine trl, which hands the run to TRL on GPUs")
	a.Add("a smaller --micro-batch, --prompts-per-step, --num-generations or --max-new-tokens, or a machine with more memory")
	return a.Refuse(fmt.Sprintf("GRPO on this %s-parameter student", memory.FormatParams(cfg.NumParams())), need)
}
