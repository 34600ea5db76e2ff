#!/usr/bin/python3
"""Plain-PyTorch reference for the Go student model (student/model).

Qwen2 and Llama (with Llama 3.1 "llama3" rope scaling) written from Hugging
Face's modeling_qwen2.py / modeling_llama.py (eager attention path), without
transformers, so that the Go forward, KV cache and greedy decode can be
checked against it.

  fixtures [OUTDIR]   write tiny random checkpoints (config.json +
                      model.safetensors written by hand) and expected.json
                      with logits and greedy continuations
                      (default OUTDIR: student/model/testdata)
  bench ...           time a KV-cached greedy decode of a random model of a
                      given shape; prints one JSON line with tokens/s.
                      --attn grouped|repeat|sdpa picks the attention of
                      this file's model; --impl hf times transformers'
                      generate() instead; --save DIR writes the model as a
                      checkpoint (for `distill export gguf`) and exits

Needs only Debian's python3-torch (1.13) and python3-numpy, apart from
bench's --attn sdpa (torch >= 2.1) and --impl hf (transformers).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- model

def rope_inv_freq(cfg):
    """HF _compute_default_rope_parameters, then _compute_llama3_parameters."""
    d = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg["rope_theta"]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.get("rope_scaling")
    if rs and (rs.get("rope_type") or rs.get("type")) == "llama3":
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq


def rotary_cos_sin(inv_freq, position_ids):
    """HF LlamaRotaryEmbedding.forward (attention_scaling is 1 for default and llama3)."""
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def rms_norm(x, w, eps):
    """HF Qwen2RMSNorm / LlamaRMSNorm."""
    input_dtype = x.dtype
    x = x.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + eps)
    return w * x.to(input_dtype)


def repeat_kv(x, n_rep):
    b, h, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


class Model:
    """Decoder weights as a dict of HF tensor names; forward(ids, cache)."""

    def __init__(self, cfg, params, attn="repeat"):
        # attn "repeat": HF's eager path (repeat_kv copies); "grouped": the
        # query heads of a KV head become rows of one matmul, without the
        # copies (same result, checked by fixtures); "sdpa":
        # F.scaled_dot_product_attention with grouped KV heads. The last two
        # are faster benchmark baselines.
        self.cfg, self.p, self.attn = cfg, params, attn
        self.d = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        self.inv_freq = rope_inv_freq(cfg)
        self.bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)

    def lin(self, x, name, bias=False):
        return F.linear(x, self.p[name + ".weight"], self.p[name + ".bias"] if bias else None)

    def forward(self, ids, cache=None, start=0):
        """ids [B,T] at positions start..start+T-1; cache: per layer [k, v]
        tensors [B, nKV, cap, D] filled up to start. Returns logits [B,T,V]."""
        cfg, p = self.cfg, self.p
        b, t = ids.shape
        nh, nkv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], self.d
        eps = cfg["rms_norm_eps"]
        h = F.embedding(ids, p["model.embed_tokens.weight"])
        pos = torch.arange(start, start + t)[None, :].expand(b, t)
        cos, sin = rotary_cos_sin(self.inv_freq, pos)
        # causal mask over the cached prefix plus this chunk
        total = start + t
        mask = torch.full((t, total), float("-inf")).triu(start + 1)
        for l in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{l}."
            residual = h
            x = rms_norm(h, p[pre + "input_layernorm.weight"], eps)
            q = self.lin(x, pre + "self_attn.q_proj", self.bias).view(b, t, nh, d).transpose(1, 2)
            k = self.lin(x, pre + "self_attn.k_proj", self.bias).view(b, t, nkv, d).transpose(1, 2)
            v = self.lin(x, pre + "self_attn.v_proj", self.bias).view(b, t, nkv, d).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            if cache is not None:
                ck, cv = cache[l]
                ck[:, :, start:total] = k
                cv[:, :, start:total] = v
                k, v = ck[:, :, :total], cv[:, :, :total]
            if self.attn == "sdpa":
                # a chunk at 0 is causal by itself, one token sees the whole cache
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=None if t == 1 or start == 0 else mask == 0,
                                                   is_causal=t > 1 and start == 0, enable_gqa=True)
                a = a.transpose(1, 2).reshape(b, t, nh * d)
            elif self.attn == "grouped":
                g = nh // nkv
                qg = q.reshape(b, nkv, g * t, d)  # head h = kv*g + j, as repeat_kv
                w = torch.matmul(qg, k.transpose(2, 3)) * d ** -0.5 + mask.repeat(g, 1)
                w = F.softmax(w, dim=-1, dtype=torch.float32)
                a = torch.matmul(w, v).view(b, nh, t, d).transpose(1, 2).reshape(b, t, nh * d)
            else:
                k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
                w = torch.matmul(q, k.transpose(2, 3)) * d ** -0.5 + mask
                w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
                a = torch.matmul(w, v).transpose(1, 2).reshape(b, t, nh * d)
            h = residual + self.lin(a, pre + "self_attn.o_proj")
            residual = h
            x = rms_norm(h, p[pre + "post_attention_layernorm.weight"], eps)
            x = self.lin(F.silu(self.lin(x, pre + "mlp.gate_proj")) * self.lin(x, pre + "mlp.up_proj"), pre + "mlp.down_proj")
            h = residual + x
        h = rms_norm(h, p["model.norm.weight"], eps)
        head = p["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else p["lm_head.weight"]
        return F.linear(h, head)

    def new_cache(self, b, cap):
        nkv = self.cfg["num_key_value_heads"]
        return [[torch.zeros(b, nkv, cap, self.d), torch.zeros(b, nkv, cap, self.d)]
                for _ in range(self.cfg["num_hidden_layers"])]

    def greedy(self, prompts, n):
        """KV-cached greedy decode of equal-length prompts [B,P] → [B,n]."""
        b, plen = prompts.shape
        cache = self.new_cache(b, plen + n)
        logits = self.forward(prompts, cache, 0)[:, -1]
        out = []
        for i in range(n):
            nxt = logits.argmax(-1)
            out.append(nxt)
            if i == n - 1:
                break
            logits = self.forward(nxt[:, None], cache, plen + i)[:, -1]
        return torch.stack(out, 1)


def param_shapes(cfg):
    h, v, inter = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    d = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * d, cfg["num_key_value_heads"] * d
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    s = {"model.embed_tokens.weight": (v, h)}
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        s[pre + "input_layernorm.weight"] = (h,)
        s[pre + "self_attn.q_proj.weight"] = (q, h)
        s[pre + "self_attn.k_proj.weight"] = (kv, h)
        s[pre + "self_attn.v_proj.weight"] = (kv, h)
        if bias:
            s[pre + "self_attn.q_proj.bias"] = (q,)
            s[pre + "self_attn.k_proj.bias"] = (kv,)
            s[pre + "self_attn.v_proj.bias"] = (kv,)
        s[pre + "self_attn.o_proj.weight"] = (h, q)
        s[pre + "post_attention_layernorm.weight"] = (h,)
        s[pre + "mlp.gate_proj.weight"] = (inter, h)
        s[pre + "mlp.up_proj.weight"] = (inter, h)
        s[pre + "mlp.down_proj.weight"] = (h, inter)
    s["model.norm.weight"] = (h,)
    if not cfg["tie_word_embeddings"]:
        s["lm_head.weight"] = (v, h)
    return s


def random_params(cfg, gen, std):
    """Norm weights near 1 and non-zero biases, so that every parameter
    matters; a larger std than HF's init separates the logits, so that greedy
    paths do not hinge on rounding."""
    p = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("norm.weight"):
            p[name] = 1 + 0.2 * torch.randn(shape, generator=gen)
        elif name.endswith(".bias"):
            p[name] = 0.1 * torch.randn(shape, generator=gen)
        else:
            p[name] = std * torch.randn(shape, generator=gen)
    return p


# ---------------------------------------------------------------- safetensors

def bf16_round(t):
    """Round float32 to bfloat16 (nearest even), returned as float32 and as
    the raw uint16 bits."""
    u = t.contiguous().view(torch.int32).numpy().astype(np.uint32)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    back = torch.from_numpy((r.astype(np.uint32) << 16).view(np.float32).copy())
    return back, r


def write_safetensors(path, params, dtype="F32"):
    header, blobs, off = {}, [], 0
    for name in sorted(params):
        t = params[name].contiguous()
        if dtype == "F32":
            raw = t.numpy().astype("<f4").tobytes()
        else:
            raw = bf16_round(t)[1].astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # HF pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- fixtures

FAMILIES = {
    "qwen2-tiny": {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "hidden_act": "silu", "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "tie_word_embeddings": True, "initializer_range": 0.02,
        "torch_dtype": "float32",
    },
    "llama3-tiny": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": 128, "hidden_size": 64, "intermediate_size": 96,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
        # head_dim 16, theta 1e4: wavelengths 6.3, 19.9, 62.8, 199, … 19869;
        # with an original context of 64 (high/low wavelength 16/64) the first
        # is kept, the next two smoothed, the rest divided by the factor: all
        # three llama3 cases.
        "rope_theta": 10000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "tie_word_embeddings": False, "attention_bias": False, "initializer_range": 0.02,
        "torch_dtype": "float32",
    },
}

CONTINUE = 20


def fixture(outdir, name, cfg, seed, dtype="F32"):
    gen = torch.Generator().manual_seed(seed)
    params = random_params(cfg, gen, std=0.15)
    if dtype == "BF16":
        params = {k: bf16_round(v)[0] for k, v in params.items()}
        cfg = dict(cfg, torch_dtype="bfloat16")
    m = Model(cfg, params)
    v = cfg["vocab_size"]
    lengths = [1, 2, 5, 13, 40, 90]
    cases = []
    with torch.no_grad():
        for i, n in enumerate(lengths):
            # Draw prompts until every greedy step has a clear winner, so the
            # token-for-token check tests the model, not rounding.
            for _ in range(100):
                ids = torch.randint(0, v, (n,), generator=gen)
                full = m.forward(ids[None])[0]
                cont = m.greedy(ids[None], CONTINUE)[0]
                # the cached decode must agree with re-running the whole sequence
                seq = ids.clone()
                margin = float("inf")
                for _ in range(CONTINUE):
                    lg = m.forward(seq[None])[0, -1]
                    top2 = lg.topk(2).values
                    margin = min(margin, float(top2[0] - top2[1]))
                    seq = torch.cat([seq, lg.argmax()[None]])
                assert torch.equal(seq[n:], cont), f"{name}: cached and uncached greedy differ"
                if margin > 0.01:
                    break
            fast = Model(cfg, params, attn="grouped").forward(ids[None])[0]
            assert torch.allclose(fast, full, rtol=1e-5, atol=1e-5), f"{name}: grouped attention differs"
            case = {
                "tokens": ids.tolist(),
                "last_logits": f32list(full[-1]),
                "greedy": cont.tolist(),
                "greedy_min_margin": margin,
            }
            if i == 3:
                case["all_logits"] = [f32list(r) for r in full]
            cases.append(case)
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), params, dtype)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/torch_reference.py fixtures", "torch": torch.__version__,
                   "seed": seed, "cases": cases}, f)
        f.write("\n")
    margins = [c["greedy_min_margin"] for c in cases]
    print(f"{d}: {len(cases)} cases, min greedy margin {min(margins):.4f}", file=sys.stderr)


def f32list(t):
    """Shortest decimals that read back as the same float32s."""
    return [float(str(x)) for x in t.numpy().astype(np.float32)]


def cmd_fixtures(a):
    torch.manual_seed(0)
    fixture(a.outdir, "qwen2-tiny", FAMILIES["qwen2-tiny"], 1)
    fixture(a.outdir, "llama3-tiny", FAMILIES["llama3-tiny"], 2)
    fixture(a.outdir, "qwen2-tiny-bf16", FAMILIES["qwen2-tiny"], 3, dtype="BF16")


# ---------------------------------------------------------------- bench

# The CPU presets of student/model/presets.go: (family, vocab, hidden,
# intermediate, layers, heads, kv heads), all tied, rope theta 1e4.
PRESETS = {
    "qwen-nano": ("qwen2", 512, 128, 384, 2, 4, 2),
    "qwen-tiny": ("qwen2", 8192, 256, 768, 4, 8, 2),
    "llama-tiny": ("llama", 8192, 256, 768, 4, 8, 2),
    "qwen-small": ("qwen2", 8192, 512, 1536, 8, 8, 2),
}


def bench_config(a):
    fam, v, h, inter, layers, heads, kv = PRESETS[a.preset]
    return dict(FAMILIES["qwen2-tiny" if fam == "qwen2" else "llama3-tiny"],
                vocab_size=v, hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv, tie_word_embeddings=True,
                rope_theta=10000.0, rope_scaling=None, max_position_embeddings=a.prompt + a.new)


def hf_greedy(cfg, params):
    """transformers' generate() on the same weights: greedy, KV cache (its
    dynamic cache), SDPA, every row running NEW tokens."""
    import transformers
    c = transformers.AutoConfig.for_model(cfg["model_type"], attn_implementation="sdpa",
                                          **{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    m = transformers.AutoModelForCausalLM.from_config(c)
    m.load_state_dict(params, strict=False)  # lm_head is tied
    m.eval()
    return lambda prompts, n: m.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=n,
                                         min_new_tokens=n, do_sample=False, pad_token_id=0)


def cmd_bench(a):
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    cfg = bench_config(a)
    gen = torch.Generator().manual_seed(0)
    params = random_params(cfg, gen, std=0.02)
    if a.save:
        os.makedirs(a.save, exist_ok=True)
        with open(os.path.join(a.save, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(a.save, "model.safetensors"), params)
        return
    greedy = hf_greedy(cfg, params) if a.impl == "hf" else Model(cfg, params, attn=a.attn).greedy
    prompts = torch.randint(0, cfg["vocab_size"], (a.batch, a.prompt), generator=gen)
    best, best_cpu = float("inf"), float("inf")
    with torch.no_grad():
        greedy(prompts, 2)  # warm-up
        for _ in range(a.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            out = greedy(prompts, a.new)
            best = min(best, time.perf_counter() - t0)
            # CPU time measures the work on a shared machine, where wall
            # time measures the neighbours too
            best_cpu = min(best_cpu, time.process_time() - c0)
    assert out.shape[-1] - (a.prompt if a.impl == "hf" else 0) == a.new, out.shape
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "preset": a.preset, "threads": a.threads,
                      "variant": "hf generate sdpa" if a.impl == "hf" else a.attn,
                      "batch": a.batch, "prompt": a.prompt, "new": a.new, "seconds": best,
                      "cpu_seconds": best_cpu, "tokens_per_s": a.batch * a.new / best,
                      "tokens_per_cpu_s": a.batch * a.new / best_cpu}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("outdir", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "student", "model", "testdata"))
    f.set_defaults(fn=cmd_fixtures)
    b = sub.add_parser("bench")
    for k, v in [("batch", 16), ("prompt", 32), ("new", 64), ("threads", 2), ("reps", 3)]:
        b.add_argument("--" + k, type=int, default=v)
    b.add_argument("--preset", choices=sorted(PRESETS), default="qwen-tiny")
    b.add_argument("--attn", choices=["grouped", "repeat", "sdpa"], default="grouped",
                   help="grouped KV heads in one matmul, HF eager's repeat_kv, or F.scaled_dot_product_attention")
    b.add_argument("--impl", choices=["model", "hf"], default="model", help="this file's model or transformers' generate()")
    b.add_argument("--save", metavar="DIR", help="write config.json and model.safetensors of the bench model and exit")
    b.set_defaults(fn=cmd_bench)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
