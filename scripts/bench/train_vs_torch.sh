#!/usr/bin/env bash
# Training step throughput: `distill bench train` (student/graph) against
# plain PyTorch (scripts/bench/torch_train_step.py) on the same shape, the
# same threads and the same step (zero grads, forward, mean cross-entropy,
# backward), alternating Go and PyTorch REPEAT times in one run so that
# both see the same machine load. Prints tokens/s and peak RSS of each run
# and the Go/PyTorch ratio of tokens/s of each pair. tokens/cpu-s (tokens
# per second of process CPU time) is shown too: on a busy machine it says
# more than wall time, though OpenMP's spinning threads inflate torch's.
#
#   scripts/bench/train_vs_torch.sh [PRESET [SEQ [BATCH [STEPS [THREADS]]]]]
#   defaults: qwen-tiny 256 8 4 2; REPEAT=3; PYTHON (default /usr/bin/python3,
#   Debian's python3-torch); GO_TAGS (default openblas)
#
# Benchmark on an idle machine if you can: both sides lose half their speed
# or more when another process shares the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-qwen-tiny} seq=${2:-256} batch=${3:-8} steps=${4:-4} threads=${5:-2}
py=${PYTHON:-/usr/bin/python3}
tags=${GO_TAGS:-openblas}
bin=$(mktemp /tmp/distill-bench.XXXXXX)
trap 'rm -f "$bin"' EXIT
go build -tags "$tags" -o "$bin" .

last() { awk -v k="$1" 'index($0, k ": ") == 1 { v = $(NF - ($1 == "peak" ? 1 : 0)) } END { print v }'; }

echo "shape: $preset seq $seq batch $batch, $steps steps (first is warm-up), $threads threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %12s %10s %12s %14s %10s %8s\n' run go_tok/s go_tok/cpu-s go_rss_MB torch_tok/s torch_tok/cpu-s torch_MB ratio
for r in $(seq 1 "${REPEAT:-3}"); do
	gout=$("$bin" bench train --student "$preset" --seq-len "$seq" --batch "$batch" --steps "$steps" --threads "$threads")
	tout=$(OMP_NUM_THREADS=$threads "$py" scripts/bench/torch_train_step.py --student "$preset" --seq-len "$seq" \
		--batch "$batch" --steps "$steps" --threads "$threads")
	gt=$(last tokens/s <<<"$gout") gc=$(last tokens/cpu-s <<<"$gout") gm=$(last "peak RSS" <<<"$gout")
	tt=$(last tokens/s <<<"$tout") tc=$(last tokens/cpu-s <<<"$tout") tm=$(last "peak RSS" <<<"$tout")
	printf '%-4s %10.1f %12.1f %10s %12.1f %14.1f %10s %7.2fx\n' "$r" "$gt" "$gc" "$gm" "$tt" "$tc" "$tm" \
		"$(awk -v a="$gt" -v b="$tt" 'BEGIN { print a / b }')"
done
