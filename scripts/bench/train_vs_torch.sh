#!/usr/bin/env bash
# Training step throughput: `distill bench train` (student/graph) against
# PyTorch (scripts/bench/torch_train_step.py) in several variants on the
# same shape, the same threads and the same step (zero grads, forward, mean
# cross-entropy, backward), alternating Go and the variants REPEAT times in
# one run (the order reverses every other repeat) so that all see the same
# machine load. Prints tokens/s, tokens/cpu-s and peak RSS of each run and,
# per repeat, Go's tokens/s over the fastest variant's of that repeat; last,
# the variant fastest on average, which is the reference.
#
#   scripts/bench/train_vs_torch.sh [PRESET [SEQ [BATCH [STEPS [THREADS]]]]]
#   defaults: qwen-tiny 256 8 4 2; REPEAT=3; GO_TAGS (default openblas);
#   GO_ARGS, TORCH_ARGS: more flags for each side (e.g. --lora-rank 16
#   --gradient-checkpointing, and --impl hf for torch, which they need);
#   VARIANTS: lines of "name|python|torch_train_step.py flags", default
#   below (TORCH: the venv's python, DEBIAN_TORCH: /usr/bin/python3); a
#   variant's own --threads 1 overrides THREADS for torch (spinning
#   OpenMP threads cost torch most when other processes hold the cores).
#
# Threads are pinned on both sides: Go runs with GOMAXPROCS=THREADS and
# --threads THREADS (its products split rows over goroutines, OpenBLAS
# itself single-threaded); torch with OMP/MKL/OPENBLAS_NUM_THREADS=THREADS,
# torch.set_num_threads(THREADS) and one interop thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
preset=${1:-qwen-tiny} seq=${2:-256} batch=${3:-8} steps=${4:-4} threads=${5:-2}
tags=${GO_TAGS:-openblas}
torch_py=${TORCH:-python/.venv/bin/python} deb_py=${DEBIAN_TORCH:-/usr/bin/python3}
variants=${VARIANTS:-"torch-2.11-sdpa|$torch_py|--attn sdpa
torch-2.11-sdpa-1thread|$torch_py|--attn sdpa --threads 1
torch-2.11-sdpa-compile|$torch_py|--attn sdpa --compile
torch-2.11-hf-sdpa|$torch_py|--impl hf --attn sdpa
torch-2.11-mask|$torch_py|--attn mask
torch-1.13-mask|$deb_py|--attn mask
torch-1.13-mask-1thread|$deb_py|--attn mask --threads 1"}
bin=$(mktemp /tmp/distill-bench.XXXXXX)
trap 'rm -f "$bin"' EXIT
go build -tags "$tags" -o "$bin" .

mapfile -t specs <<<"$variants"
pys=()
for v in "${specs[@]}"; do pys+=("$(cut -d'|' -f2 <<<"$v")"); done
machine_header "$0 $* (REPEAT=${REPEAT:-3} GO_ARGS=${GO_ARGS:-} TORCH_ARGS=${TORCH_ARGS:-})" $(printf '%s\n' "${pys[@]}" | sort -u)
for v in "${specs[@]}"; do echo "# variant $v"; done

last() { awk -v k="$1" 'index($0, k ": ") == 1 { v = $(NF - ($1 == "peak" ? 1 : 0)) } END { print v }'; }
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# inductor compiles in this process, so its peak RSS counts the compiler
export TORCHINDUCTOR_COMPILE_THREADS=1

run() { # side name, command...: one row "name tok/s tok/cpu-s RSS"
	local name=$1 out
	shift
	out=$("$@" 2>&1) || { echo "$out" | tail -5 | sed 's/^/# /' >&2; printf '%-26s %10s %12s %8s\n' "$name" NA NA NA; return; }
	printf '%-26s %10.1f %12.1f %8s\n' "$name" "$(last tokens/s <<<"$out")" "$(last tokens/cpu-s <<<"$out")" "$(last "peak RSS" <<<"$out")"
}

echo "shape: $preset seq $seq batch $batch, $steps steps (first is warm-up), $threads threads"
printf '%-4s %-26s %10s %12s %8s\n' rep side tok/s tok/cpu-s RSS_MB
rows=$(mktemp /tmp/train_vs_torch.XXXXXX)
trap 'rm -f "$bin" "$rows"' EXIT
for r in $(seq 1 "${REPEAT:-3}"); do
	order=(go "${specs[@]}")
	if ((r % 2 == 0)); then order=("${specs[@]}" go); fi
	for v in "${order[@]}"; do
		if [[ $v == go ]]; then
			# shellcheck disable=SC2086
			row=$(GOMAXPROCS=$threads run go-distill "$bin" bench train --student "$preset" --seq-len "$seq" --batch "$batch" \
				--steps "$steps" --threads "$threads" ${GO_ARGS:-})
		else
			IFS='|' read -r name py args <<<"$v"
			# shellcheck disable=SC2086
			row=$(run "$name" "$py" scripts/bench/torch_train_step.py --student "$preset" --seq-len "$seq" --batch "$batch" \
				--steps "$steps" --threads "$threads" $args ${TORCH_ARGS:-})
		fi
		printf '%-4s %s   load %s\n' "$r" "$row" "$(cut -d' ' -f1 /proc/loadavg)"
		echo "$r $row" >>"$rows"
	done
done
reference_summary "$rows"
echo "# end loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
