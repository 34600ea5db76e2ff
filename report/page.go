package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student/eval"
)

// page is what the template renders: sections of plots, tables and text,
// all plain strings so that html/template escapes every one of them.
type page struct {
	Dir       string
	Generated string
	Missing   []string
	Problems  []string
	Sections  []*section
}

type section struct {
	ID, Title string
	Notes     []string // why a plot or table is absent
	Plots     []Plot
	Tables    []table
	Pre       string // preformatted text (results.md)
}

type table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

func kvTable(caption string, kvs []KV) table {
	t := table{Caption: caption, Head: []string{"", ""}}
	for _, kv := range kvs {
		t.Rows = append(t.Rows, []string{kv.Key, kv.Value})
	}
	return t
}

// formatNumber prints integers as such and other numbers with 4 digits.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func f3(v float64) string  { return fmt.Sprintf("%.3f", v) }
func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
func ci(i eval.Interval) string {
	return fmt.Sprintf("[%.3f, %.3f]", i.Low, i.High)
}
func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond * 100).String()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// evalSection is the accuracy of every evaluated stage.
func (r *Run) evalSection() *section {
	s := &section{ID: "results", Title: "Results"}
	if len(r.Evals) == 0 {
		s.Notes = append(s.Notes, "No evaluation results in eval/: run distill eval --out RUN_DIR/eval/STAGE.")
	} else {
		t := table{Caption: "pass@1 is the mean correctness over k samples per prompt, cons@k the majority vote; intervals are 95%.",
			Head: []string{"stage", "subject", "prompts", "k", "pass@1", "95% CI", "pass@k", "cons@k", "95% CI",
				"truncated", "format failures", "unverifiable", "mean tokens", "time"}}
		for _, e := range r.Evals {
			t.Rows = append(t.Rows, evalRow(e.Stage, e.Subject, e.K, e.Metrics, e.Seconds))
		}
		s.Tables = append(s.Tables, t)
		for _, e := range r.Evals {
			srcs := e.Sources()
			if len(srcs) < 2 {
				continue
			}
			bt := table{Caption: e.Stage + " by source", Head: t.Head}
			for _, src := range srcs {
				bt.Rows = append(bt.Rows, evalRow(src, "", e.K, e.BySource[src], 0))
			}
			s.Tables = append(s.Tables, bt)
		}
		st := table{Caption: "Evaluation settings", Head: []string{"stage", "prompt set", "template", "temperature", "top-p", "max tokens", "seed"}}
		for _, e := range r.Evals {
			st.Rows = append(st.Rows, []string{e.Stage, e.PromptSet, e.Template, formatNumber(e.Temperature), formatNumber(e.TopP),
				itoa(e.MaxTokens), itoa(e.Seed)})
		}
		s.Tables = append(s.Tables, st)
	}
	s.Pre = r.Results
	return s
}

func evalRow(name, subject string, k int, m eval.Metrics, secs float64) []string {
	t := ""
	if secs > 0 {
		t = seconds(secs)
	}
	return []string{name, subject, itoa(m.Prompts), itoa(k), f3(m.PassAt1), ci(m.PassAt1CI), f3(m.PassAtK), f3(m.ConsAtK),
		ci(m.ConsAtKCI), pct(m.TruncationRate), pct(m.FormatFailRate), pct(m.UnverifiableRate), fmt.Sprintf("%.1f", m.MeanTokens), t}
}

func (r *Run) generateSection() *section {
	s := &section{ID: "generate", Title: "Generate (raw traces)"}
	if len(r.Generate) == 0 {
		s.Notes = append(s.Notes, "No generation manifest in raw/.")
		return s
	}
	for _, m := range r.Generate {
		kvs := []KV{
			{"teacher", m.Teacher + " " + m.Model},
			{"prompts", m.Prompts},
			{"shard", m.Shard},
			{"samples per prompt", itoa(m.Samples)},
			{"temperature / top-p / max tokens", fmt.Sprintf("%g / %g / %d", m.Params.Temperature, m.Params.TopP, m.Params.MaxTokens)},
			{"stopped", m.Stopped},
			{"planned / written / remaining", fmt.Sprintf("%d / %d / %d", m.Counts.Planned, m.Counts.Written, m.Counts.Remaining)},
			{"succeeded / failed", fmt.Sprintf("%d / %d", m.Counts.Succeeded, m.Counts.Failed)},
			{"requests / retries", fmt.Sprintf("%d / %d", m.Counts.Requests, m.Counts.Retries)},
			{"tokens: prompt / completion / reasoning", fmt.Sprintf("%d / %d / %d", m.Tokens.Prompt, m.Tokens.Completion, m.Tokens.Reasoning)},
			{"cost", fmt.Sprintf("%.4f", m.Cost)},
			{"time", seconds(m.Seconds)},
			{"completions/s / tokens/s", fmt.Sprintf("%.1f / %.0f", m.PerSecond.Completions, m.PerSecond.Tokens)},
		}
		if len(m.LatencyMS) > 0 {
			var ps []string
			for _, k := range []string{"p50", "p90", "p99", "max"} {
				if v, ok := m.LatencyMS[k]; ok {
					ps = append(ps, fmt.Sprintf("%s %d", k, v))
				}
			}
			kvs = append(kvs, KV{"latency (ms)", strings.Join(ps, ", ")})
		}
		for _, k := range sortedKeys(m.FailuresByKind) {
			kvs = append(kvs, KV{"failures: " + k, itoa(m.FailuresByKind[k])})
		}
		s.Tables = append(s.Tables, kvTable("raw/"+m.File, kvs))
	}
	if r.Traces.Files > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d trace file(s), %.1f MB on disk.", r.Traces.Files, float64(r.Traces.Bytes)/1e6))
	}
	return s
}

func (r *Run) dataSection() *section {
	s := &section{ID: "dataset", Title: "Filter (dataset)"}
	if r.Data == nil {
		s.Notes = append(s.Notes, "No dataset in data/.")
		return s
	}
	if st := r.Data.Stats; st != nil {
		s.Tables = append(s.Tables, kvTable("data/stats.json", []KV{
			{"input lines", itoa(st.LinesIn)},
			{"input MB", fmt.Sprintf("%.1f", float64(st.BytesIn)/1e6)},
			{"traces", itoa(st.Traces)},
			{"kept (train / test)", fmt.Sprintf("%d (%d / %d)", st.Kept, st.Train, st.Test)},
			{"rejected", itoa(st.Rejected)},
			{"prompts: mean pass rate", fmt.Sprintf("%.3f over %d prompts", st.PassRates.Mean, st.PassRates.Prompts)},
			{"prompts: always / never solved", fmt.Sprintf("%d / %d", st.PassRates.AlwaysSolved, st.PassRates.NeverSolved)},
		}))
		t := table{Caption: "Rejected by reason", Head: []string{"reason", "rows", "share of traces"}}
		for _, k := range sortedKeys(st.Reasons) {
			t.Rows = append(t.Rows, []string{k, itoa(st.Reasons[k]), share(st.Reasons[k], st.Traces)})
		}
		if len(t.Rows) > 0 {
			s.Tables = append(s.Tables, t)
		}
		t = table{Caption: "By source", Head: []string{"source", "traces", "correct", "wrong", "unverifiable", "kept", "teacher accuracy"}}
		for _, k := range sortedKeys(st.Sources) {
			v := st.Sources[k]
			t.Rows = append(t.Rows, []string{k, itoa(v.Traces), itoa(v.Correct), itoa(v.Wrong), itoa(v.Unverifiable), itoa(v.Kept), f3(v.Accuracy)})
		}
		if len(t.Rows) > 0 {
			s.Tables = append(s.Tables, t)
		}
		if len(st.Contamination) > 0 {
			t = table{Caption: "Decontamination", Head: []string{"benchmark", "rows dropped"}}
			for _, k := range sortedKeys(st.Contamination) {
				t.Rows = append(t.Rows, []string{k, itoa(st.Contamination[k])})
			}
			s.Tables = append(s.Tables, t)
		}
	}
	if r.Data.Lengths == nil {
		s.Notes = append(s.Notes, "No length histogram: stats.json lacks it and there are no train or test shards.")
	}
	return s
}

func share(n, of int64) string {
	if of == 0 {
		return ""
	}
	return pct(float64(n) / float64(of))
}

// LengthBinView is a non-empty stretch of the length histogram, labelled.
type LengthBinView struct {
	Label string
	Count int64
}

// lengthView drops the empty bins before the first and after the last
// non-empty one.
func lengthView(bins []dataset.LengthBin) []LengthBinView {
	lo, hi := -1, -1
	for i, b := range bins {
		if b.Count > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo < 0 {
		return nil
	}
	var out []LengthBinView
	for _, b := range bins[lo : hi+1] {
		out = append(out, LengthBinView{Label: fmt.Sprintf("%d–%d", b.Min, b.Max-1), Count: b.Count})
	}
	return out
}

func (r *Run) sftSection() *section {
	s := &section{ID: "sft", Title: "Train (SFT)"}
	if r.SFT == nil {
		s.Notes = append(s.Notes, "No SFT metrics in sft/metrics.jsonl.")
		return s
	}
	first, last := r.SFT.Metrics[0], r.SFT.Last()
	kvs := []KV{
		{"updates logged", fmt.Sprintf("%d (steps %d–%d)", len(r.SFT.Metrics), first.Step, last.Step)},
		{"epoch", itoa(last.Epoch)},
		{"tokens trained", itoa(last.Tokens)},
		{"loss: first / final", fmt.Sprintf("%.4f / %.4f", first.Loss, last.Loss)},
	}
	if step, loss, ok := r.SFT.EvalLoss(); ok {
		kvs = append(kvs, KV{"held-out loss (last)", fmt.Sprintf("%.4f at step %d", loss, step)})
	}
	kvs = append(kvs,
		KV{"tokens/s (final)", fmt.Sprintf("%.0f", last.TokensSec)},
		KV{"learning rate (final)", fmt.Sprintf("%.3g", last.LR)},
		KV{"gradient norm (final)", fmt.Sprintf("%.3g", last.GradNorm)},
		KV{"time", seconds(last.Elapsed)})
	s.Tables = append(s.Tables, kvTable("sft/metrics.jsonl", kvs))
	return s
}

func (r *Run) rlSection() *section {
	s := &section{ID: "rl", Title: "GRPO (rl after SFT, rl-only from scratch)"}
	if len(r.RL) == 0 {
		s.Notes = append(s.Notes, "No GRPO metrics in rl/ or rl-only/.")
		return s
	}
	for _, run := range r.RL {
		kvs := []KV{{"updates logged", itoa(len(run.Metrics))}}
		if _, ys := run.Series("reward", "mean"); len(ys) > 0 {
			kvs = append(kvs, KV{"reward: first / final", fmt.Sprintf("%.4f / %.4f", ys[0], ys[len(ys)-1])},
				KV{"reward: mean over the run", fmt.Sprintf("%.4f", mean(ys))})
		}
		if _, ys := run.Series("kl"); len(ys) > 0 {
			kvs = append(kvs, KV{"KL (final)", fmt.Sprintf("%.4g", ys[len(ys)-1])})
		}
		s.Tables = append(s.Tables, kvTable(run.Stage+"/metrics.jsonl", kvs))
		s.Tables = append(s.Tables, kvTable(run.Stage+": last update, as logged", flatten(run.Metrics[len(run.Metrics)-1])))
	}
	return s
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func (r *Run) recordSection() *section {
	s := &section{ID: "run", Title: "Run"}
	if r.Record == nil {
		s.Notes = append(s.Notes, "No run.json: the stages were run one by one.")
		return s
	}
	rec := r.Record
	s.Tables = append(s.Tables, kvTable("run.json", []KV{{"config", rec.Config}, {"started", rec.Started.UTC().Format(time.RFC3339)}}))
	t := table{Caption: "Stages", Head: []string{"stage", "done", "time", "command"}}
	order := slices.Clone(rec.Order)
	for _, k := range sortedKeys(rec.Stages) {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	for _, name := range order {
		st, ok := rec.Stages[name]
		if !ok {
			t.Rows = append(t.Rows, []string{name, "not started", "", ""})
			continue
		}
		t.Rows = append(t.Rows, []string{name, strconv.FormatBool(st.Done), seconds(st.Seconds), st.Command})
	}
	s.Tables = append(s.Tables, t)
	return s
}
