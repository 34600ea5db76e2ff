"""Writes a randomly initialised HF checkpoint of a distill preset's shape
with a real tokenizer (distill trains it with the template its special
tokens name), for engine benchmarks:

    python gpu_init.py PRESET_JSON TOKENIZER_JSON OUT_DIR

PRESET_JSON is one entry of `distill models --json`. Qwen2.5-Math's context
and RoPE base (4,096 positions, theta 10,000) complete the Qwen2 shape.
LAYERS and HIDDEN in the environment shrink it for a smoke test on a CPU
(HIDDEN a multiple of the head count).
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast, Qwen2Config

preset_path, tok_path, out = sys.argv[1:4]
p = json.load(open(preset_path))
p["layers"] = int(os.environ.get("LAYERS", p["layers"]))
p["hidden"] = int(os.environ.get("HIDDEN", p["hidden"]))
common = dict(
    vocab_size=p["vocab"], hidden_size=p["hidden"], intermediate_size=p["intermediate"],
    num_hidden_layers=p["layers"], num_attention_heads=p["heads"], num_key_value_heads=p["kv_heads"],
    tie_word_embeddings=p["tie_word_embeddings"],
)
if p["model_type"] == "qwen2":
    cfg = Qwen2Config(max_position_embeddings=4096, rope_theta=10000.0, rms_norm_eps=1e-6, **common)
else:
    cfg = LlamaConfig(max_position_embeddings=131072, rope_theta=500000.0, rms_norm_eps=1e-5, **common)
torch.manual_seed(0)
with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
model.save_pretrained(out)
tok = PreTrainedTokenizerFast(tokenizer_file=tok_path, eos_token="<|im_end|>", pad_token="<|endoftext|>")
tok.save_pretrained(out)
print(json.dumps({"params": sum(x.numel() for x in model.parameters()), "layers": p["layers"], "hidden": p["hidden"]}))
