#!/usr/bin/env bash
# Shared by the *_vs_torch.sh scripts (sourced).

# machine_header "COMMAND" PYTHON...: the header every file under
# scripts/bench/results/ starts with: the command, the machine and the
# versions of both sides.
machine_header() {
	local cmd=$1 py
	shift
	echo "# command: $cmd"
	echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC'), loadavg: $(cut -d' ' -f1-3 /proc/loadavg), nproc: $(nproc)"
	lscpu | head -12 | sed 's/^/# /'
	echo "# $(go version)"
	echo "# OpenBLAS: $(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)," \
		"Debian python3-torch: $(dpkg-query -W -f '${Version}' python3-torch 2>/dev/null || echo not installed)"
	for py in "$@"; do
		echo "# $py: $("$py" -c 'import torch; v = torch.__version__
try:
    import transformers, peft; v += ", transformers " + transformers.__version__ + ", peft " + peft.__version__
except ImportError: pass
try:
    import llama_cpp; v += ", llama-cpp-python " + llama_cpp.__version__
except ImportError: pass
print("torch", v)' 2>&1 | tail -1)"
	done
}

# reference_summary ROWS: ROWS has lines "repeat side tok/s tok/cpu-s RSS_MB"
# with the Go side named go-distill. The reference is the other side with
# the highest mean tokens/s over the repeats; prints it, Go's tokens/s over
# its tokens/s in each repeat, and the peak RSS of both.
reference_summary() {
	awk '$3 != "NA" {
		n = n > $1 ? n : $1
		if ($2 == "go-distill") { go[$1] = $3; gm = gm > $5 ? gm : $5 }
		else { s[$2] += $3; c[$2]++; t[$1, $2] = $3; rs[$2] = rs[$2] > $5 ? rs[$2] : $5 } }
	END { for (v in s) if (s[v] / c[v] > best) { best = s[v] / c[v]; ref = v }
		printf "reference (fastest mean): %s, %.1f tokens/s, peak RSS %s MB; Go peak RSS %s MB (%.2fx)\n", ref, best, rs[ref], gm, gm / rs[ref]
		printf "Go / reference, each repeat:"; for (r = 1; r <= n; r++) if ((r in go) && ((r, ref) in t)) printf " %.2fx", go[r] / t[r, ref]; print "" }' "$1"
}
