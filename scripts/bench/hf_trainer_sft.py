"""The reference for the engine benchmark: plain transformers.Trainer SFT of
the same checkpoint on the same shards, the usual way (chat template
applied, texts concatenated and cut into SEQ-token blocks, full causal
attention, loss on every token), bf16, SDPA, same micro-batch.

    python hf_trainer_sft.py MODEL_DIR DATA_DIR SEQ MICRO STEPS OUT_JSON
"""
import glob
import json
import os
import sys
import time

import torch
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments, default_data_collator

model_dir, data_dir, seq, micro, steps, out_json = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
tok = AutoTokenizer.from_pretrained(model_dir)
ds = load_dataset("parquet", data_files=sorted(glob.glob(os.path.join(data_dir, "train-*.parquet"))), split="train")
ds = ds.map(lambda b: {"input_ids": [tok.apply_chat_template(m, tokenize=True, return_dict=False) for m in b["messages"]]},
            batched=True, remove_columns=ds.column_names, num_proc=8)


def blocks(b):
    ids = [t for row in b["input_ids"] for t in row]
    n = len(ids) // seq * seq
    chunks = [ids[i:i + seq] for i in range(0, n, seq)]
    return {"input_ids": chunks, "labels": [list(c) for c in chunks]}


ds = ds.map(blocks, batched=True, batch_size=2000, num_proc=8)
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, attn_implementation="sdpa")


class Timer(TrainerCallback):
    def __init__(self):
        self.times = []

    def on_step_end(self, args, state, control, **kw):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


timer = Timer()
args = TrainingArguments(output_dir="/tmp/hf_trainer_out", per_device_train_batch_size=micro, max_steps=steps, learning_rate=1e-5,
                         bf16=torch.cuda.is_available(), logging_steps=50, report_to="none", save_strategy="no", dataloader_num_workers=2, seed=1)
trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=default_data_collator, callbacks=[timer])
trainer.train()
warm = min(10, len(timer.times) // 2)  # the first steps warm the kernels and the allocator
peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
dt = timer.times[-1] - timer.times[warm - 1]
tps = (len(timer.times) - warm) * micro * seq / dt
json.dump({"tokens_per_sec": tps, "peak_gpu_bytes": peak, "steps": len(timer.times)}, open(out_json, "w"))
print(json.dumps({"tokens_per_sec": tps, "peak_gpu_bytes": peak}))
