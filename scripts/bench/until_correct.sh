#!/bin/sh
# Teacher tokens saved by `distill generate --until-correct K` against fixed
# sampling (--samples MAX for every prompt) for the same kept traces, on
# builtin:arith:all with the default builtin teacher and a weaker one.
# Samples are seeded per (prompt, sample), so the adaptive run's samples are
# a prefix of the fixed run's and both keep min(K, correct) a prompt; the
# script checks that with `distill filter` (verification only, then the
# shortest K a prompt) and also reports what survives all of filter's
# filters, where the fixed run has spare correct traces to fall back on.
#
#   scripts/bench/until_correct.sh [PROMPTS]     (default 2000)
set -eu
cd "$(dirname "$0")/../.."
prompts=${1:-2000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -tags openblas -o "$tmp/distill" .
printf 'builtin:\n  wrong_rate: 0.30\n  truncate_rate: 0.05\n' >"$tmp/weak.yaml"
printf '' >"$tmp/default.yaml"

tokens() { jq '.tokens.prompt + .tokens.completion' "$1/manifest.json"; }
kept() { # DIR K none|all -> rows filter keeps: verification only, or every filter
	only=""
	[ "$3" = none ] && only="--filters none"
	"$tmp/distill" filter --in "$1" --out "$1.data-$3" $only --no-dedup --policy max_per_prompt --k "$2" --test-fraction 0 --quiet >/dev/null 2>&1
	jq .kept "$1.data-$3/stats.json"
}

echo "prompts=$prompts (builtin:arith:all, seed 0); tokens = prompt + completion from manifest.json"
printf '%-8s %2s %4s | %10s %10s %7s | %8s %8s | %9s %9s | %s\n' teacher K MAX fixed_tok adapt_tok ratio kept_fix kept_ada filt_fix filt_ada "manifest estimate (tokens_saved / fixed_tok)"
for teacher in default weak; do
	for km in 1:4 2:8; do
		k=${km%%:*} max=${km##*:}
		f="$tmp/$teacher-$k-$max-fixed" a="$tmp/$teacher-$k-$max-adaptive"
		common="generate --config $tmp/$teacher.yaml --prompts builtin:arith:all --num-prompts $prompts --seed 0 --samples $max --quiet"
		"$tmp/distill" $common --out "$f" >/dev/null
		"$tmp/distill" $common --until-correct "$k" --out "$a" >/dev/null
		ft=$(tokens "$f") at=$(tokens "$a")
		est=$(jq .adaptive.tokens_saved "$a/manifest.json")
		printf '%-8s %2s %4s | %10s %10s %7s | %8s %8s | %9s %9s | %s\n' "$teacher" "$k" "$max" "$ft" "$at" \
			"$(echo "scale=3; $at/$ft" | bc)" "$(kept "$f" "$k" none)" "$(kept "$a" "$k" none)" \
			"$(kept "$f" "$k" all)" "$(kept "$a" "$k" all)" "$est ($(echo "scale=3; $est/$ft" | bc); actual $(echo "scale=3; ($ft-$at)/$ft" | bc))"
	done
done
