#!/usr/bin/env bash
# distill filter against DuckDB on the same raw trace JSONL, in the same run:
# input MB/s of `distill filter` (parse, verify, filter, dedup, write zstd
# Parquet train + rejects shards) and of DuckDB converting the same file to
# zstd Parquet (COPY (SELECT * FROM read_json(...)) TO ... (FORMAT parquet,
# COMPRESSION zstd)), their ratio, and the peak RSS of both, at two input
# sizes to show memory staying flat.
#
#   scripts/bench/filter.sh [TRACES ...]   (default: 200000 800000)
#
# Traces come from `distill generate` with the builtin teacher (4 samples per
# prompt, all five levels of builtin:arith, default imperfection rates), so
# they are real sampler output. Needs `make setup` (DuckDB for Node) and
# /usr/bin/time. DISTILL_BIN=path uses a built binary; FILTER_ARGS adds flags
# to `distill filter` (e.g. --no-rejects). Both sides use all cores
# (nproc), or THREADS=n on both: DuckDB's threads setting, and GOMAXPROCS
# and --workers for distill. Benchmark on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200000 800000)
tags=${GO_TAGS:-openblas}
work=$(mktemp -d "${BENCH_DIR:-/tmp}/filter-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -n "${DISTILL_BIN:-}" ]; then cp "$DISTILL_BIN" "$work/distill"; else go build -tags "$tags" -o "$work/distill" .; fi
threads=${THREADS:-$(nproc)}

rss_mb() { awk '/Maximum resident set size/ { printf "%.0f", $6 / 1024 }' "$1"; }
cpu() { awk '/User time|System time/ { s += $4 } END { print s }' "$1"; }
secs() { awk '/Elapsed \(wall clock\)/ { n = split($8, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }

# The machine and the versions, for the record.
date -u
lscpu | head -n 15
echo "nproc $(nproc), threads $threads; $(go version); distill ${DISTILL_BIN:-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' go.mod go.sum || echo +changes)}"
echo "DuckDB $(node scripts/node/duckdb_query.mjs "SELECT version() AS v" | grep -o '"v":"[^"]*"')"
echo "loadavg $(cat /proc/loadavg)"
printf '%-8s %9s %10s %10s %7s %12s %12s %11s %11s %6s\n' traces input_MB filter_MB/s duckdb_MB/s ratio filter_RSS_MB duckdb_RSS_MB filter_cpu_s duckdb_cpu_s kept
for n in "${sizes[@]}"; do
	run="$work/run-$n"
	prompts=$((n / 4))
	"$work/distill" generate --prompts builtin:arith:all --num-prompts "$prompts" --samples 4 --out "$run" -q >/dev/null 2>&1
	in=$(ls "$run"/traces-*.jsonl)
	bytes=$(cat $in | wc -c)
	# The input just written is flushed first: its write-back would take
	# CPU from whichever side runs first.
	sync

	GOMAXPROCS=$threads /usr/bin/time -v "$work/distill" filter --in "$run" --out "$work/data-$n" -q --workers "$threads" ${FILTER_ARGS:-} \
		2>"$work/filter-$n.log" >/dev/null ||
		{ cat "$work/filter-$n.log" >&2; exit 1; }
	kept=$(grep -o '"kept": [0-9]*' "$work/data-$n/stats.json" | head -1 | awk '{print $2}')

	sql="COPY (SELECT * FROM read_json('$in', format = 'newline_delimited')) TO '$work/duck-$n.parquet' (FORMAT parquet, COMPRESSION zstd)"
	/usr/bin/time -v node scripts/node/duckdb_query.mjs "SET threads = $threads" "$sql" 2>"$work/duck-$n.log" >/dev/null ||
		{ cat "$work/duck-$n.log" >&2; exit 1; }

	fs=$(secs "$work/filter-$n.log")
	ds=$(secs "$work/duck-$n.log")
	awk -v n="$n" -v b="$bytes" -v fs="$fs" -v ds="$ds" -v fr="$(rss_mb "$work/filter-$n.log")" \
		-v dr="$(rss_mb "$work/duck-$n.log")" -v k="$kept" -v fc="$(cpu "$work/filter-$n.log")" -v dc="$(cpu "$work/duck-$n.log")" 'BEGIN {
		f = b / 1e6 / fs; d = b / 1e6 / ds
		printf "%-8d %9.1f %10.1f %10.1f %7.2f %12d %12d %11.1f %11.1f %6d\n", n, b / 1e6, f, d, f / d, fr, dr, fc, dc, k }'
	echo "loadavg $(cat /proc/loadavg)"
	rm -rf "$run" "$work/data-$n" "$work/duck-$n.parquet"
done
