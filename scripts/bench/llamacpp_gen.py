#!/usr/bin/env python3
"""KV-cached greedy decode of a GGUF file by llama.cpp (llama-cpp-python's
low-level API), timed like BenchmarkGenerate and torch_reference.py bench:
BATCH random prompts of PROMPT tokens prefilled in one llama_decode (one
sequence id each), then NEW steps of one token per sequence in one
llama_decode each, argmax over the logits, end of sequence ignored, prefill
included. llama.cpp's other defaults stay (flash attention where it
chooses it). Prints one JSON line with the best of REPS.

  llamacpp_gen.py MODEL.gguf --threads 2 --batch 16 --prompt 32 --new 64
"""
import argparse
import ctypes
import json
import time

import llama_cpp as L
import numpy as np


# kept referenced: llama.cpp calls it for as long as the process logs
quiet = L.llama_log_callback(lambda *_: None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("--kv-type", choices=["f32", "f16"], default="f32",
                    help="the KV cache's type: f32 as Go's and torch's caches, or llama.cpp's default f16")
    for k, v in [("batch", 16), ("prompt", 32), ("new", 64), ("threads", 2), ("reps", 3), ("seed", 0)]:
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    L.llama_backend_init()
    L.llama_log_set(quiet, ctypes.c_void_p(0))
    model = L.llama_model_load_from_file(a.gguf.encode(), L.llama_model_default_params())
    vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    cp = L.llama_context_default_params()
    cp.n_ctx = a.batch * (a.prompt + a.new)
    cp.n_batch = cp.n_ubatch = a.batch * a.prompt
    cp.n_seq_max = a.batch
    cp.n_threads = cp.n_threads_batch = a.threads
    cp.kv_unified = True  # one cache for all sequences, as Go's batch shares one pass
    cp.type_k = cp.type_v = L.GGML_TYPE_F32 if a.kv_type == "f32" else L.GGML_TYPE_F16
    ctx = L.llama_init_from_model(model, cp)
    batch = L.llama_batch_init(a.batch * a.prompt, 0, 1)
    prompts = np.random.default_rng(a.seed).integers(0, vocab, (a.batch, a.prompt))

    def decode(toks, pos):
        """toks [B, T] at positions pos..pos+T-1; logits of each row's last."""
        b, t = toks.shape
        batch.n_tokens = b * t
        for s in range(b):
            for j in range(t):
                i = s * t + j
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = int(toks[s, j]), pos + j, 1
                batch.seq_id[i][0], batch.logits[i] = s, j == t - 1
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return np.array([np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, s * t + t - 1), (vocab,)).argmax()
                         for s in range(b)])[:, None]

    def greedy(n):
        L.llama_memory_clear(L.llama_get_memory(ctx), True)
        nxt = decode(prompts, 0)
        for i in range(n - 1):
            nxt = decode(nxt, a.prompt + i)

    greedy(2)  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        greedy(a.new)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    print(json.dumps({"impl": "llama.cpp", "llama_cpp_python": L.__version__, "kv_type": a.kv_type,
                      "threads": a.threads, "batch": a.batch,
                      "prompt": a.prompt, "new": a.new, "seconds": best, "cpu_seconds": best_cpu,
                      "tokens_per_s": a.batch * a.new / best, "tokens_per_cpu_s": a.batch * a.new / best_cpu}))
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
