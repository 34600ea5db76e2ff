// Package eval scores sampled answers the way the R1 report does: pass@1 as
// the mean correctness over k samples per prompt, the unbiased pass@k, and
// cons@k (majority vote), each with a 95% confidence interval, overall and
// per source, with the rates of truncation, format failure and unverifiable
// answers.
package eval

import (
	"math"
	"sort"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/dataset/verify"
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
	Task      string
	Reference string
	Samples   []Sample
}

// Scored is one sample with its verdict, as written to samples.jsonl.
type Scored struct {
	PromptID     string `json:"prompt_id"`
	Source       string `json:"source"`
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
}

// Score verifies every sample and computes the metrics. k is the number of
// samples per prompt (items with fewer count what they have).
func Score(items []Item, k int) (Report, []Scored) {
	var all []Scored
	type promptScore struct {
		source            string
		c, n              int
		cons              bool
		trunc, fmtFail, u int
		tokens            int
	}
	var ps []promptScore
	for _, it := range items {
		v := verify.ForTask(it.Task)
		p := promptScore{source: it.Source}
		var answers []string
		var correctAns []string
		for i, s := range it.Samples {
			sc := Scored{PromptID: it.PromptID, Source: it.Source, Sample: i, Reasoning: s.Reasoning, Content: s.Content,
				FinishReason: s.FinishReason, Tokens: s.Tokens, Reference: it.Reference, Error: s.Error, FormatOK: reward.FormatOK(s.Reasoning, s.Content, s.FinishReason)}
			if s.Error != "" {
				sc.Verdict, sc.Verifier, sc.Reason = verify.Wrong.String(), v.Name(), "generation failed"
			} else {
				r := v.Verify(reward.AnswerPart(s.Content), it.Reference)
				sc.Verdict, sc.Verifier, sc.Answer, sc.Reason = r.Verdict.String(), r.Verifier, r.Answer, r.Reason
				if r.Verdict == verify.Correct {
					p.c++
					correctAns = append(correctAns, r.Answer)
				}
				if r.Verdict == verify.Unverifiable {
					p.u++
				}
				answers = append(answers, r.Answer)
			}
			p.n++
			p.tokens += s.Tokens
			if s.FinishReason == "length" {
				p.trunc++
			}
			if !sc.FormatOK {
				p.fmtFail++
			}
			all = append(all, sc)
		}
		// cons@k: the majority answer is correct when it is equivalent to a
		// sample judged correct (the verifier, not the vote, decides).
		if maj, cnt := verify.Majority(answers); cnt > 0 {
			for _, a := range correctAns {
				if verify.Equivalent(maj, a) {
					p.cons = true
					break
				}
			}
		}
		ps = append(ps, p)
	}
	metrics := func(sel func(promptScore) bool) Metrics {
		var m Metrics
		var per, passK, cons []float64
		var samples, trunc, ff, u, tokens int
		for _, p := range ps {
			if !sel(p) || p.n == 0 {
				continue
			}
			m.Prompts++
			per = append(per, float64(p.c)/float64(p.n))
			passK = append(passK, passAtK(p.n, p.c, min(k, p.n)))
			cons = append(cons, b2f(p.cons))
			samples += p.n
			trunc += p.trunc
			ff += p.fmtFail
			u += p.u
			tokens += p.tokens
		}
		m.Samples = samples
		if m.Prompts == 0 {
			return m
		}
		m.PassAt1, m.PassAt1CI = meanCI(per)
		m.PassAtK, m.PassAtKCI = meanCI(passK)
		m.ConsAtK, m.ConsAtKCI = wilson(cons)
		m.TruncationRate = float64(trunc) / float64(samples)
		m.FormatFailRate = float64(ff) / float64(samples)
		m.UnverifiableRate = float64(u) / float64(samples)
		m.MeanTokens = float64(tokens) / float64(samples)
		return m
	}
	rep := Report{Metrics: metrics(func(promptScore) bool { return true }), K: k, BySource: map[string]Metrics{}}
	var sources []string
	seen := map[string]bool{}
	for _, p := range ps {
		if !seen[p.source] {
			seen[p.source] = true
			sources = append(sources, p.source)
		}
	}
	sort.Strings(sources)
	for _, s := range sources {
		rep.BySource[s] = metrics(func(p promptScore) bool { return p.source == s })
	}
	return rep, all
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

// meanCI is the mean with a normal-approximation 95% interval over prompts
// (the prompts are the sampling unit), clamped to [0, 1].
func meanCI(x []float64) (float64, Interval) {
	n := float64(len(x))
	var s float64
	for _, v := range x {
		s += v
	}
	mean := s / n
	if len(x) < 2 {
		return mean, Interval{mean, mean}
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(ss / (n - 1) / n)
	return mean, Interval{math.Max(0, mean-1.96*se), math.Min(1, mean+1.96*se)}
}

// wilson is a proportion with its Wilson score 95% interval, which stays
// sensible at 0 and 1 where the normal approximation collapses.
func wilson(x []float64) (float64, Interval) {
	n := float64(len(x))
	var s float64
	for _, v := range x {
		s += v
	}
	p := s / n
	const z = 1.96
	den := 1 + z*z/n
	centre := (p + z*z/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / den
	return p, Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
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
