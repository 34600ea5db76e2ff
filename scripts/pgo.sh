#!/usr/bin/env bash
# Regenerates default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the distill binary (Go's -pgo=auto picks
# up default.pgo beside the main package; tests build without it).
#
#   scripts/pgo.sh
#
# The profile is the merge of the two workloads whose speed BENCHMARKS.md
# compares with other tools: `distill filter` on 800,000 builtin-teacher
# traces (filter.sh's larger size), and three training steps of qwen-tiny
# (`distill bench train`). The filter's share is the larger: the training
# step spends its time in OpenBLAS, which the Go compiler does not build,
# and a profile dominated by it leaves the filter's call sites below the
# inliner's threshold. Run it on an idle machine after changing their hot
# code; the binary it profiles is built without the old profile.
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${GO_TAGS:-openblas}
work=$(mktemp -d "${TMPDIR:-/tmp}/distill-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -pgo=off -tags "$tags" -o "$work/distill" .
"$work/distill" generate --prompts builtin:arith:all --num-prompts 200000 --samples 4 --out "$work/run" -q >/dev/null
"$work/distill" filter --in "$work/run" --out "$work/data" -q --cpuprofile "$work/filter.prof" >/dev/null 2>&1
rm -rf "$work/run" "$work/data"
"$work/distill" bench train --student qwen-tiny --seq-len 256 --batch 8 --steps 3 --threads 2 --cpuprofile "$work/train.prof" >/dev/null
go tool pprof -proto "$work/filter.prof" "$work/train.prof" >default.pgo 2>/dev/null
echo "wrote default.pgo ($(wc -c <default.pgo) bytes)"
