#!/usr/bin/env bash
# Generation tokens/s with the KV cache: the Go student (student/model
# Generate, greedy) against plain PyTorch (scripts/torch_reference.py bench,
# KV-cached greedy decode) on the same shape, random weights, the same
# number of threads, in the same run. Prefill is included in both times.
#
#   scripts/bench/gen_vs_torch.sh [PRESET [BATCH [PROMPT [NEW]]]]
#   THREADS="1 2" (default) runs each thread count; PYTHON picks the
#   interpreter that has torch (default /usr/bin/python3, Debian's torch).
#
# Two ratios: tokens per second of wall time (what a user waits for, on an
# idle machine) and tokens per CPU-second (the work per token; stable when
# other processes share the cores, where wall time mostly measures them).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-qwen-tiny} batch=${2:-16} prompt=${3:-32} new=${4:-64}
py=${PYTHON:-/usr/bin/python3}
tags=${GO_TAGS:-openblas}
bin=$(mktemp /tmp/gen_vs_torch.XXXXXX)
trap 'rm -f "$bin"' EXIT

go test -tags "$tags" -c -o "$bin" ./student/model
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-10s %-7s %-5s %-6s %-4s %-8s | %9s %9s %7s | %9s %9s %7s\n' preset threads batch prompt new blas \
	go_tok/s torch 'ratio' go_tok/cpu-s torch 'ratio'
for t in ${THREADS:-1 2}; do
	read -r gw gc < <(GOMAXPROCS=$t "$bin" -test.run '^$' -test.bench '^BenchmarkGenerate$' -test.benchtime 3x \
		-gen.preset "$preset" -gen.batch "$batch" -gen.prompt "$prompt" -gen.new "$new" |
		awk '/^BenchmarkGenerate/ { for (i = 1; i < NF; i++) { if ($(i+1) == "tok/s") w = $i; if ($(i+1) == "tok/cpu-s") c = $i } }
			END { print w, c }')
	read -r tw tc < <(OMP_NUM_THREADS=$t "$py" scripts/torch_reference.py bench --preset "$preset" --threads "$t" \
		--batch "$batch" --prompt "$prompt" --new "$new" |
		"$py" -c 'import json,sys; r = json.load(sys.stdin); print(r["tokens_per_s"], r["tokens_per_cpu_s"])')
	awk -v p="$preset" -v t="$t" -v b="$batch" -v pr="$prompt" -v n="$new" -v tags="$tags" \
		-v gw="$gw" -v tw="$tw" -v gc="$gc" -v tc="$tc" 'BEGIN {
		printf "%-10s %-7s %-5s %-6s %-4s %-8s | %9.0f %9.0f %6.2fx | %9.0f %9.0f %6.2fx\n", p, t, b, pr, n, tags, gw, tw, gw / tw, gc, tc, gc / tc }'
done
