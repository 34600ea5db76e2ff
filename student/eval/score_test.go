package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

func TestPassAtK(t *testing.T) {
	for _, tc := range []struct {
		n, c, k int
		want    float64
	}{
		{8, 0, 1, 0}, {8, 8, 1, 1}, {8, 2, 1, 0.25}, {8, 2, 8, 1},
		{4, 1, 2, 0.5},           // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{10, 3, 5, 1 - 21.0/252}, // C(7,5)=21, C(10,5)=252
	} {
		if got := passAtK(tc.n, tc.c, tc.k); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("pass@%d(n=%d,c=%d) = %g, want %g", tc.k, tc.n, tc.c, got, tc.want)
		}
	}
}

func boxed(ans string) Sample {
	return Sample{Reasoning: "steps", Content: `\boxed{` + ans + `}`, FinishReason: "stop", Tokens: 10}
}

func TestScore(t *testing.T) {
	items := []Item{
		// 1 of 4 correct, the majority (7) wrong.
		{PromptID: "a", Source: "s1", Task: "builtin:arith", Reference: "5", Samples: []Sample{boxed("5.0"), boxed("7"), boxed("7"), boxed("8")}},
		// 3 of 4 correct: majority right; one truncated without an answer.
		{PromptID: "b", Source: "s1", Task: "builtin:arith", Reference: "12", Samples: []Sample{boxed("12"), boxed("12"), {Reasoning: "12 +", FinishReason: "length"}, boxed("12")}},
		// Think tags in the content, no separate reasoning.
		{PromptID: "c", Source: "s2", Task: "math", Reference: `\frac{1}{2}`, Samples: []Sample{
			{Content: "<think>half</think>\n\n\\boxed{0.5}", FinishReason: "stop"},
			{Content: "no tags \\boxed{1/2}", FinishReason: "stop"},
			{Content: "<think>x</think> \\boxed{3}", FinishReason: "stop"},
			{Content: "<think>x</think> \\boxed{\\dfrac12}", FinishReason: "stop"}}},
		// Unparseable reference: never correct.
		{PromptID: "d", Source: "s2", Task: "math", Reference: "", Samples: []Sample{boxed("1"), boxed("1"), boxed("1"), boxed("1")}},
	}
	rep, all := Score(items, 4)
	if len(all) != 16 {
		t.Fatalf("%d scored samples, want 16", len(all))
	}
	wantPass1 := (0.25 + 0.75 + 0.75 + 0) / 4
	if math.Abs(rep.PassAt1-wantPass1) > 1e-12 {
		t.Errorf("pass@1 = %g, want %g", rep.PassAt1, wantPass1)
	}
	if rep.PassAtK != 0.75 {
		t.Errorf("pass@4 = %g, want 0.75", rep.PassAtK)
	}
	if rep.ConsAtK != 0.5 { // b and c
		t.Errorf("cons@4 = %g, want 0.5", rep.ConsAtK)
	}
	if rep.TruncationRate != 1.0/16 || rep.UnverifiableRate != 4.0/16 {
		t.Errorf("truncation %g unverifiable %g", rep.TruncationRate, rep.UnverifiableRate)
	}
	if rep.FormatFailRate != 2.0/16 { // the truncated one and "no tags"
		t.Errorf("format failures %g, want 2/16", rep.FormatFailRate)
	}
	if s1 := rep.BySource["s1"]; s1.Prompts != 2 || math.Abs(s1.PassAt1-0.5) > 1e-12 {
		t.Errorf("by source s1: %+v", s1)
	}
	if !(rep.PassAt1CI.Low <= rep.PassAt1 && rep.PassAt1 <= rep.PassAt1CI.High) || !(rep.ConsAtKCI.Low < 0.5 && rep.ConsAtKCI.High > 0.5) {
		t.Errorf("intervals do not contain the estimates: %+v %+v", rep.PassAt1CI, rep.ConsAtKCI)
	}
	b, _ := json.Marshal(rep)
	var keys map[string]any
	json.Unmarshal(b, &keys)
	for _, k := range []string{"pass@1", "pass@k", "cons@k", "k", "by_source"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("results.json lacks top-level key %q: %s", k, b)
		}
	}
}

// At 0 and 1 every interval is the Wilson interval over the prompts, whose
// closed form there is [0, z²/(n+z²)] and [n/(n+z²), 1]; the normal
// approximation this replaced gave [0, 0] and [1, 1].
func TestScoreIntervalsAtBounds(t *testing.T) {
	const n, z = 300, 1.959963984540054
	for _, tc := range []struct {
		name     string
		answer   string
		want     float64
		low, top float64
	}{
		{"all wrong", "7", 0, 0, z * z / (n + z*z)},
		{"all right", "5", 1, n / (n + z*z), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := make([]Item, n)
			for i := range items {
				items[i] = Item{PromptID: fmt.Sprint(i), Source: "s", Task: "builtin:arith", Reference: "5",
					Samples: []Sample{boxed(tc.answer), boxed(tc.answer), boxed(tc.answer), boxed(tc.answer)}}
			}
			rep, _ := Score(items, 4)
			for name, got := range map[string]Interval{"pass@1": rep.PassAt1CI, "pass@k": rep.PassAtKCI, "cons@k": rep.ConsAtKCI} {
				if math.Abs(got.Low-tc.low) > 1e-12 || math.Abs(got.High-tc.top) > 1e-12 {
					t.Errorf("%s = %g, interval %+v, want [%.6f, %.6f]", name, tc.want, got, tc.low, tc.top)
				}
			}
		})
	}
}

// Per-prompt 0/1 scores (cons@k) get the plain Wilson interval over the
// prompts; the expected values are Newcombe (1998, Stat. Med. 17:857–872,
// Table I, method 3, the score interval without continuity correction).
func TestProportionCIWilsonNewcombe(t *testing.T) {
	for _, tc := range []struct {
		x, n      int
		low, high float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{29, 29, 0.8830, 1},
	} {
		x := make([]float64, tc.n)
		for i := range tc.x {
			x[i] = 1
		}
		p, ci := proportionCI(x, tc.n*8) // one vote per prompt: the samples behind it do not count
		if math.Abs(p-float64(tc.x)/float64(tc.n)) > 1e-12 || math.Abs(ci.Low-tc.low) > 5e-5 || math.Abs(ci.High-tc.high) > 5e-5 {
			t.Errorf("%d/%d: %g %+v, want [%.4f, %.4f]", tc.x, tc.n, p, ci, tc.low, tc.high)
		}
	}
}

// Fractions per prompt: the effective count against a numpy computation of
// Korn & Graubard's n_eff (clipped to [prompts, samples]) and statsmodels'
// Wilson formula, written out; and the two limits it moves between.
func TestProportionCIEffectiveCount(t *testing.T) {
	cases := []struct {
		Name     string    `json:"name"`
		X        []float64 `json:"x"`
		MaxCount int       `json:"maxCount"`
	}{
		{"mixed fractions", []float64{0, 0.125, 0.5, 0.875, 1, 0.25, 0.25, 0, 0.625, 0.375, 0.75, 0.125}, 96},
		// One success in 40 prompts × 8: the samples are the count.
		{"one success", append([]float64{0.125}, make([]float64, 39)...), 320},
		// Every prompt the same fraction: no between-prompt variance, so
		// every sample counts.
		{"same fraction", []float64{0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25}, 64},
		// All or nothing per prompt: the prompts are the count.
		{"all or nothing", []float64{1, 0, 0, 1, 0, 0, 0, 1, 0, 0}, 80},
	}
	in, _ := json.Marshal(cases)
	script := `
import json, sys
import numpy as np
z = 1.959963984540054
out = []
for c in json.load(sys.stdin):
    x = np.array(c["x"], dtype=float); n = len(x); p = x.mean()
    var = x.var(ddof=1) / n
    neff = float(c["maxCount"]) if var == 0 else float(np.clip(p * (1 - p) / var, n, c["maxCount"]))
    d = 1 + z**2 / neff
    centre = (p + z**2 / (2 * neff)) / d
    half = z * np.sqrt(p * (1 - p) / neff + z**2 / (4 * neff**2)) / d
    out.append([p, max(0.0, centre - half), min(1.0, centre + half)])
print(json.dumps(out))
`
	var want [][3]float64
	python(t, script, in, &want)
	for i, c := range cases {
		p, ci := proportionCI(c.X, c.MaxCount)
		if math.Abs(p-want[i][0]) > 1e-12 || math.Abs(ci.Low-want[i][1]) > 1e-12 || math.Abs(ci.High-want[i][2]) > 1e-12 {
			t.Errorf("%s: %g %+v, numpy %v", c.Name, p, ci, want[i])
		}
	}
	// The limits: the same fraction everywhere is a proportion of all the
	// samples, all-or-nothing one of the prompts.
	if _, ci := proportionCI(cases[2].X, 64); ci != wilson(0.25, 64) {
		t.Errorf("same fraction: %+v, want Wilson over 64 samples %+v", ci, wilson(0.25, 64))
	}
	if _, ci := proportionCI(cases[3].X, 80); ci != wilson(0.3, 10) {
		t.Errorf("all or nothing: %+v, want Wilson over 10 prompts %+v", ci, wilson(0.3, 10))
	}
}

func TestScoreByLevel(t *testing.T) {
	item := func(id, level, ans string) Item {
		return Item{PromptID: id, Source: "s", Level: level, Task: "builtin:arith", Reference: "5", Samples: []Sample{boxed(ans), boxed("5")}}
	}
	rep, scored := Score([]Item{item("a", "1", "5"), item("b", "1", "7"), item("c", "2", "7")}, 2)
	for _, tc := range []struct {
		level   string
		prompts int
		pass1   float64
	}{{"1", 2, 0.75}, {"2", 1, 0.5}} {
		m, ok := rep.ByLevel[tc.level]
		if !ok || m.Prompts != tc.prompts || math.Abs(m.PassAt1-tc.pass1) > 1e-12 || !(m.PassAt1CI.Low < m.PassAt1 && m.PassAt1 < m.PassAt1CI.High) {
			t.Errorf("level %s: %+v, want %d prompts, pass@1 %g inside its interval", tc.level, m, tc.prompts, tc.pass1)
		}
	}
	if len(rep.ByLevel) != 2 || scored[4].Level != "2" {
		t.Errorf("levels %v, the last prompt's samples have level %q", rep.ByLevel, scored[4].Level)
	}
	// Prompts without a level: no by_level in results.json.
	rep, _ = Score([]Item{item("a", "", "5")}, 2)
	if b, _ := json.Marshal(rep); bytes.Contains(b, []byte("by_level")) {
		t.Errorf("by_level without levels: %s", b)
	}
}
