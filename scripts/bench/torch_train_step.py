#!/usr/bin/python3
"""One training step (zero grads, forward, mean cross-entropy, backward) of
a Qwen2/Llama-shaped decoder in plain PyTorch, timed: the reference that
`distill bench train` is compared with (scripts/bench/train_vs_torch.sh).

The model follows HF's modeling_qwen2.py / modeling_llama.py eager path
(RMSNorm in float32, rotate_half RoPE, repeat_kv GQA, causal softmax
attention, SwiGLU, tied head), random init (std 0.02), random tokens.
Prints one line per step and, last, "tokens/s: X" over the steps after the
first (warm-up) and the peak RSS. Needs only Debian's python3-torch.
torch_sft.py imports the model (Decoder, PRESETS) for the end-to-end SFT job.

  torch_train_step.py --student qwen-tiny --seq-len 256 --batch 8 --steps 5 --threads 2
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
}


class Decoder(torch.nn.Module):
    def __init__(self, fam, vocab, hidden, inter, layers, heads, kv, seq):
        super().__init__()
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
            s = q @ k.transpose(2, 3) / math.sqrt(self.d) + mask
            a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, self.nh * self.d)
            x = x + m.o(a)
            h = self.rms(x, m.ln2)
            x = x + m.down(F.silu(m.gate(h)) * m.up(h))
        return F.linear(self.rms(x, self.norm), self.embed.weight)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", choices=sorted(PRESETS), default="qwen-tiny")
    for k, v in [("seq-len", 256), ("batch", 8), ("steps", 5), ("threads", 2), ("seed", 1)]:
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    fam, vocab, hidden, inter, layers, heads, kv = PRESETS[a.student]
    model = Decoder(fam, vocab, hidden, inter, layers, heads, kv, a.seq_len)
    n = a.batch * a.seq_len
    toks = torch.randint(0, vocab, (a.batch, a.seq_len + 1))
    ids, targets = toks[:, :-1].contiguous(), toks[:, 1:].contiguous()
    print(f"torch train step: {a.student} ({sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters), "
          f"batch {a.batch} × seq {a.seq_len}, threads {a.threads}, torch {torch.__version__}")
    total = cpu = 0.0
    for s in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        model.zero_grad(set_to_none=True)
        logits = model(ids)
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
