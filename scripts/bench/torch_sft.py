#!/usr/bin/python3
"""The job of `distill train` on a fresh preset student, end to end in plain
PyTorch: the reference of scripts/bench/train_full_vs_torch.sh.

Reads conversations from JSONL ({"messages": [{"role", "content"}, ...]} per
line: DuckDB's export of the train shards' messages column, since Python has
no Parquet reader here), renders each with the ChatML template and the
byte-level tokenizer a fresh Go student gets (tokenizer.NewByteLevel: ids 0-255
are the bytes, then <|endoftext|> <|im_start|> <|im_end|> <think> </think>;
NFC-normalised text), keeps an assistant-only loss mask with the closing
<|im_end|> counted, packs whole examples exactly into rows of --seq-len
tokens (segment ids: block-diagonal causal mask, positions restarting per
example; longer examples truncated), and trains --max-steps updates of
--micro-batch rows with AdamW (betas 0.9/0.95, eps 1e-8, weight decay on
matrices only), global gradient clipping and linear warmup + cosine decay to
--min-lr-ratio of the peak: the settings and defaults of `distill train`. The
model is torch_train_step.py's Decoder, imported, with the byte-level
vocabulary: HF's eager path with the block-diagonal mask added to the full
scores (--attn mask, any torch), or scaled_dot_product_attention given the
boolean mask (--attn sdpa, torch 2), optionally under torch.compile; matrices ~ N(0, 0.02), biases 0, norms 1. At the end it
saves the model and optimiser state, as the Go trainer saves its checkpoint.

Writes OUT/metrics.jsonl in the Go trainer's format (step, epoch, loss, lr,
grad_norm, tokens without padding, tokens_per_sec, elapsed_sec from the
start of the training loop) and logs to stderr, with the line
"N examples (R rows of S tokens, ...)" once the data is ready.

  torch_sft.py --data train.jsonl --out DIR --student qwen-tiny --max-steps 30 --micro-batch 8 --seq-len 256 --threads 2
  torch_sft.py ... --attn sdpa --compile                 # torch 2: SDPA with the boolean mask, compiled
  torch_sft.py --data train.jsonl --render-only     # rendered ids and mask per line, as `distill tokenize --chat chatml`
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
import unicodedata

import torch
import torch.nn.functional as F

from torch_train_step import PRESETS, Decoder

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
SPECIAL_IDS = {s.encode(): 256 + i for i, s in enumerate(SPECIALS)}
SPLIT = re.compile(b"(" + b"|".join(re.escape(s) for s in SPECIAL_IDS) + b")")
VOCAB = 256 + len(SPECIALS)


def chatml(msgs):
    """The rendered parts (utf-8, is-assistant) of a conversation."""
    parts = []
    for m in msgs:
        role, content = m["role"], unicodedata.normalize("NFC", m["content"])
        if role == "assistant":
            parts += [(b"<|im_start|>assistant\n", False), ((content + "<|im_end|>").encode(), True), (b"\n", False)]
        elif role in ("system", "user"):
            parts.append((f"<|im_start|>{role}\n{content}<|im_end|>\n".encode(), False))
        else:
            raise ValueError(f"role {role!r} not supported (want system, user or assistant)")
    return parts


def render(msgs):
    """Token ids and 0/1 assistant mask: a token counts when its bytes
    overlap an assistant part."""
    text, flags = bytearray(), bytearray()
    for b, assistant in chatml(msgs):
        text += b
        flags += (b"\x01" if assistant else b"\x00") * len(b)
    ids, mask, at = [], [], 0
    for i, piece in enumerate(SPLIT.split(bytes(text))):
        if i % 2:
            ids.append(SPECIAL_IDS[piece])
            mask.append(int(any(flags[at:at + len(piece)])))
        elif piece:
            b = unicodedata.normalize("NFC", piece.decode()).encode()
            ids += b
            m = flags[at:at + len(b)]
            mask += m + bytes(len(b) - len(m))
        at += len(piece)
    return ids, mask


def load(path):
    exs, skipped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            msgs = json.loads(line)["messages"]
            if not any(m["role"] == "assistant" for m in msgs):
                skipped += 1
                continue
            exs.append(render(msgs))
    return exs, skipped


def pack(exs, seq):
    """Rows of seq tokens: tokens, targets (-1: no loss), segments (-1:
    padding) and positions, as lists; and how many examples were truncated."""
    rows, cur, truncated = [], None, 0

    def flush():
        if cur and cur[0]:
            pad = seq - len(cur[0])
            for col, v in zip(cur, ([0] * pad, [-1] * pad, [-1] * pad, list(range(pad)))):
                col += v
            rows.append(cur)

    for sid, (ids, mask) in enumerate(exs):
        if len(ids) > seq:
            ids, mask, truncated = ids[:seq], mask[:seq], truncated + 1
        if cur is None or len(cur[0]) + len(ids) > seq:
            flush()
            cur = ([], [], [], [])
        cur[0].extend(ids)
        cur[1].extend([ids[i + 1] if mask[i + 1] else -1 for i in range(len(ids) - 1)] + [-1])
        cur[2].extend([sid] * len(ids))
        cur[3].extend(range(len(ids)))
    flush()
    return rows, truncated


def epoch_rows(exs, seq, seed, epoch):
    order = list(exs)
    random.Random(seed * 1000003 + epoch).shuffle(order)
    rows, _ = pack(order, seq)
    return [torch.tensor(col, dtype=torch.long) for col in zip(*rows)]


def lr_at(step, peak, warmup, total, min_ratio):
    """The Go trainer's warmup + cosine schedule (student/train/schedule.go)."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    if total <= warmup:
        return peak
    p = min(1.0, max(0.0, (step - warmup) / (total - warmup)))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def log(msg):
    print("torch_sft: " + msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="JSONL of {\"messages\": [...]} per line")
    ap.add_argument("--out", help="output directory (metrics.jsonl, checkpoint.pt)")
    ap.add_argument("--render-only", action="store_true",
                    help="print {\"ids\", \"assistant_mask\"} per line, as `distill tokenize --chat chatml`, and exit")
    ap.add_argument("--student", choices=sorted(PRESETS), default="qwen-tiny")
    for k, v in [("max-steps", 30), ("micro-batch", 8), ("seq-len", 256), ("threads", 2), ("seed", 1),
                 ("warmup-steps", 20)]:
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--attn", choices=["mask", "sdpa"], default="mask")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (inductor)")
    for k, v in [("lr", 2e-3), ("min-lr-ratio", 0.1), ("weight-decay", 0.1), ("max-grad-norm", 1.0)]:
        ap.add_argument("--" + k, type=float, default=v)
    a = ap.parse_args()

    if a.render_only:
        with open(a.data, encoding="utf-8") as f:
            for line in f:
                ids, mask = render(json.loads(line)["messages"])
                sys.stdout.write(json.dumps({"ids": ids, "assistant_mask": mask}, separators=(",", ":")) + "\n")
        return
    if not a.out:
        ap.error("--out is required")
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    # The model first, then the data, as the Go trainer does.
    fam, _, hidden, inter, layers, heads, kv = PRESETS[a.student]
    model = Decoder(fam, VOCAB, hidden, inter, layers, heads, kv, a.seq_len, sdpa=a.attn == "sdpa")
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            torch.nn.init.zeros_(p)  # biases, as the Go init (norms stay 1)
    forward = torch.compile(model) if a.compile else model

    exs, skipped = load(a.data)
    if not exs:
        sys.exit(f"torch_sft: {a.data}: no conversation with an assistant turn")
    epoch = 0
    cur = epoch_rows(exs, a.seq_len, a.seed, epoch)
    _, truncated = pack(exs, a.seq_len)
    log(f"{len(exs)} examples ({len(cur[0])} rows of {a.seq_len} tokens, {truncated} truncated, 0 dropped, "
        f"{skipped} without an assistant turn); {a.max_steps} updates of {a.micro_batch}×1 rows")

    params = list(model.parameters())
    opt = torch.optim.AdamW([
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": a.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ], lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    causal = torch.ones(a.seq_len, a.seq_len, dtype=torch.bool).tril()
    metrics = open(os.path.join(a.out, "metrics.jsonl"), "w")
    start, row, tokens, loss = time.perf_counter(), 0, 0, float("nan")
    for step in range(a.max_steps):
        idx = []
        while len(idx) < a.micro_batch:
            if row >= len(cur[0]):
                epoch, row = epoch + 1, 0
                cur = epoch_rows(exs, a.seq_len, a.seed, epoch)
            idx.append(row)
            row += 1
        ids, tgt, seg, pos = (c[idx] for c in cur)
        allowed = ((seg[:, :, None] == seg[:, None, :]) & causal)[:, None]
        mask = allowed if a.attn == "sdpa" else torch.zeros(allowed.shape).masked_fill_(~allowed, float("-inf"))
        opt.zero_grad(set_to_none=True)
        logits = forward(ids, pos, mask)
        loss_t = F.cross_entropy(logits.view(-1, VOCAB), tgt.view(-1), ignore_index=-1)
        loss_t.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm if a.max_grad_norm > 0 else float("inf"))
        lr = lr_at(step, a.lr, a.warmup_steps, a.max_steps, a.min_lr_ratio)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        loss = loss_t.item()
        if not math.isfinite(loss):
            sys.exit(f"torch_sft: update {step + 1}: loss is not finite ({loss})")
        tokens += int((seg >= 0).sum())
        el = time.perf_counter() - start
        metrics.write(json.dumps({"step": step + 1, "epoch": epoch, "loss": loss, "lr": lr, "grad_norm": float(norm),
                                  "tokens": tokens, "tokens_per_sec": tokens / max(el, 1e-9), "elapsed_sec": el},
                                 separators=(",", ":")) + "\n")
        metrics.flush()
    metrics.close()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": a.max_steps},
               os.path.join(a.out, "checkpoint.pt"))
    log(f"{a.max_steps} updates, loss {loss:.4f}, {tokens / (time.perf_counter() - start):.0f} tokens/s; model in {a.out}")


if __name__ == "__main__":
    main()
