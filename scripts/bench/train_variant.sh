#!/usr/bin/env bash
# A training step with some flags against the plain full step, same preset,
# shape and threads: `distill bench train` with and without FLAGS,
# alternated REPEAT times so that both see the same machine load. Prints
# tokens/s and peak RSS of each and the variant/full ratios.
#
#   scripts/bench/train_variant.sh PRESET SEQ BATCH STEPS THREADS FLAGS...
#   e.g. scripts/bench/train_variant.sh qwen-small 256 8 4 2 --lora-rank 16
#        scripts/bench/train_variant.sh qwen-tiny 256 8 4 2 --gradient-checkpointing
#   REPEAT (default 3); GO_TAGS (default openblas)
#
# LoRA skips the weight-gradient products and the gradient and optimiser
# memory of the base, and adds two rank-r products per projection forward
# and four backward. Gradient checkpointing reruns every layer but the last
# forward once more and keeps one layer's activations.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 6 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
preset=$1 seq=$2 batch=$3 steps=$4 threads=$5
shift 5
bin=$(mktemp /tmp/distill-bench.XXXXXX)
trap 'rm -f "$bin"' EXIT
go build -tags "${GO_TAGS:-openblas}" -o "$bin" .

last() { awk -v k="$1" 'index($0, k ": ") == 1 { v = $(NF - ($1 == "peak" ? 1 : 0)) } END { print v }'; }
echo "shape: $preset seq $seq batch $batch, $steps steps (first is warm-up), $threads threads, variant: $*, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %12s %10s %12s %10s %10s %10s\n' run full_tok/s full_MB var_tok/s var_MB speed rss
for r in $(seq 1 "${REPEAT:-3}"); do
	args=(bench train --student "$preset" --seq-len "$seq" --batch "$batch" --steps "$steps" --threads "$threads")
	f=$("$bin" "${args[@]}")
	v=$("$bin" "${args[@]}" "$@")
	ft=$(last tokens/s <<<"$f") fm=$(last "peak RSS" <<<"$f") vt=$(last tokens/s <<<"$v") vm=$(last "peak RSS" <<<"$v")
	printf '%-4s %12.1f %10s %12.1f %10s %9.2fx %9.2fx\n' "$r" "$ft" "$fm" "$vt" "$vm" \
		"$(awk -v a="$vt" -v b="$ft" 'BEGIN { print a / b }')" "$(awk -v a="$vm" -v b="$fm" 'BEGIN { print a / b }')"
done
