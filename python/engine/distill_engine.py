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

    data_mixture: str = field(default="", metadata={"help": "JSON: seed, and sources (path of a distill filter dataset, weight, max_rows)"})
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


def shards(path, split):
    """A split's shards in a dataset directory, as distill's ListShards
    finds them (also under data/), in its order."""
    found = []
    for d in (path, os.path.join(path, "data")):
        for pattern in (f"{split}-*.parquet", f"{split}.parquet"):
            found += glob.glob(os.path.join(d, pattern))
    return sorted(found)


M64 = (1 << 64) - 1


def splitmix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def keep_rows(n, weight, max_rows, seed):
    """The train rows of n a source keeps, as the Go trainer's keepRows
    chooses them: int(n × weight), at most max_rows, the first of the
    permutation that a splitmix64 hash of the seed and the row index orders.
    None keeps them all."""
    k = int(n * weight) if 0 < weight < 1 else n
    if max_rows > 0:
        k = min(k, max_rows)
    if k == n:
        return None
    rank = sorted(range(n), key=lambda i: (splitmix64((seed + (i + 1) * 0x9E3779B97F4A7C15) & M64), i))
    return sorted(rank[:k])


def row_column(mixture):
    """The column a mixture's shards are trained on: messages (chats, as
    distill filter writes them) or, in shards without one, text (language
    modelling, as distill corpus writes it). A TRL dataset has one kind, so
    a mixture of both is refused."""
    import pyarrow.parquet as pq

    kinds = set()
    for src in json.loads(mixture)["sources"]:
        for split in ("train", "test"):
            for f in shards(src["path"], split):
                kinds.add("messages" if "messages" in pq.read_schema(f).names else "text")
    if len(kinds) > 1:
        raise SystemExit("distill engine: the mixture holds both chats (messages) and text rows; a TRL job trains on one kind")
    return kinds.pop() if kinds else "messages"


def load_shards(mixture, columns):
    """The data_mixture distill wrote as a DatasetDict: each source's train
    rows that keep_rows keeps, its test rows whole, concatenated in the
    sources' order; only the given columns are kept. Shards holding no row
    (the filter writes one empty shard when it keeps none) are left out:
    `datasets` refuses them."""
    import pyarrow.parquet as pq
    from datasets import DatasetDict, concatenate_datasets, load_dataset

    mix = json.loads(mixture)
    parts = {"train": [], "test": []}
    for src in mix["sources"]:
        for split, found in parts.items():
            files = shards(src["path"], split)
            if sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 0:
                continue
            ds = load_dataset("parquet", data_files=files, split="train").select_columns(columns)
            keep = keep_rows(len(ds), src["weight"], src["max_rows"], mix["seed"]) if split == "train" else None
            found.append(ds if keep is None else ds.select(keep))
    if not parts["train"]:
        raise SystemExit("distill engine: " + ", ".join(src["path"] for src in mix["sources"]) + ": no train-*.parquet rows")
    return DatasetDict({split: concatenate_datasets(found) for split, found in parts.items() if found})


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
