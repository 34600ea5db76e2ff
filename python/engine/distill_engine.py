"""What the jobs `distill train|rl --engine trl` write share: the arguments
distill adds to TRL's, reading distill's Parquet shards, the progress lines
distill reads back, and publishing the final model as an HF checkpoint.

Progress goes to stdout as one line per event, `@distill {json}`, from the
main process only: distill turns them into its progress display and
OUT/metrics.jsonl. Everything else the engine prints is passed through.
"""
import glob
import json
import os
import sys
import time
from dataclasses import dataclass, field

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, TrainerCallback


@dataclass
class DistillArguments:
    """Keys distill adds to TRL's config (config.yaml, section `distill`)."""

    data_dir: str = field(default="", metadata={"help": "dataset directory of distill filter (train-*.parquet, test-*.parquet)"})
    final_dir: str = field(default="", metadata={"help": "where the final HF checkpoint goes (distill's OUT)"})
    chat_template_file: str = field(default="", metadata={"help": "the plain chat template saved with the final model"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint in output_dir"})
    max_position_embeddings: int = field(default=0, metadata={"help": "the student's context, extended (0: its own)"})
    rope_theta: float = field(default=0.0, metadata={"help": "RoPE base for an extended context (0: its own)"})
    dump_labels: int = field(default=0, metadata={"help": "print input_ids and labels of the first N prepared examples and exit"})


def emit(event, **fields):
    """One progress line for distill."""
    fields["event"] = event
    sys.stdout.write("@distill " + json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def load_model(model_args, args):
    """The model and tokenizer config.yaml names (ModelConfig's keys), with
    the context distill's options extend (transformers 5 ignores a
    rope_theta keyword: it lives in rope_parameters)."""
    tokenizer = AutoTokenizer.from_pretrained(model_args.model_name_or_path)
    config = AutoConfig.from_pretrained(model_args.model_name_or_path)
    if args.max_position_embeddings:
        config.max_position_embeddings = args.max_position_embeddings
    if args.rope_theta:
        config.rope_parameters = {**(config.rope_parameters or {"rope_type": "default"}), "rope_theta": args.rope_theta}
    model = AutoModelForCausalLM.from_pretrained(
        model_args.model_name_or_path,
        config=config,
        dtype=model_args.dtype or "auto",
        attn_implementation=model_args.attn_implementation,
    )
    return model, tokenizer


def load_shards(data_dir, columns):
    """distill filter's train-*/test-* shards as a DatasetDict, read by
    `datasets` as they are; only the given columns are kept. A split whose
    shards hold no row (the filter writes one empty shard when it keeps
    none) is left out: `datasets` refuses it."""
    import pyarrow.parquet as pq
    from datasets import load_dataset

    files = {}
    for split in ("train", "test"):
        found = sorted(glob.glob(os.path.join(data_dir, f"{split}-*.parquet")))
        if sum(pq.ParquetFile(f).metadata.num_rows for f in found) > 0:
            files[split] = found
    if "train" not in files:
        raise SystemExit(f"distill engine: {data_dir}: no train-*.parquet shards")
    ds = load_dataset("parquet", data_files=files)
    return ds.select_columns(columns)


class Progress(TrainerCallback):
    """Reports each logged update as distill's metrics keys."""

    def __init__(self):
        self.t0 = None
        self.first = None  # (tokens, seconds) at the first logged update

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.monotonic()
        if state.is_world_process_zero:
            emit("begin", step=state.global_step, max_steps=state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        elapsed = time.monotonic() - (self.t0 or time.monotonic())
        if "eval_loss" in logs:
            emit("eval", step=state.global_step, eval_loss=logs["eval_loss"])
            return
        if "loss" not in logs:
            return
        tokens = int(logs.get("num_tokens", 0))
        # Throughput since the first logged update: a resumed run's token
        # count includes the earlier run's, and the first update pays for
        # start-up.
        if self.first is None:
            self.first = (tokens, elapsed)
        dt = elapsed - self.first[1]
        tps = (tokens - self.first[0]) / dt if dt > 0 else (tokens / elapsed if elapsed > 0 else 0.0)
        m = {
            "step": state.global_step,
            "epoch": logs.get("epoch", state.epoch or 0.0),
            "loss": logs["loss"],
            "lr": logs.get("learning_rate", 0.0),
            "grad_norm": logs.get("grad_norm", 0.0),
            "tokens": tokens,
            "tokens_per_sec": tps,
            "elapsed_sec": elapsed,
        }
        if torch.cuda.is_available():
            m["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
        # GRPO's own figures (rewards, KL, clip ratios) pass through as they are.
        for k, v in logs.items():
            if k.startswith(("reward", "rewards/", "kl", "clip_ratio", "completions/", "entropy")):
                m[k] = v
        emit("step", **m)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            emit("save", step=state.global_step)


def last_checkpoint(output_dir):
    """The newest checkpoint-N in output_dir, or None."""
    from transformers.trainer_utils import get_last_checkpoint

    if not os.path.isdir(output_dir):
        return None
    return get_last_checkpoint(output_dir)


def publish(trainer, tokenizer, dist_args, peft_used):
    """Writes the final model into final_dir as an HF checkpoint distill
    reads as it reads its own: the full weights (adapters merged, the PEFT
    adapter beside them in final_dir/adapter), the tokenizer and the plain
    chat template (the training one only adds generation markers)."""
    final = dist_args.final_dir
    with open(dist_args.chat_template_file, encoding="utf-8") as f:
        tokenizer.chat_template = f.read()
    if not peft_used:
        trainer.save_model(final)
        if trainer.accelerator.is_main_process:
            tokenizer.save_pretrained(final)
        return
    adapter = os.path.join(final, "adapter")
    trainer.save_model(adapter)
    if trainer.accelerator.is_main_process:
        from peft import PeftModel

        base_path = trainer.model.peft_config["default"].base_model_name_or_path
        base = AutoModelForCausalLM.from_pretrained(base_path, dtype="auto")
        merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
        merged.save_pretrained(final)
        tokenizer.save_pretrained(final)
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            p = os.path.join(adapter, name)
            if os.path.exists(p):
                os.remove(p)


def dump_labels(trainer, n):
    """Prints the first n prepared training examples as TRL will train on
    them: the ids and the labels its loss counts (-100 elsewhere)."""
    ds = trainer.train_dataset
    for i in range(min(n, len(ds))):
        row = ds[i]
        print(json.dumps({"input_ids": row["input_ids"], "labels": row["labels"]}))
