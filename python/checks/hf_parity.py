"""Opens what distill wrote with the libraries its users open it with, and
reports what they see; distill/hf_test.go compares that with distill's own
output. Importing torch and transformers is most of the time, so one
process does all the Python the test needs, beside the Go side:

  1. it writes INIT_DIR/qwen2 and INIT_DIR/llama3, small Qwen2.5- and
     Llama 3.1-shaped checkpoints the way a Hugging Face user has them
     (transformers' config, initialisation and save_pretrained, the real
     tokenizers saved by AutoTokenizer), for `distill train --init`, and
     prints "init written";
  2. it reads the path of a SPEC file on stdin (once the Go side has
     trained every checkpoint), checks what it names and writes
     OUT_DIR/result.json.

usage: hf_parity.py OUT_DIR INIT_DIR QWEN_TOKENIZER_DIR LLAMA3_TOKENIZER_DIR

SPEC (JSON):
  models:     [{name, dir, ids: [[id...]...], greedy: [[id...]...], steps}]
  tokenizers: [{name, dir, texts: [str...], chats: [{messages, add_generation_prompt}...], resave}]
  peft:       [{name, base, adapter, ids: [[id...]...]}]
  datasets:   {dir, files: {split: glob...}}

result.json has, per entry, what transformers, peft and datasets give;
last-position logits go to OUT_DIR/{model,peft,peft-base}-NAME.f32
(little-endian float32, one row of vocab_size per id sequence) instead of
JSON.
"""
import json
import os
import sys

import datasets
import numpy as np
import peft
import safetensors
import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config


# The published configs at a small width (2 layers of 64): what the small
# shapes keep is each family's kind. Qwen2.5: tied head, q/k/v bias, a
# vocabulary padded past the tokenizer's. Llama 3.1: llama3 RoPE scaling,
# untied head. Both with GQA.
SMALL = dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
INITS = {
    "qwen2": lambda tok: Qwen2Config(
        vocab_size=151936, max_position_embeddings=32768, rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        bos_token_id=151643, eos_token_id=151643, **SMALL),
    "llama3": lambda tok: LlamaConfig(
        vocab_size=len(tok), max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        bos_token_id=128000, eos_token_id=[128001, 128008, 128009], **SMALL),
}


def write_init(out, family, tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = AutoModelForCausalLM.from_config(INITS[family](tok))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("bias"):
                # Norms start at 1 and biases at 0: perturbed, a reader that
                # dropped them would show in the logits.
                p.add_(torch.randn_like(p) * 0.1)
            elif "q_proj" in name or "k_proj" in name:
                # Sharp, loud attention, so that greedy decoding depends on
                # the context and not only on the last token (as hfAttnScale
                # in distill/hf_test.go).
                p.mul_(4)
            elif "v_proj" in name or "o_proj" in name:
                p.mul_(8)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def last_logits(model, seqs):
    # logits_to_keep=1: the head on the last position only, as distill
    # logits does (all 4,000 positions of a 150k vocabulary are 2.4 GB).
    with torch.no_grad():
        return np.stack([model(torch.tensor([s]), logits_to_keep=1).logits[0, -1].float().numpy() for s in seqs])


def save_rows(out, name, rows):
    path = os.path.join(out, name + ".f32")
    rows.astype("<f4").tofile(path)
    return path


def check_model(m, out):
    # float32 whatever the file's dtype: the comparison is with distill's
    # float32 forward pass.
    model, info = AutoModelForCausalLM.from_pretrained(m["dir"], dtype=torch.float32, output_loading_info=True)
    model.eval()
    greedy = []
    for p in m["greedy"]:
        ids = torch.tensor([p])
        # No stop token (distill logits --greedy has none either), so both
        # decode exactly `steps` tokens.
        g = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=m["steps"],
                           eos_token_id=None, pad_token_id=0)
        greedy.append(g[0, len(p):].tolist())
    return {
        "class": type(model).__name__,
        "loading_info": {k: sorted(map(str, v)) for k, v in info.items()},
        "logits": save_rows(out, "model-" + m["name"], last_logits(model, m["ids"])),
        "greedy": greedy,
        "generation_eos": as_list(model.generation_config.eos_token_id),
    }


def as_list(x):
    return [] if x is None else [x] if isinstance(x, int) else list(x)


def chat_ids(tok, c):
    r = tok.apply_chat_template(c["messages"], tokenize=True, add_generation_prompt=c["add_generation_prompt"])
    # transformers 5 returns a BatchEncoding, 4.x a list.
    return list(r["input_ids"]) if hasattr(r, "keys") else list(r)


def check_tokenizer(k):
    tok = AutoTokenizer.from_pretrained(k["dir"])
    ids = [tok.encode(s, add_special_tokens=False) for s in k["texts"]]
    # As a user's save_pretrained (or TRL's) writes it back.
    tok.save_pretrained(k["resave"])
    return {
        "eos_token": tok.eos_token,
        "ids": ids,
        "decoded": [tok.decode(i) for i in ids],
        "chat_text": [tok.apply_chat_template(c["messages"], tokenize=False,
                                              add_generation_prompt=c["add_generation_prompt"]) for c in k["chats"]],
        "chat_ids": [chat_ids(tok, c) for c in k["chats"]],
    }


def check_peft(p, out):
    base = AutoModelForCausalLM.from_pretrained(p["base"], dtype=torch.float32)
    base.eval()
    base_logits = last_logits(base, p["ids"])
    # from_pretrained wraps base in place; its logits are taken first.
    model = peft.PeftModel.from_pretrained(base, p["adapter"])
    model.eval()
    return {
        "base_logits": save_rows(out, "peft-base-" + p["name"], base_logits),
        "logits": save_rows(out, "peft-" + p["name"], last_logits(model, p["ids"])),
    }


def describe(f):
    """A feature as a type string: string, bool, int64, list<struct<a: string>>."""
    if isinstance(f, dict):
        return "struct<" + ", ".join(f"{k}: {describe(v)}" for k, v in f.items()) + ">"
    if isinstance(f, (datasets.List, datasets.Sequence)):
        return f"list<{describe(f.feature)}>"
    if isinstance(f, datasets.Value):
        return f.dtype
    return repr(f)


def check_datasets(d):
    res = {"splits": {}}
    for split, pattern in d["files"].items():
        ds = datasets.load_dataset("parquet", data_files={split: os.path.join(d["dir"], pattern)}, split=split)
        res["splits"][split] = {
            "features": [[k, describe(v)] for k, v in ds.features.items()],
            "rows": ds.to_list(),
        }
    # The directory as a dataset: its README card's configs and features.
    card = datasets.load_dataset(d["dir"])
    res["card"] = {s: card[s].num_rows for s in card}
    return res


def main(out, init_dir, qwen_tokenizer_dir, llama_tokenizer_dir):
    torch.manual_seed(0)
    write_init(os.path.join(init_dir, "qwen2"), "qwen2", qwen_tokenizer_dir)
    write_init(os.path.join(init_dir, "llama3"), "llama3", llama_tokenizer_dir)
    print("init written", flush=True)
    with open(sys.stdin.readline().strip()) as f:
        spec = json.load(f)
    res = {
        "versions": {m.__name__: m.__version__ for m in (torch, transformers, tokenizers, safetensors, datasets, peft)},
        "models": {m["name"]: check_model(m, out) for m in spec.get("models", [])},
        "tokenizers": {k["name"]: check_tokenizer(k) for k in spec.get("tokenizers", [])},
        "peft": {p["name"]: check_peft(p, out) for p in spec.get("peft", [])},
    }
    if "datasets" in spec:
        res["datasets"] = check_datasets(spec["datasets"])
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(res, f, ensure_ascii=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
