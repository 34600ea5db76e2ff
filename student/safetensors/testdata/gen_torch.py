#!/usr/bin/env python3
"""Writes torch.safetensors and torch.json, the fixture for reading files
whose values torch converted (F16, BF16, F64), independently of our writer.

Run with Debian's torch: /usr/bin/python3 gen_torch.py (from this directory).
The header is written with json and struct by hand, following the spec, since
the safetensors package is not installed here; tensor bytes come from torch.
"""
import json
import struct

import torch

torch.manual_seed(4)
special = torch.tensor([0.0, -0.0, 1.0, -2.0, 1 / 3, 65504.0, 6e-8, 1e-5, 3.0e38, float("inf"), -float("inf")])
tensors = {
    "a.f32": torch.randn(3, 5),
    "b.bf16": torch.cat([torch.randn(13) * 100, special]).to(torch.bfloat16),
    "c.f16": torch.cat([torch.randn(2, 6).flatten(), special[:9]]).reshape(3, 7).to(torch.float16),
    "d.f64": torch.randn(4).double(),
    "e.scalar": torch.tensor(2.5),
    "f.empty": torch.zeros(0, 3),
}
# Rounding to bfloat16: halfway cases (ties to even) and random values, to
# check our writer's rounding against torch's.
ties = torch.tensor([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 1 + 2**-8 + 2**-20, 3.0e38, 3.4e38, 1e-40])
tensors["g.ties.f32"] = torch.cat([ties, torch.randn(32)])
tensors["g.ties.bf16"] = tensors["g.ties.f32"].to(torch.bfloat16)
dtype = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.float64: "F64"}

header, blobs, off = {"__metadata__": {"format": "pt", "by": "torch " + torch.__version__}}, [], 0
for name, t in tensors.items():
    # Raw little-endian bytes of the tensor as torch stores it.
    b = t.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    header[name] = {"dtype": dtype[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open("torch.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def enc(x):
    return "inf" if x == float("inf") else "-inf" if x == -float("inf") else repr(x)

# Expected float32 values as torch widens them, written as strings so that
# infinities and -0.0 survive JSON.
expected = {n: {"shape": list(t.shape), "values": [enc(float(v)) for v in t.float().flatten().tolist()]} for n, t in tensors.items()}
with open("torch.json", "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
