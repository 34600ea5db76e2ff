package memory

import "github.com/distill-dev/distill/student/model"

// GPUBytes is the GPU the engine route is sized for: an 80 GB H100 or A100,
// of which a run can use about 90%.
const GPUBytes = 80e9

// GPUs estimates how many GPUs of GPUBytes a run of cfg needs when handed
// to TRL with DeepSpeed ZeRO-3 in bf16 (distill train --engine trl): the
// model states are sharded across the GPUs, bf16 weights and gradients and
// AdamW's fp32 master copy and two moments, 16 bytes a trainable parameter
// (LoRA: the frozen base's 2 bytes a parameter plus 16 an adapter
// parameter); each GPU also holds its micro-batch's activations with
// gradient checkpointing: every layer's input (bf16), one layer's
// intermediates recomputed in backward, and the fp32 logits with their
// gradient.
func GPUs(cfg *model.Config, batch, seqLen, loraRank int) int {
	bd := Estimate(cfg, batch, seqLen, Options{LoRARank: loraRank})
	states := 16 * bd.Trainable
	if loraRank > 0 {
		states += 2 * bd.Params
	}
	h, inter, v := int64(cfg.HiddenSize), int64(cfg.IntermediateSize), int64(cfg.VocabSize)
	n := int64(batch) * int64(seqLen)
	acts := 2*int64(cfg.NumHiddenLayers)*n*h + 2*n*(8*h+3*inter) + 2*4*n*v
	usable := int64(0.9*GPUBytes) - acts
	if usable <= 0 {
		return 0 // one micro-batch does not fit on a GPU at all
	}
	return int(max(1, (states+usable-1)/usable))
}
