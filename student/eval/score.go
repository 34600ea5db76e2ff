// Package eval scores sampled answers the way the R1 report does: pass@1 as
// the mean correctness over k samples per prompt, the unbiased pass@k, and
// cons@k (majority vote), each with a 95% confidence interval, overall, per
// source and per level, with the rates of truncation, format failure and
// unverifiable answers; and the paired comparison of two evaluations.
//
// Of ours it may import only `dataset/reward`, `dataset/verify`, `student`,
// `student/memory`, `student/model` and `student/tokenizer`.
package eval

import (
	"math"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/dataset/verify"
	"gonum.org/v1/gonum/stat"
)

// Sample is one answer to a prompt, as generated.
type Sample struct {
	Reasoning    string
	Content      string
	FinishReason string
	Tokens       int
	Error        string
}

// Item is a prompt with its k samples.
type Item struct {
	PromptID  string
	Source    string
	Level     string // difficulty, where the prompt set has one
	Task      string
	Reference string
	Samples   []Sample
}

// Scored is one sample with its verdict, as written to samples.jsonl.
type Scored struct {
	PromptID     string `json:"prompt_id"`
	Source       string `json:"source"`
	Level        string `json:"level,omitempty"`
	Sample       int    `json:"sample"`
	Reasoning    string `json:"reasoning"`
	Content      string `json:"content"`
	FinishReason string `json:"finish_reason"`
	Tokens       int    `json:"tokens"`
	Reference    string `json:"reference"`
	Answer       string `json:"answer"`
	Verdict      string `json:"verdict"`
	Verifier     string `json:"verifier"`
	Reason       string `json:"reason,omitempty"`
	FormatOK     bool   `json:"format_ok"`
	Error        string `json:"error,omitempty"`
}

// Interval is a 95% confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Metrics are the scores of a set of prompts.
type Metrics struct {
	Prompts          int      `json:"prompts"`
	Samples          int      `json:"samples"`
	PassAt1          float64  `json:"pass@1"`
	PassAt1CI        Interval `json:"pass@1_ci95"`
	PassAtK          float64  `json:"pass@k"`
	PassAtKCI        Interval `json:"pass@k_ci95"`
	ConsAtK          float64  `json:"cons@k"`
	ConsAtKCI        Interval `json:"cons@k_ci95"`
	TruncationRate   float64  `json:"truncation_rate"`
	FormatFailRate   float64  `json:"format_failure_rate"`
	UnverifiableRate float64  `json:"unverifiable_rate"`
	MeanTokens       float64  `json:"mean_completion_tokens"`
}

// Report is results.json without the run's settings.
type Report struct {
	Metrics
	K        int                `json:"k"`
	BySource map[string]Metrics `json:"by_source"`
	ByLevel  map[string]Metrics `json:"by_level,omitempty"`
}

// Outcome is one prompt's tally: the unit the intervals count and the
// paired comparison pairs.
type Outcome struct {
	PromptID, Source, Level, Reference string
	N, Correct                         int  // samples, and how many were judged correct
	Cons                               bool // the majority answer is correct
	Truncated, FormatFailed            int
	Unverifiable, Tokens               int
}

// tally reduces one prompt's scored samples to its outcome. Score and
// ReadOutcomes (the comparison's reader of samples.jsonl) both count with
// it, so a comparison sees what the evaluation saw.
func tally(ss []Scored) Outcome {
	var o Outcome
	var answers, correct []string
	for i, s := range ss {
		if i == 0 {
			o.PromptID, o.Source, o.Level, o.Reference = s.PromptID, s.Source, s.Level, s.Reference
		}
		o.N++
		o.Tokens += s.Tokens
		if s.Error == "" {
			answers = append(answers, s.Answer)
		}
		switch s.Verdict {
		case verify.Correct.String():
			o.Correct++
			correct = append(correct, s.Answer)
		case verify.Unverifiable.String():
			o.Unverifiable++
		}
		if s.FinishReason == "length" {
			o.Truncated++
		}
		if !s.FormatOK {
			o.FormatFailed++
		}
	}
	// cons@k: the majority answer is correct when it is equivalent to a
	// sample judged correct (the verifier, not the vote, decides).
	if maj, cnt := verify.Majority(answers); cnt > 0 {
		for _, a := range correct {
			if verify.Equivalent(maj, a) {
				o.Cons = true
				break
			}
		}
	}
	return o
}

// Score verifies every sample and computes the metrics. k is the number of
// samples per prompt (items with fewer count what they have).
func Score(items []Item, k int) (Report, []Scored) {
	var all []Scored
	outs := make([]Outcome, 0, len(items))
	for _, it := range items {
		v := verify.ForTask(it.Task)
		first := len(all)
		for i, s := range it.Samples {
			sc := Scored{PromptID: it.PromptID, Source: it.Source, Level: it.Level, Sample: i, Reasoning: s.Reasoning, Content: s.Content,
				FinishReason: s.FinishReason, Tokens: s.Tokens, Reference: it.Reference, Error: s.Error, FormatOK: reward.FormatOK(s.Reasoning, s.Content, s.FinishReason)}
			if s.Error != "" {
				sc.Verdict, sc.Verifier, sc.Reason = verify.Wrong.String(), v.Name(), "generation failed"
			} else {
				r := v.Verify(reward.AnswerPart(s.Content), it.Reference)
				sc.Verdict, sc.Verifier, sc.Answer, sc.Reason = r.Verdict.String(), r.Verifier, r.Answer, r.Reason
			}
			all = append(all, sc)
		}
		outs = append(outs, tally(all[first:]))
	}
	return summarize(outs, k), all
}

// summarize computes the metrics of prompts' outcomes, overall, per source
// and per level (where prompts carry one).
func summarize(outs []Outcome, k int) Report {
	rep := Report{Metrics: metrics(outs, k), K: k, BySource: map[string]Metrics{}}
	bySource, byLevel := map[string][]Outcome{}, map[string][]Outcome{}
	for _, o := range outs {
		bySource[o.Source] = append(bySource[o.Source], o)
		if o.Level != "" {
			byLevel[o.Level] = append(byLevel[o.Level], o)
		}
	}
	for s, group := range bySource {
		rep.BySource[s] = metrics(group, k)
	}
	if len(byLevel) > 0 {
		rep.ByLevel = map[string]Metrics{}
		for l, group := range byLevel {
			rep.ByLevel[l] = metrics(group, k)
		}
	}
	return rep
}

func metrics(outs []Outcome, k int) Metrics {
	var m Metrics
	var per, passK, cons []float64
	var trunc, ff, u, tokens int
	for _, o := range outs {
		if o.N == 0 {
			continue
		}
		m.Prompts++
		per = append(per, float64(o.Correct)/float64(o.N))
		passK = append(passK, passAtK(o.N, o.Correct, min(k, o.N)))
		cons = append(cons, b2f(o.Cons))
		m.Samples += o.N
		trunc += o.Truncated
		ff += o.FormatFailed
		u += o.Unverifiable
		tokens += o.Tokens
	}
	if m.Prompts == 0 {
		return m
	}
	// pass@1 is worth up to one trial per sample; pass@k and cons@k give
	// one figure per prompt.
	m.PassAt1, m.PassAt1CI = proportionCI(per, m.Samples)
	m.PassAtK, m.PassAtKCI = proportionCI(passK, m.Prompts)
	m.ConsAtK, m.ConsAtKCI = proportionCI(cons, m.Prompts)
	m.TruncationRate = float64(trunc) / float64(m.Samples)
	m.FormatFailRate = float64(ff) / float64(m.Samples)
	m.UnverifiableRate = float64(u) / float64(m.Samples)
	m.MeanTokens = float64(tokens) / float64(m.Samples)
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// passAtK is the unbiased estimator of Chen et al. (2021): the chance that
// at least one of k samples drawn from n, of which c are correct, is
// correct: 1 - C(n-c, k)/C(n, k), computed as a product for stability.
func passAtK(n, c, k int) float64 {
	if n-c < k {
		return 1
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p
}

// z95 is the 0.975 quantile of the standard normal (scipy's norm.isf(0.025)).
const z95 = 1.959963984540054

// proportionCI is the mean of per-prompt scores in [0, 1] with a Wilson
// score 95% interval on an effective count of trials, the design-effect
// adjustment of Korn & Graubard (1998, Survey Methodology 24:193–201) that
// Dean & Pagano (2015, J. Surv. Stat. Methodol. 3:484–503) find sound for
// clustered binary data: a prompt is a cluster of samples, and the mean is
// worth n_eff = p(1−p)/Var(mean) independent trials. n_eff lies between the
// prompts (a prompt's samples all agree: a mean of n values in [0, 1] has
// variance at most p(1−p)/n) and maxCount (every sample independent). At 0
// and 1 the agreement cannot be estimated and the count is the prompts, the
// cautious end. Unlike the normal approximation it replaces, the interval
// never collapses to a point at 0 or 1.
func proportionCI(x []float64, maxCount int) (float64, Interval) {
	n := float64(len(x))
	p := stat.Mean(x, nil)
	count := n
	if p > 0 && p < 1 && len(x) > 1 {
		count = float64(maxCount)
		if v := stat.Variance(x, nil) / n; v > 0 {
			count = math.Max(n, math.Min(count, p*(1-p)/v))
		}
	}
	return p, wilson(p, count)
}

// wilson is the Wilson score 95% interval of a proportion p observed over n
// trials (Wilson 1927; statsmodels' proportion_confint method "wilson").
func wilson(p, n float64) Interval {
	const z2 = z95 * z95
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z95 * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
}

// Results is results.json: the scores and how they were obtained.
type Results struct {
	Report
	Subject     string  `json:"subject"`
	PromptSet   string  `json:"prompt_set"`
	Template    string  `json:"template"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	MaxTokens   int     `json:"max_tokens"`
	Seed        int64   `json:"seed"`
	Seconds     float64 `json:"seconds"`
}
