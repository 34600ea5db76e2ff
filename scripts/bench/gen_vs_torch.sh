#!/usr/bin/env bash
# Generation tokens/s with the KV cache: the Go student (student/model
# Generate, greedy; BenchmarkGenerate) against PyTorch in several variants
# (scripts/torch_reference.py bench) and llama.cpp (scripts/bench/
# llamacpp_gen.py on the f32 GGUF that `distill export gguf` writes of the
# same random weights), on the same shape and threads, alternating the
# sides REPEAT times in one run (the order reverses every other repeat).
# Every side decodes BATCH random prompts of PROMPT tokens for NEW tokens
# each, greedy, no early stop, prefill included, best of 3 decodes after a
# warm-up. Prints tokens/s, tokens/cpu-s and peak RSS (/usr/bin/time) of
# each run and, last, Go against the side fastest on average.
#
#   scripts/bench/gen_vs_torch.sh [PRESET [BATCH [PROMPT [NEW [THREADS]]]]]
#   defaults: qwen-tiny 16 32 64 2; REPEAT=3; TORCH (the venv's python),
#   DEBIAN_TORCH (/usr/bin/python3); VARIANTS as in train_vs_torch.sh,
#   where flags starting with "llama.cpp" run llamacpp_gen.py with the rest;
#   a variant's own --threads 1 overrides THREADS (Debian's torch 1.13
#   still runs OpenBLAS's OPENBLAS_NUM_THREADS threads then).
#
# Threads are pinned on both sides: GOMAXPROCS=THREADS for Go (OpenBLAS
# single-threaded, products split over goroutines); OMP/MKL/
# OPENBLAS_NUM_THREADS, torch.set_num_threads and one interop thread for
# torch; n_threads and n_threads_batch for llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
preset=${1:-qwen-tiny} batch=${2:-16} prompt=${3:-32} new=${4:-64} threads=${5:-2}
tags=${GO_TAGS:-openblas}
torch_py=${TORCH:-python/.venv/bin/python} deb_py=${DEBIAN_TORCH:-/usr/bin/python3}
variants=${VARIANTS:-"torch-2.11-grouped|$torch_py|--attn grouped
torch-2.11-grouped-1thread|$torch_py|--attn grouped --threads 1
torch-2.11-sdpa|$torch_py|--attn sdpa
torch-2.11-hf-generate|$torch_py|--impl hf
torch-1.13-grouped|$deb_py|--attn grouped
torch-1.13-grouped-1thread|$deb_py|--attn grouped --threads 1
llama.cpp-f32|$torch_py|llama.cpp --kv-type f32
llama.cpp-f32-kv-f16|$torch_py|llama.cpp --kv-type f16
llama.cpp-f32-kv-f16-1thread|$torch_py|llama.cpp --kv-type f16 --threads 1"}
work=$(mktemp -d /tmp/gen_vs_torch.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -tags "$tags" -o "$work/distill" .
go test -tags "$tags" -c -o "$work/model.test" ./student/model

mapfile -t specs <<<"$variants"
pys=()
for v in "${specs[@]}"; do pys+=("$(cut -d'|' -f2 <<<"$v")"); done
machine_header "$0 $* (REPEAT=${REPEAT:-3})" $(printf '%s\n' "${pys[@]}" | sort -u)
for v in "${specs[@]}"; do echo "# variant $v"; done

# The GGUF of the bench model: its weights (torch_reference.py's seed), the
# byte-level tokenizer of a distill student (the vocabulary is padded to
# the preset's size), f32 so that llama.cpp computes in f32 as the others.
"$torch_py" scripts/torch_reference.py bench --preset "$preset" --prompt "$prompt" --new "$new" --save "$work/ckpt"
cp testdata/students/arith-nano/tokenizer.json testdata/students/arith-nano/tokenizer_config.json "$work/ckpt/"
"$work/distill" export gguf --model "$work/ckpt" --out "$work/model.gguf" --type f32 2>/dev/null

export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
run() { # name, command...: one row "name tok/s tok/cpu-s RSS_MB" from the JSON or Go benchmark line
	local name=$1 out
	shift
	out=$(/usr/bin/time -f 'maxrss %M' "$@" 2>&1) || { echo "$out" | tail -5 | sed 's/^/# /' >&2; printf '%-24s %10s %12s %8s\n' "$name" NA NA NA; return; }
	awk -v n="$name" '/^BenchmarkGenerate/ { for (i = 1; i < NF; i++) { if ($(i+1) == "tok/s") w = $i; if ($(i+1) == "tok/cpu-s") c = $i } }
		/^\{/ { match($0, /"tokens_per_s": [0-9.e+-]+/); w = substr($0, RSTART + 16, RLENGTH - 16)
			match($0, /"tokens_per_cpu_s": [0-9.e+-]+/); c = substr($0, RSTART + 20, RLENGTH - 20) }
		/^maxrss / { m = $2 / 1000 }
		END { printf "%-24s %10.1f %12.1f %8.0f\n", n, w, c, m }' <<<"$out"
}

echo "shape: $preset batch $batch, prompt $prompt, $new new tokens, $threads threads"
printf '%-4s %-24s %10s %12s %8s\n' rep side tok/s tok/cpu-s RSS_MB
rows=$work/rows
for r in $(seq 1 "${REPEAT:-3}"); do
	order=(go "${specs[@]}")
	if ((r % 2 == 0)); then order=("${specs[@]}" go); fi
	for v in "${order[@]}"; do
		IFS='|' read -r name py args <<<"$v"
		if [[ $v == go ]]; then
			row=$(GOMAXPROCS=$threads run go-distill "$work/model.test" -test.run '^$' -test.bench '^BenchmarkGenerate$' \
				-test.benchtime 3x -gen.preset "$preset" -gen.batch "$batch" -gen.prompt "$prompt" -gen.new "$new")
		elif [[ $args == llama.cpp* ]]; then
			# shellcheck disable=SC2086
			row=$(run "$name" "$py" scripts/bench/llamacpp_gen.py "$work/model.gguf" --threads "$threads" \
				--batch "$batch" --prompt "$prompt" --new "$new" ${args#llama.cpp})
		else
			# shellcheck disable=SC2086
			row=$(run "$name" "$py" scripts/torch_reference.py bench --preset "$preset" --threads "$threads" \
				--batch "$batch" --prompt "$prompt" --new "$new" $args)
		fi
		printf '%-4s %s   load %s\n' "$r" "$row" "$(cut -d' ' -f1 /proc/loadavg)"
		echo "$r $row" >>"$rows"
	done
done
reference_summary "$rows"
echo "# end loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
