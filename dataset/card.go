package dataset

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// writeCard writes a Hugging Face dataset card: YAML front matter that tells
// the Hub the splits and the features, then the numbers in prose and tables.
func writeCard(dir string, st *Stats) error {
	var b bytes.Buffer
	b.WriteString("---\nconfigs:\n- config_name: default\n  data_files:\n")
	for _, split := range []string{"train", "test"} {
		if len(st.Shards[split]) > 0 {
			fmt.Fprintf(&b, "  - split: %s\n    path: %s-*.parquet\n", split, split)
		}
	}
	b.WriteString(`dataset_info:
  features:
  - name: messages
    list:
    - name: role
      dtype: string
    - name: content
      dtype: string
  - name: prompt
    dtype: string
  - name: reasoning
    dtype: string
  - name: answer
    dtype: string
  - name: reference
    dtype: string
  - name: correct
    dtype: bool
  - name: verifier
    dtype: string
  - name: num_tokens
    dtype: int64
  - name: source
    dtype: string
  - name: teacher
    dtype: string
  - name: prompt_id
    dtype: string
  - name: sample
    dtype: int64
  splits:
`)
	fmt.Fprintf(&b, "  - name: train\n    num_examples: %d\n", st.Train)
	if len(st.Shards["test"]) > 0 {
		fmt.Fprintf(&b, "  - name: test\n    num_examples: %d\n", st.Test)
	}
	b.WriteString("task_categories:\n- text-generation\ntags:\n- reasoning\n- distillation\n- synthetic\n---\n\n")

	b.WriteString("# Distilled reasoning traces\n\n")
	b.WriteString("Chain-of-thought traces sampled from a teacher model and kept by rejection sampling with `distill filter`: " +
		"the final answer of each kept trace was verified against the reference, and truncated, badly formatted, " +
		"language-mixing, unreadable, overlong, repetitive, duplicated and benchmark-contaminated traces were dropped.\n\n")
	fmt.Fprintf(&b, "| | rows |\n|---|---:|\n| input lines | %d |\n| parsed traces | %d |\n| kept (train) | %d |\n| kept (test) | %d |\n| rejected | %d |\n\n",
		st.LinesIn, st.Traces, st.Train, st.Test, st.Rejected)

	b.WriteString("## Format\n\n`messages` holds the user prompt and the assistant reply in DeepSeek-R1 format " +
		"(`<think>\\n…\\n</think>\\n\\n…answer…`), ready for TRL's `SFTTrainer`. The other columns keep the parts " +
		"(`prompt`, `reasoning`, `answer`, `reference`), the verdict (`correct`, `verifier`), the length (`num_tokens`) " +
		"and the provenance (`source`, `teacher`, `prompt_id`, `sample`). Rejected rows are in `rejects-*.parquet` " +
		"with the same columns but `messages` (the parts rebuild it), and a `reject_reason`.\n\n")

	b.WriteString("## Rejections\n\n| reason | rows |\n|---|---:|\n")
	for _, k := range sortedKeys(st.Reasons) {
		fmt.Fprintf(&b, "| %s | %d |\n", k, st.Reasons[k])
	}
	b.WriteString("\n## Teacher accuracy by source\n\n| source | traces | correct | wrong | unverifiable | accuracy | kept |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range sortedKeys(st.Sources) {
		s := st.Sources[k]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.3f | %d |\n", k, s.Traces, s.Correct, s.Wrong, s.Unverifiable, s.Accuracy, s.Kept)
	}
	p := st.PassRates
	fmt.Fprintf(&b, "\n## Per-prompt pass rates\n\n%d prompts, mean pass rate %.3f; %d always solved, %d never solved, %d in the band [%g, %g].\n\n",
		p.Prompts, p.Mean, p.AlwaysSolved, p.NeverSolved, p.InBand, st.Config.Select.PassRateMin, st.Config.Select.PassRateMax)
	b.WriteString("| pass rate | prompts |\n|---|---:|\n")
	for i, n := range p.Histogram {
		fmt.Fprintf(&b, "| %.1f–%.1f | %d |\n", float64(i)/10, float64(i+1)/10, n)
	}
	b.WriteString("\n## Length of kept rows (tokens)\n\n| tokens | rows |\n|---|---:|\n")
	for _, l := range st.Lengths {
		if l.Count > 0 {
			fmt.Fprintf(&b, "| %d–%d | %d |\n", l.Min, l.Max-1, l.Count)
		}
	}
	if len(st.Config.Decontam.Files) > 0 {
		names := make([]string, len(st.Config.Decontam.Files))
		for i, f := range st.Config.Decontam.Files {
			names[i] = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		}
		fmt.Fprintf(&b, "\n## Decontamination\n\n%d-gram overlap of prompts and responses with %s.\n\n| benchmark | rows dropped |\n|---|---:|\n",
			st.Config.Decontam.NGram, strings.Join(names, ", "))
		for _, n := range names {
			fmt.Fprintf(&b, "| %s | %d |\n", n, st.Contamination[n])
		}
	}
	fmt.Fprintf(&b, "\n## Selection\n\nPolicy `%s`", st.Config.Select.Policy)
	if st.Config.Select.Policy == PolicyMaxPerPrompt {
		fmt.Fprintf(&b, " (k = %d)", st.Config.Select.K)
	}
	fmt.Fprintf(&b, "; test fraction %g by prompt id. Exact dedup: %v; near dedup: %v (MinHash, Jaccard %g, %d bands × %d rows).\n\nFull numbers: `stats.json`.\n",
		st.Config.Select.TestFraction, st.Config.Dedup.Exact, st.Config.Dedup.Near, st.Config.Dedup.Threshold, st.Dedup.Bands, st.Dedup.Rows)
	return atomicfile.WriteFile(filepath.Join(dir, "README.md"), b.Bytes(), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
