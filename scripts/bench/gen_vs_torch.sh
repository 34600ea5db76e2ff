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
# Benchmark on an idle machine: both sides lose half their speed or more
# when another process shares the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-qwen-tiny} batch=${2:-16} prompt=${3:-32} new=${4:-64}
py=${PYTHON:-/usr/bin/python3}
tags=${GO_TAGS:-openblas}

go test -tags "$tags" -c -o /tmp/gen_vs_torch.model.test ./student/model
printf '%-10s %-7s %-6s %-6s %-4s %-8s %12s %12s %8s\n' preset threads batch prompt new backend go_tok/s torch_tok/s ratio
for t in ${THREADS:-1 2}; do
	gots=$(GOMAXPROCS=$t OPENBLAS_NUM_THREADS=$t /tmp/gen_vs_torch.model.test -test.run '^$' \
		-test.bench '^BenchmarkGenerate$' -test.benchtime 3x \
		-gen.preset "$preset" -gen.batch "$batch" -gen.prompt "$prompt" -gen.new "$new" |
		awk '/tok\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "tok/s") print $i }')
	tts=$(OMP_NUM_THREADS=$t "$py" scripts/torch_reference.py bench --preset "$preset" --threads "$t" \
		--batch "$batch" --prompt "$prompt" --new "$new" |
		"$py" -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')
	printf '%-10s %-7s %-6s %-6s %-4s %-8s %12.1f %12.1f %7.2fx\n' "$preset" "$t" "$batch" "$prompt" "$new" "$tags" \
		"$gots" "$tts" "$(awk -v a="$gots" -v b="$tts" 'BEGIN { print a / b }')"
done
rm -f /tmp/gen_vs_torch.model.test
