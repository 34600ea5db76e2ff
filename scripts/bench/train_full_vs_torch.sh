#!/usr/bin/env bash
# A whole `distill train` run against the same SFT job in plain PyTorch
# (scripts/bench/torch_sft.py), end to end: process start to exit, data
# loading, chat rendering, assistant-only masking, exact packing, AdamW
# updates and the final checkpoint included. Where train_vs_torch.sh times
# a bare graph step on random tokens, this times what a user waits for.
#
#   scripts/bench/train_full_vs_torch.sh [PRESET [SEQ [BATCH [STEPS [THREADS]]]]]
#   defaults: qwen-tiny 256 8 30 2; REPEAT=3; PROMPTS=10000 and
#   SUITE=builtin:arith:1-2 (the quickstart's data); GO_TAGS (default
#   openblas); DISTILL_BIN=path uses a built binary; KEEP=1 keeps the work
#   directory; VARIANTS: lines of "name|python|torch_sft.py flags", default
#   below (TORCH: the venv's python, torch 2.x from PyPI; DEBIAN_TORCH:
#   /usr/bin/python3, Debian's python3-torch 1.13).
#
# Once: `distill generate` (builtin teacher, plain template) and `distill
# filter` (no test split: with one the trainer would also compute held-out
# losses) make a real dataset; DuckDB (scripts/node, `make setup`) exports
# the train shards' messages column to JSONL, since Python here has no
# Parquet reader; the rendered ids and assistant masks of torch_sft.py are
# checked equal to `distill tokenize --chat chatml` with the tokenizer.json
# of a fresh Go student, for every conversation and a few harder ones.
#
# Then REPEAT times, alternating which side goes first: `distill train`
# (GOMAXPROCS=THREADS) and torch_sft.py (THREADS torch threads) with the
# same data, shape, steps and optimiser settings. Only the CLI, its log line
# "N examples (...)" and OUT/metrics.jsonl are read, not trainer internals.
# Per side it prints:
#   wall_s    process start to exit
#   ready_s   process start to the "N examples (...)" log line: start-up
#             (Python and torch imports, model init), loading, rendering and
#             packing done
#   step1_s   ready_s + elapsed_sec of update 1 (the first update done)
#   tok/s     steady tokens/s, padding excluded: updates 2..STEPS from
#             metrics.jsonl (tokens and elapsed_sec)
#   cpu_s     user + system CPU seconds; rss_MB peak RSS (/usr/bin/time)
#   loss      first -> last update's training loss (inits differ, so they
#             agree only roughly; a broken job shows here)
# and the Go/PyTorch ratio of each (times: below 1 is Go faster; tok/s:
# above 1 is Go faster). Benchmark on an idle machine if you can.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
preset=${1:-qwen-tiny} seq=${2:-256} batch=${3:-8} steps=${4:-30} threads=${5:-2}
torch_py=${TORCH:-python/.venv/bin/python} deb_py=${DEBIAN_TORCH:-/usr/bin/python3}
variants=${VARIANTS:-"torch-2.11-sdpa|$torch_py|--attn sdpa
torch-2.11-sdpa-compile|$torch_py|--attn sdpa --compile
torch-2.11-mask|$torch_py|--attn mask
torch-1.13-mask|$deb_py|--attn mask"}
mapfile -t specs <<<"$variants"
py=$(cut -d'|' -f2 <<<"${specs[0]}")
tags=${GO_TAGS:-openblas}
suite=${SUITE:-builtin:arith:1-2} prompts=${PROMPTS:-10000}
[ -d scripts/node/node_modules/@duckdb ] || { echo "needs DuckDB for Node: cd scripts/node && npm ci" >&2; exit 1; }
[ "$steps" -ge 2 ] || { echo "STEPS must be at least 2 (the steady rate leaves out update 1)" >&2; exit 1; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/train-full-bench.XXXXXX")
trap 'if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi' EXIT
bin=$work/distill
if [ -n "${DISTILL_BIN:-}" ]; then cp "$DISTILL_BIN" "$bin"; else go build -tags "$tags" -o "$bin" .; fi

# The dataset, once.
{
	"$bin" generate --teacher builtin --prompts "$suite" --num-prompts "$prompts" --template plain --seed 1 --out "$work/raw" -q &&
		"$bin" filter --in "$work/raw" --out "$work/data" --test-fraction 0 -q &&
		node scripts/node/duckdb_query.mjs "COPY (SELECT messages FROM read_parquet('$work/data/train-*.parquet')) TO '$work/train.jsonl' (FORMAT JSON)"
} >"$work/data.log" 2>&1 || { cat "$work/data.log" >&2; exit 1; }

# The same ids and masks on both sides: every conversation, plus a few with
# a system turn, non-ASCII and unnormalised text, special-token text inside
# a message, and no assistant turn.
GOMAXPROCS=$threads "$bin" train --student "$preset" --data "$work/data" --out "$work/check" --max-steps 1 \
	--micro-batch "$batch" --seq-len "$seq" --eval-every 0 --save-every 0 2>"$work/check.log" ||
	{ cat "$work/check.log" >&2; exit 1; }
{
	cat "$work/train.jsonl"
	printf '%s\n' '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Cafe\u0301 ? 東京 <|endoftext|> x<|im_end"},{"role":"assistant","content":"<think>\nä = a\u0308\n</think> e\u0301 😀"}]}' \
		'{"messages":[{"role":"user","content":"a user turn only"}]}' \
		'{"messages":[{"role":"user","content":"<|im_start|>"},{"role":"assistant","content":"<|im_end|>"},{"role":"user","content":"again"},{"role":"assistant","content":""}]}'
} >"$work/check.jsonl"
sed 's/^{"messages"://; s/}$//' "$work/check.jsonl" | "$bin" tokenize --tokenizer "$work/check" --chat chatml >"$work/check.go"
"$py" scripts/bench/torch_sft.py --data "$work/check.jsonl" --render-only >"$work/check.torch"
if ! cmp -s "$work/check.go" "$work/check.torch"; then
	n=$(cmp "$work/check.go" "$work/check.torch" | grep -o 'line [0-9]*' || true)
	echo "torch_sft.py renders differently from distill tokenize --chat chatml at $n of $work/check.jsonl" >&2
	KEEP=1 && exit 1
fi

# timed LOG CMD...: runs CMD with its stderr timestamped line by line into
# LOG and /usr/bin/time's peak RSS (KB) and CPU seconds into LOG.time; sets
# t0 and t1, the start and end.
timed() {
	local log=$1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M %U %S' -o "$log.time" "$@" 2>&1 >/dev/null |
		while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$log" ||
		{ cat "$log" >&2; exit 1; }
	t1=$EPOCHREALTIME
}

# row SIDE LOG METRICS: one line of the table, from the timestamps, the
# /usr/bin/time figures and metrics.jsonl.
row() {
	awk -v side="$1" -v t0="$t0" -v t1="$t1" -v lg="$2" -v tm="$2.time" '
	function f(k,   s) {
		if (!match($0, "\"" k "\": *[^,}]+")) return ""
		s = substr($0, RSTART, RLENGTH); sub(/^[^:]*: */, "", s); return s + 0
	}
	BEGIN {
		while ((getline l < lg) > 0) if (ready == "" && l ~ / examples \(/) { split(l, w, " "); ready = w[1] - t0 }
		getline l < tm; split(l, w, " "); rss = w[1] * 1024 / 1e6; cpu = w[2] + w[3]
	}
	NR == 1 { e1 = f("elapsed_sec"); k1 = f("tokens"); l1 = f("loss") }
	{ e = f("elapsed_sec"); k = f("tokens"); l = f("loss"); n = NR }
	END {
		tps = n > 1 && e > e1 ? (k - k1) / (e - e1) : 0
		r = ready == "" ? "NA" : sprintf("%.2f", ready); s1 = ready == "" ? "NA" : sprintf("%.2f", ready + e1)
		printf "%-24s %8.2f %8s %8s %9.1f %8.1f %8.0f %8.4f -> %.4f (%d updates)\n", side, t1 - t0, r, s1, tps, cpu, rss, l1, l, n
	}' "$3"
}

go_run() {
	rm -rf "$work/out-go"
	timed "$work/go.log" env GOMAXPROCS="$threads" "$bin" train --student "$preset" --data "$work/data" --out "$work/out-go" \
		--max-steps "$steps" --micro-batch "$batch" --seq-len "$seq" --eval-every 0 --save-every 0 $opt
	row go-distill "$work/go.log" "$work/out-go/metrics.jsonl"
}
torch_run() { # NAME PYTHON FLAGS
	rm -rf "$work/out-torch"
	timed "$work/torch.log" env OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
		TORCHINDUCTOR_COMPILE_THREADS=1 "$2" scripts/bench/torch_sft.py --data "$work/train.jsonl" \
		--out "$work/out-torch" --student "$preset" --threads "$threads" --max-steps "$steps" --micro-batch "$batch" \
		--seq-len "$seq" $opt $3
	row "$1" "$work/torch.log" "$work/out-torch/metrics.jsonl"
}
# The trainer's defaults, spelled out so that both sides certainly use them.
opt="--lr 0.002 --warmup-steps 20 --min-lr-ratio 0.1 --weight-decay 0.1 --max-grad-norm 1 --seed 1"

machine_header "$0 $* (REPEAT=${REPEAT:-3})" $(for v in "${specs[@]}"; do cut -d'|' -f2 <<<"$v"; done | sort -u)
for v in "${specs[@]}"; do echo "# variant $v"; done
echo "shape: $preset seq $seq micro-batch $batch, $steps updates, $threads threads; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $suite, $prompts prompts -> $(grep -o '[0-9]* examples ([0-9]* rows' "$work/check.log" | head -1 | tr -d '(') of $seq tokens;" \
	"torch_sft.py's ids and masks equal distill tokenize's on $(wc -l <"$work/check.go") conversations"
printf '%-3s %-24s %8s %8s %8s %9s %8s %8s %s\n' run side wall_s ready_s step1_s tok/s cpu_s rss_MB "loss first -> last"
for r in $(seq 1 "${REPEAT:-3}"); do
	# Go first in odd repeats, last in even ones.
	{
		[ $((r % 2)) -eq 0 ] || go_run
		for v in "${specs[@]}"; do IFS='|' read -r name vpy flags <<<"$v"; torch_run "$name" "$vpy" "$flags"; done
		[ $((r % 2)) -eq 1 ] || go_run
	} | sed "s/^/$(printf '%-3s ' "$r")/" | tee -a "$work/rows"
	echo "#   load after repeat $r: $(cut -d' ' -f1-3 /proc/loadavg)"
done
# The reference is the variant with the highest mean steady tokens/s; Go's
# ratios to it per repeat (tok/s: above 1 is Go faster; wall, step-1 and
# CPU times and RSS: below 1 is Go faster or smaller).
awk '{ k = $1 SUBSEP $2; tps[k] = $6; wall[k] = $3; s1[k] = $5; cpu[k] = $7; rss[k] = $8; n = n > $1 ? n : $1
	if ($2 != "go-distill") { sum[$2] += $6; cnt[$2]++ } }
	END { for (v in sum) if (sum[v] / cnt[v] > best) { best = sum[v] / cnt[v]; ref = v }
		printf "reference (fastest mean steady tok/s): %s, %.1f tok/s\n", ref, best
		printf "%-3s %-18s %8s %8s %9s %8s %8s\n", "run", "go/" ref, "wall", "step1", "tok/s", "cpu", "rss"
		for (r = 1; r <= n; r++) { g = r SUBSEP "go-distill"; t = r SUBSEP ref
			printf "%-3s %-18s %8.2f %8.2f %9.2f %8.2f %8.2f\n", r, "", wall[g] / wall[t], s1[g] / s1[t], tps[g] / tps[t], cpu[g] / cpu[t], rss[g] / rss[t] } }' "$work/rows"
