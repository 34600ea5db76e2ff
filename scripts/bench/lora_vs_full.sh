#!/usr/bin/env bash
# LoRA against full fine-tuning, on the question LoRA is for: adapting a
# trained student to a new task. A qwen-nano student is distilled on
# level-1 arithmetic (a + b), then adapted to level 2 (a + b + c) twice
# from the same checkpoint, with the same data, steps and seed: once every
# weight (full), once LoRA adapters on the frozen student. Each is evaluated
# with its own generation on held-out problems of both levels: what it
# learned (level 2) and what it kept (level 1). Prints the table with each
# training stage's time (scripts/bench/train_variant.sh compares step speed and
# memory in one run; here the runs follow each other, under whatever load).
# Rerunning on the same WORK_DIR reuses the finished stages.
#
#   scripts/bench/lora_vs_full.sh [WORK_DIR]
#   env: RANK (16), LORA_LR (0.01), FULL_LR (0.001), EPOCHS (2), PROMPTS (5000)
#   for the adaptation; BASE_PROMPTS (8000), BASE_EPOCHS (6) for the level-1
#   student (fewer updates leave it before the point where it learns to add)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d /tmp/distill-lora.XXXXXX)}
mkdir -p "$work"
rank=${RANK:-16} lora_lr=${LORA_LR:-0.01} full_lr=${FULL_LR:-0.001} epochs=${EPOCHS:-2} n=${PROMPTS:-5000}
bin=$work/distill
go build -tags "${GO_TAGS:-openblas}" -o "$bin" .
echo "work dir $work; load $(cut -d' ' -f1-3 /proc/loadavg)"

# recipe NAME LEVEL SEED TRAIN_YAML: a distill run recipe on one level.
recipe() {
	cat >"$work/$1.yaml" <<YAML
out: $work/$1
generate: {teacher: builtin, prompts: "builtin:arith:$2", num_prompts: $n, seed: $3, template: plain}
filter:
  select: {policy: all, test_fraction: 0.03}
  decontaminate: {ngram: 6}
train: {$4, seq_len: 256, micro_batch: 16, warmup_steps: 20, seed: 1, eval_every: 50, save_every: 1000}
eval: {prompts: "builtin:arith:$2", num_prompts: 300, seed: 1000, template: plain, samples: 8, temperature: 0.6, top_p: 0.95, max_tokens: 64}
skip: [rl, rl-only, teacher]
YAML
}
run() { "$bin" run --config "$work/$1.yaml" >"$work/$1.log" 2>&1 || { tail -5 "$work/$1.log"; exit 1; }; }

n=${BASE_PROMPTS:-8000} recipe base 1 1 "student: qwen-nano, epochs: ${BASE_EPOCHS:-6}, lr: 0.002"
run base
recipe full 2 2 "init: $work/base/sft, epochs: $epochs, lr: $full_lr"
run full
recipe lora 2 2 "init: $work/base/sft, epochs: $epochs, lr: $lora_lr, lora_rank: $rank"
run lora

# Level 1 again, on the level-1 run's held-out problems, after adaptation.
for m in full lora; do
	"$bin" eval --model "$work/$m/sft" --prompts builtin:arith:1 --num-prompts 300 --seed 1000 --template plain \
		--samples 8 --temperature 0.6 --top-p 0.95 --max-tokens 64 --out "$work/$m/eval/level1" --quiet
done

p() { jq -r 'def r: . * 1000 | round / 1000; "\(.["pass@1"] | r) [\(.["pass@1_ci95"].low | r), \(.["pass@1_ci95"].high | r)]"' "$1"; }
t() { sed -n 's/^- train (\([0-9]* s\)).*/\1/p' "$work/$1/results.md"; }
printf '\n%-34s %-24s %-24s %s\n' model "level 2 pass@1 [95%]" "level 1 pass@1 [95%]" "train stage"
printf '%-34s %-24s %-24s %s\n' "student after level 1" "$(p "$work/full/eval/base/results.json")" "$(p "$work/base/eval/sft/results.json")" "$(t base)"
printf '%-34s %-24s %-24s %s\n' "+ full fine-tuning on level 2" "$(p "$work/full/eval/sft/results.json")" "$(p "$work/full/eval/level1/results.json")" "$(t full)"
printf '%-34s %-24s %-24s %s\n' "+ LoRA r$rank on level 2" "$(p "$work/lora/eval/sft/results.json")" "$(p "$work/lora/eval/level1/results.json")" "$(t lora)"
