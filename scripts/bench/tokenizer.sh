#!/usr/bin/env bash
# Encode throughput (MB/s of UTF-8 text) of the Go tokenizer
# (student/tokenizer) against the reference implementation it is tested
# against, @lenml/tokenizers (transformers.js, Node), on the same text,
# the same tokenizer files, in the same run. Both sides warm their BPE
# caches with one pass first and exclude loading the tokenizer.json.
#
#   scripts/bench/tokenizer.sh [RECORDS]   (GSM8K test records, default 1319 = all)
#
# Needs `make setup` (node_modules); the text is testdata/gsm8k_test.jsonl.
# Benchmark on an idle machine: both sides slow down when another process
# shares the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${1:-1319}
tags=${GO_TAGS:-openblas}

data=testdata

corpus=$(mktemp /tmp/tokenizer-bench.XXXXXX.jsonl)
trap 'rm -f "$corpus" /tmp/tokenizer-bench.test' EXIT
# One JSON string per line: each record's question and answer.
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).slice(0, +process.argv[2]);
for (const l of lines) { const r = JSON.parse(l); console.log(JSON.stringify(r.question)); console.log(JSON.stringify(r.answer)); }
' "$data/gsm8k_test.jsonl" "$records" >"$corpus"
bytes=$(node -e 'let n=0; for (const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean)) n += Buffer.byteLength(JSON.parse(l)); console.log(n)' "$corpus")

go test -tags "$tags" -c -o /tmp/tokenizer-bench.test ./student/tokenizer
printf 'corpus: %s strings, %s bytes (GSM8K test)\n' "$(wc -l <"$corpus")" "$bytes"
printf '%-8s %10s %14s %8s\n' tokenizer go_MB/s reference_MB/s ratio
for fam in Qwen3 Llama3; do
	gomb=$( (cd student/tokenizer && TOKENIZER_BENCH_CORPUS=$corpus /tmp/tokenizer-bench.test \
		-test.run '^$' -test.bench "^BenchmarkEncode${fam}\$" -test.benchtime 5x) |
		awk '/MB\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") print $i }')
	refmb=$(node scripts/node/tokenize_ref.mjs "${fam,,}" --bench 1 <"$corpus" |
		node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).mb_per_s.toFixed(3))')
	printf '%-8s %10.2f %14.3f %7.1fx\n' "${fam,,}" "$gomb" "$refmb" "$(awk -v a="$gomb" -v b="$refmb" 'BEGIN { print a / b }')"
done
