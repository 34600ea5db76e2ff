"""What llama.cpp and its gguf package make of distill's GGUF exports.

The Go tests in export/gguf and distill run this with the venv of
python/requirements.lock (gguf, llama-cpp-python) and compare its JSON
output with distill's own numbers. Subcommands:

  quantize RAW ROWLEN OUTDIR  gguf.quants.quantize of the float32 rows in RAW
                              as Q8_0, Q4_0 and Q5_0 -> OUTDIR/<TYPE>.bin
  requantize IN OUT FTYPE     llama.cpp's own quantiser (llama_model_quantize,
                              what llama-quantize runs) on IN (an f32 GGUF)
  compare A B                 tensor by tensor: names, types, shapes, bytes
  dump GGUF OUTDIR            each tensor's bytes -> OUTDIR/<name>.bin; prints
                              {name: type}
  run GGUF SPEC               load with llama.cpp; tokenize SPEC's texts,
                              greedy-decode from SPEC's prompts, and take the
                              argmax at every position of SPEC's fixed ids
"""

import ctypes
import json
import sys

import numpy as np


def quantize(raw, row_len, outdir):
    import gguf
    x = np.fromfile(raw, dtype="<f4").reshape(-1, int(row_len))
    for name in ("Q8_0", "Q4_0", "Q5_0"):
        q = gguf.quants.quantize(x, gguf.GGMLQuantizationType[name])
        q.tofile(f"{outdir}/{name}.bin")


def requantize(src, dst, ftype):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_MOSTLY_" + ftype.upper())
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        sys.exit(f"llama_model_quantize {src} -> {dst}: return code {rc}")


def compare(a, b):
    import gguf
    ra, rb = gguf.GGUFReader(a), gguf.GGUFReader(b)
    tb = {t.name: t for t in rb.tensors}
    out = {"only_a": [], "only_b": sorted(set(tb) - {t.name for t in ra.tensors}), "tensors": []}
    for t in ra.tensors:
        u = tb.get(t.name)
        if u is None:
            out["only_a"].append(t.name)
            continue
        da, db = np.asarray(t.data).tobytes(), np.asarray(u.data).tobytes()
        out["tensors"].append({
            "name": t.name, "type_a": t.tensor_type.name, "type_b": u.tensor_type.name,
            "shape_a": [int(s) for s in t.shape], "shape_b": [int(s) for s in u.shape],
            "bytes": len(da), "equal": da == db,
            "differing_bytes": int(np.count_nonzero(np.frombuffer(da, np.uint8) != np.frombuffer(db, np.uint8))) if len(da) == len(db) else -1,
        })
    json.dump(out, sys.stdout)


def dump(path, outdir):
    import gguf
    types = {}
    for t in gguf.GGUFReader(path).tensors:
        np.asarray(t.data).tofile(f"{outdir}/{t.name}.bin")
        types[t.name] = t.tensor_type.name
    json.dump(types, sys.stdout)


def run(model, spec_path):
    import llama_cpp
    with open(spec_path) as f:
        spec = json.load(f)
    llm = llama_cpp.Llama(model, n_ctx=spec.get("n_ctx", 512), n_threads=2, n_batch=512,
                          logits_all=True, verbose=False)
    out = {
        "tokens": [llm.tokenize(t.encode(), add_bos=False, special=True) for t in spec.get("texts") or []],
        "greedy": [],
        "argmax": [],
    }
    for ids in spec.get("prompts") or []:
        llm.reset()
        llm.eval(ids)
        gen = []
        for _ in range(spec["greedy_tokens"]):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            gen.append(nxt)
            llm.eval([nxt])
        out["greedy"].append(gen)
    if spec.get("fixed_ids"):
        llm.reset()
        llm.eval(spec["fixed_ids"])
        out["argmax"] = [int(i) for i in np.argmax(llm.scores[: llm.n_tokens], axis=-1)]
    json.dump(out, sys.stdout)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"quantize": quantize, "requantize": requantize, "compare": compare, "dump": dump, "run": run}[cmd](*args)


if __name__ == "__main__":
    main()
