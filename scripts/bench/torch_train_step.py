#!/usr/bin/python3
"""One training step (zero grads, forward, mean cross-entropy, backward) of
a Qwen2/Llama-shaped decoder in PyTorch, timed: the reference that
`distill bench train` is compared with (scripts/bench/train_vs_torch.sh).

--impl decoder (default): the model of HF's modeling_qwen2.py /
modeling_llama.py written out (RMSNorm in float32, rotate_half RoPE,
repeat_kv GQA, SwiGLU, tied head), with --attn mask (softmax of the full
t×t scores plus an additive causal mask, HF's eager path; all torch 1.13
has) or --attn sdpa (F.scaled_dot_product_attention(is_causal=True),
torch >= 2.0). --impl hf: transformers' Qwen2ForCausalLM built from the
same shape (attn_implementation sdpa or eager), which --lora-rank (peft,
all linear layers but the head, alpha 2×rank as distill's) and
--gradient-checkpointing (HF's, non-reentrant) need. --compile wraps the
model in torch.compile (inductor). Random init (std 0.02), random tokens.
Threads are pinned: torch.set_num_threads(--threads) and one interop
thread; set OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS too
(train_vs_torch.sh does).
Prints one line per step and, last, "tokens/s: X" over the steps after the
first (warm-up, which also compiles) and the peak RSS.
torch_sft.py imports the model (Decoder, PRESETS) for the end-to-end SFT job.

  torch_train_step.py --student qwen-tiny --seq-len 256 --batch 8 --steps 5 --threads 2 --attn sdpa
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F

# The CPU presets of student/model/presets.go: (family, vocab, hidden,
# intermediate, layers, heads, kv heads), all tied, rope theta 1e4.
PRESETS = {
    "qwen-nano": ("qwen2", 512, 128, 384, 2, 4, 2),
    "qwen-tiny": ("qwen2", 8192, 256, 768, 4, 8, 2),
    "llama-tiny": ("llama", 8192, 256, 768, 4, 8, 2),
    "qwen-small": ("qwen2", 8192, 512, 1536, 8, 8, 2),
    "qwen-1.5b": ("qwen2", 151936, 1536, 8960, 28, 12, 2),
}


class Decoder(torch.nn.Module):
    def __init__(self, fam, vocab, hidden, inter, layers, heads, kv, seq, sdpa=False):
        super().__init__()
        self.sdpa = sdpa
        self.nh, self.nkv, self.d = heads, kv, hidden // heads
        self.eps = 1e-6 if fam == "qwen2" else 1e-5
        bias = fam == "qwen2"
        self.embed = torch.nn.Embedding(vocab, hidden)
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            m = torch.nn.Module()
            m.ln1 = torch.nn.Parameter(torch.ones(hidden))
            m.q = torch.nn.Linear(hidden, heads * self.d, bias=bias)
            m.k = torch.nn.Linear(hidden, kv * self.d, bias=bias)
            m.v = torch.nn.Linear(hidden, kv * self.d, bias=bias)
            m.o = torch.nn.Linear(heads * self.d, hidden, bias=False)
            m.ln2 = torch.nn.Parameter(torch.ones(hidden))
            m.gate = torch.nn.Linear(hidden, inter, bias=False)
            m.up = torch.nn.Linear(hidden, inter, bias=False)
            m.down = torch.nn.Linear(inter, hidden, bias=False)
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(hidden))
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.d, 2).float() / self.d))
        freqs = torch.arange(seq).float()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())
        self.register_buffer("mask", torch.full((seq, seq), float("-inf")).triu(1))

    def rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, cos, sin):
        h = x.shape[-1] // 2
        rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)
        return x * cos + rot * sin

    def forward(self, ids, pos=None, mask=None):
        """ids [b, t] -> logits [b, t, vocab]. For packed rows (torch_sft.py),
        pos [b, t] gives each token's position and mask an additive mask
        broadcastable to [b, heads, t, t]; the defaults are positions 0..t-1
        and the causal mask."""
        b, t = ids.shape
        cos, sin = (self.cos, self.sin) if pos is None else (self.cos[pos][:, None], self.sin[pos][:, None])
        mask = self.mask if mask is None else mask
        x = self.embed(ids)
        rep = self.nh // self.nkv
        for m in self.layers:
            h = self.rms(x, m.ln1)
            q = m.q(h).view(b, t, self.nh, self.d).transpose(1, 2)
            k = m.k(h).view(b, t, self.nkv, self.d).transpose(1, 2)
            v = m.v(h).view(b, t, self.nkv, self.d).transpose(1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            k = k[:, :, None].expand(b, self.nkv, rep, t, self.d).reshape(b, self.nh, t, self.d)
            v = v[:, :, None].expand(b, self.nkv, rep, t, self.d).reshape(b, self.nh, t, self.d)
            if self.sdpa and mask is self.mask:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            elif self.sdpa:  # packed rows: the block-diagonal mask, boolean or additive
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            else:
                a = F.softmax(q @ k.transpose(2, 3) / math.sqrt(self.d) + mask, dim=-1) @ v
            a = a.transpose(1, 2).reshape(b, t, self.nh * self.d)
            x = x + m.o(a)
            h = self.rms(x, m.ln2)
            x = x + m.down(F.silu(m.gate(h)) * m.up(h))
        return F.linear(self.rms(x, self.norm), self.embed.weight)


def hf_model(a, fam, vocab, hidden, inter, layers, heads, kv):
    """transformers' causal LM of the preset's shape, with peft adapters and
    HF's gradient checkpointing when asked for."""
    import transformers
    cls, conf = ((transformers.Qwen2ForCausalLM, transformers.Qwen2Config) if fam == "qwen2"
                 else (transformers.LlamaForCausalLM, transformers.LlamaConfig))
    cfg = conf(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
               num_attention_heads=heads, num_key_value_heads=kv, tie_word_embeddings=True,
               max_position_embeddings=a.seq_len, rope_theta=10000.0, rms_norm_eps=1e-6 if fam == "qwen2" else 1e-5,
               initializer_range=0.02, attn_implementation=a.attn if a.attn != "mask" else "eager")
    model = cls(cfg)
    if a.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if a.lora_rank:
        import peft
        model = peft.get_peft_model(model, peft.LoraConfig(r=a.lora_rank, lora_alpha=2 * a.lora_rank, lora_dropout=0.0,
                                                           target_modules="all-linear"))
    model.train()
    return model, lambda ids: model(input_ids=ids, use_cache=False).logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", choices=sorted(PRESETS), default="qwen-tiny")
    for k, v in [("seq-len", 256), ("batch", 8), ("steps", 5), ("threads", 2), ("seed", 1), ("lora-rank", 0)]:
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--impl", choices=["decoder", "hf"], default="decoder")
    ap.add_argument("--attn", choices=["mask", "sdpa"], default="mask")
    ap.add_argument("--compile", action="store_true", help="torch.compile (inductor)")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    a = ap.parse_args()
    if a.impl == "decoder" and (a.lora_rank or a.gradient_checkpointing):
        ap.error("--lora-rank and --gradient-checkpointing need --impl hf")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    fam, vocab, hidden, inter, layers, heads, kv = PRESETS[a.student]
    if a.impl == "hf":
        model, fwd = hf_model(a, fam, vocab, hidden, inter, layers, heads, kv)
    else:
        model = Decoder(fam, vocab, hidden, inter, layers, heads, kv, a.seq_len, sdpa=a.attn == "sdpa")
        fwd = model
    if a.compile:
        fwd = torch.compile(fwd)
    n = a.batch * a.seq_len
    toks = torch.randint(0, vocab, (a.batch, a.seq_len + 1))
    ids, targets = toks[:, :-1].contiguous(), toks[:, 1:].contiguous()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"torch train step: {a.student} ({sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
          f"{trainable / 1e6:.2f}M trainable), {a.impl} attn {a.attn}{' compiled' if a.compile else ''}"
          f"{', gradient checkpointing' if a.gradient_checkpointing else ''}, batch {a.batch} × seq {a.seq_len}, "
          f"threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}), torch {torch.__version__}")
    total = cpu = 0.0
    for s in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        model.zero_grad(set_to_none=True)
        logits = fwd(ids)
        loss = F.cross_entropy(logits.view(n, vocab), targets.view(n))
        loss.backward()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"step {s + 1}: {dt * 1e3:.1f} ms, cpu {dc * 1e3:.1f} ms, loss {loss.item():.4f}", flush=True)
        if s > 0 or a.steps == 1:
            total += dt
            cpu += dc
    timed = max(a.steps - 1, 1)
    # OpenMP threads spin while waiting, so CPU time overstates torch's work
    print(f"tokens/cpu-s: {n * timed / cpu:.1f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6:.0f} MB")
    print(f"tokens/s: {n * timed / total:.1f}")


if __name__ == "__main__":
    main()
