#!/bin/sh
# Benchmark of `distill generate` (issue 2): builtin teacher in-process at
# 200k and 800k traces, `distill serve` over loopback at 25k and 100k traces
# (concurrency 256), each with peak RSS and a ratio against a reference
# measured in the same run. Pass -scale 0.1 for a quick look.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/distill" .
go run ./scripts/bench/genbench -bin "$tmp/distill" "$@"
