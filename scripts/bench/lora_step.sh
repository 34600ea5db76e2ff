#!/usr/bin/env bash
# A LoRA training step against a full one, same preset, shape and threads:
# `distill bench train` with and without --lora-rank, alternated REPEAT
# times so that both see the same machine load. Prints tokens/s and peak
# RSS of each and the LoRA/full ratios. LoRA skips the weight-gradient
# products and the gradient and optimiser memory of the base; it adds two
# rank-r products per projection.
#
#   scripts/bench/lora_step.sh [PRESET [SEQ [BATCH [STEPS [THREADS [RANK]]]]]]
#   defaults: qwen-small 256 8 4 2 16; REPEAT=3; GO_TAGS (default openblas)
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-qwen-small} seq=${2:-256} batch=${3:-8} steps=${4:-4} threads=${5:-2} rank=${6:-16}
bin=$(mktemp /tmp/distill-bench.XXXXXX)
trap 'rm -f "$bin"' EXIT
go build -tags "${GO_TAGS:-openblas}" -o "$bin" .

last() { awk -v k="$1" 'index($0, k ": ") == 1 { v = $(NF - ($1 == "peak" ? 1 : 0)) } END { print v }'; }
echo "shape: $preset seq $seq batch $batch, $steps steps (first is warm-up), $threads threads, rank $rank, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %12s %10s %12s %10s %10s %10s\n' run full_tok/s full_MB lora_tok/s lora_MB speed rss
for r in $(seq 1 "${REPEAT:-3}"); do
	args=(bench train --student "$preset" --seq-len "$seq" --batch "$batch" --steps "$steps" --threads "$threads")
	f=$("$bin" "${args[@]}")
	l=$("$bin" "${args[@]}" --lora-rank "$rank")
	ft=$(last tokens/s <<<"$f") fm=$(last "peak RSS" <<<"$f") lt=$(last tokens/s <<<"$l") lm=$(last "peak RSS" <<<"$l")
	printf '%-4s %12.1f %10s %12.1f %10s %9.2fx %9.2fx\n' "$r" "$ft" "$fm" "$lt" "$lm" \
		"$(awk -v a="$lt" -v b="$ft" 'BEGIN { print a / b }')" "$(awk -v a="$lm" -v b="$fm" 'BEGIN { print a / b }')"
done
