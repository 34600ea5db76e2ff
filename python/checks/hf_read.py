"""Reads a checkpoint directory the way transformers' from_pretrained does for
Qwen2ForCausalLM / LlamaForCausalLM, but written independently of it:
config.json, then model.safetensors or the shards of
model.safetensors.index.json, parsed with json + struct and read with torch.
(distill/hf_test.go has transformers itself load what `distill train`
writes; this reader also covers the BF16 files Save writes.)

It checks what from_pretrained would reject or silently get wrong:
metadata "format" in pt/tf/flax/mlx, every expected key present with its
shape (expected keys derived from the config as HF's modeling code names
them), nothing unexpected, lm_head absent only when tied. For the
directories given it prints one JSON object {dir: {name: [sum, first
element]}} for student/checkpoint's TestReadByPython to compare (one
process: importing torch is slow).

usage: hf_read.py CKPT_DIR...  (with python/.venv's interpreter)
"""
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def expected_shapes(c):
    h, v, i = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    d = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    # modeling_qwen2.py: q/k/v Linear(bias=True); modeling_llama.py: bias=attention_bias.
    bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    s = {"model.embed_tokens.weight": [v, h], "model.norm.weight": [h]}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        s[p + "input_layernorm.weight"] = [h]
        s[p + "post_attention_layernorm.weight"] = [h]
        for n, o in (("q", q), ("k", kv), ("v", kv)):
            s[p + f"self_attn.{n}_proj.weight"] = [o, h]
            if bias:
                s[p + f"self_attn.{n}_proj.bias"] = [o]
        s[p + "self_attn.o_proj.weight"] = [h, q]
        s[p + "mlp.gate_proj.weight"] = [i, h]
        s[p + "mlp.up_proj.weight"] = [i, h]
        s[p + "mlp.down_proj.weight"] = [h, i]
    if not c.get("tie_word_embeddings", False):
        s["lm_head.weight"] = [v, h]
    return s


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    # transformers/modeling_utils.py raises OSError unless this holds.
    assert meta is not None and meta.get("format") in ("pt", "tf", "flax", "mlx"), f"{path}: metadata {meta}"
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=DTYPES[e["dtype"]]) if end > b else torch.empty(0)
        out[name] = t.reshape(e["shape"]).float()
    return out


def main(d):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    assert c["architectures"] == [{"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM"}[c["model_type"]]], c["architectures"]
    assert c["torch_dtype"] in ("float32", "bfloat16"), c["torch_dtype"]
    idx = os.path.join(d, "model.safetensors.index.json")
    sd = {}
    if os.path.exists(idx):
        with open(idx) as f:
            for shard in sorted(set(json.load(f)["weight_map"].values())):
                sd.update(read_safetensors(os.path.join(d, shard)))
    else:
        sd = read_safetensors(os.path.join(d, "model.safetensors"))
    want = expected_shapes(c)
    missing = sorted(set(want) - set(sd))
    unexpected = sorted(set(sd) - set(want))
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
    for k, shape in want.items():
        assert list(sd[k].shape) == shape, f"{k}: {list(sd[k].shape)} != {shape}"
    with open(os.path.join(d, "generation_config.json")) as f:
        json.load(f)
    return {k: [float(t.double().sum()), float(t.flatten()[0])] for k, t in sd.items()}


if __name__ == "__main__":
    json.dump({d: main(d) for d in sys.argv[1:]}, sys.stdout)
