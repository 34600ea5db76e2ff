package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

// outcomes builds n prompts' outcomes with correct[i] of 8 samples right.
func outcomes(correct []int, cons func(i int) bool) []Outcome {
	out := make([]Outcome, len(correct))
	for i, c := range correct {
		out[i] = Outcome{PromptID: fmt.Sprint("p", i), Reference: fmt.Sprint(i), N: 8, Correct: c, Cons: cons(i)}
	}
	return out
}

// Every prompt gains the same: every bootstrap resample has the same mean,
// so the interval is that one point, and only the two all-same-sign
// patterns of the m prompts are as extreme: p = 2/2^m, exactly when
// enumerated, at its floor 1/(1+draws) when sampled.
func TestComparePairedAllEqual(t *testing.T) {
	for _, tc := range []struct {
		prompts int
		wantP   float64
	}{
		{10, 2.0 / 1024},
		{40, 1.0 / 10001},
	} {
		a := outcomes(make([]int, tc.prompts), func(int) bool { return false })
		b := outcomes(make([]int, tc.prompts), func(int) bool { return true })
		for i := range b {
			b[i].Correct = 2
		}
		c, err := Compare(a, b, 10000, 7)
		if err != nil {
			t.Fatal(err)
		}
		if c.PassAt1.Diff != 0.25 || c.PassAt1.CI != (Interval{0.25, 0.25}) || c.PassAt1.P != tc.wantP {
			t.Errorf("%d prompts, pass@1: %+v, want +0.25 [0.25, 0.25] p = %g", tc.prompts, c.PassAt1, tc.wantP)
		}
		if c.ConsAtK.Diff != 1 || c.ConsAtK.CI != (Interval{1, 1}) || c.ConsAtK.P != tc.wantP || c.Prompts != tc.prompts {
			t.Errorf("%d prompts, cons@k: %+v", tc.prompts, c.ConsAtK)
		}
	}
}

// No prompt differs: nothing to flip, p = 1, interval [0, 0].
func TestComparePairedIdentical(t *testing.T) {
	a := outcomes([]int{0, 3, 8, 5}, func(i int) bool { return i > 1 })
	c, err := Compare(a, a, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.PassAt1.P != 1 || c.PassAt1.CI != (Interval{}) || c.ConsAtK.P != 1 {
		t.Errorf("identical evaluations: %+v %+v", c.PassAt1, c.ConsAtK)
	}
}

// The exact sign-flip p-value against Python's enumeration of every sign
// pattern, with prompts that do not differ left in.
func TestSignFlipExact(t *testing.T) {
	d := []float64{0.5, -0.125, 0.25, 0.375, 0, 1, -0.25, 0.125, 0, 0.625, -0.5, 0.75}
	in, _ := json.Marshal(d)
	script := `
import itertools, json, sys
d = [v for v in json.load(sys.stdin) if v != 0]
obs = abs(sum(d))
pats = list(itertools.product([1, -1], repeat=len(d)))
print(sum(abs(sum(s * v for s, v in zip(p, d))) >= obs - 1e-12 for p in pats) / len(pats))
`
	var want float64
	python(t, script, in, &want)
	if got := signFlip(d, 10, rand.New(rand.NewPCG(1, 0))); math.Abs(got-want) > 1e-15 {
		t.Errorf("sign-flip p = %g, enumeration %g", got, want)
	}
}

// Many prompts: the bootstrap interval is close to the normal interval of
// the paired t statistic, mean ± z·sd/√n, and the sampled sign-flip p-value
// to the normal approximation of the sign-flip statistic Σd, whose variance
// under the null is Σd² (both from numpy). Tolerances: a tenth of a
// standard error for the interval (the bootstrap's own Monte Carlo error
// with 10,000 resamples is about 0.03), 0.01 for p (four Monte Carlo
// standard errors at p ≈ 0.05).
func TestComparePairedLargeSample(t *testing.T) {
	const n = 300
	r := rand.New(rand.NewPCG(3, 4))
	ca, cb := make([]int, n), make([]int, n)
	for i := range ca {
		ca[i] = r.IntN(9)
		cb[i] = min(8, max(0, ca[i]+r.IntN(5)-2+b2i(r.IntN(3) == 0)))
	}
	a := outcomes(ca, func(i int) bool { return ca[i] > 4 })
	b := outcomes(cb, func(i int) bool { return cb[i] > 4 })
	c, err := Compare(a, b, 10000, 11)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = float64(cb[i]-ca[i]) / 8
	}
	in, _ := json.Marshal(d)
	script := `
import json, math, sys
import numpy as np
d = np.array(json.load(sys.stdin))
z = 1.959963984540054
se = d.std(ddof=1) / math.sqrt(len(d))
print(json.dumps([d.mean(), d.mean() - z * se, d.mean() + z * se, se,
                  math.erfc(abs(d.sum()) / math.sqrt((d ** 2).sum()) / math.sqrt(2))]))
`
	var ref [5]float64
	python(t, script, in, &ref)
	got := c.PassAt1
	t.Logf("pass@1 %+.4f [%+.4f, %+.4f] p = %.4f; numpy %+.4f [%+.4f, %+.4f] p ≈ %.4f", got.Diff, got.CI.Low, got.CI.High, got.P, ref[0], ref[1], ref[2], ref[4])
	if math.Abs(got.Diff-ref[0]) > 1e-12 || math.Abs(got.CI.Low-ref[1]) > 0.1*ref[3] || math.Abs(got.CI.High-ref[2]) > 0.1*ref[3] {
		t.Errorf("pass@1 difference %+v, numpy %.4f [%.4f, %.4f]", got, ref[0], ref[1], ref[2])
	}
	if math.Abs(got.P-ref[4]) > 0.01 || ref[4] < 0.005 || ref[4] > 0.5 {
		t.Errorf("sign-flip p = %.4f, normal approximation %.4f (the case should sit between 0.005 and 0.5)", got.P, ref[4])
	}
	again, _ := Compare(a, b, 10000, 11)
	if again != c {
		t.Error("same seed, different comparison")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// python runs script with stdin and decodes the JSON it prints into v.
func python(t *testing.T, script string, stdin []byte, v any) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(repotest.Python(t), "-c", script)
	cmd.Stdin, cmd.Stderr = bytes.NewReader(stdin), &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
}

func TestCompareRefusesDifferentPrompts(t *testing.T) {
	a := outcomes([]int{1, 2, 3}, func(int) bool { return false })
	for _, tc := range []struct {
		name string
		edit func([]Outcome) []Outcome
		want string
	}{
		{"one missing", func(b []Outcome) []Outcome { return b[:2] }, `A has 3 prompts, B 2, shared 2; A's "p2" is not in B`},
		{"one extra", func(b []Outcome) []Outcome { return append(b, Outcome{PromptID: "q", N: 8}) }, `B's "q" is not in A`},
		{"renamed", func(b []Outcome) []Outcome { b[1].PromptID = "x"; return b }, `A's "p1" is not in B; B's "x" is not in A`},
		{"other reference", func(b []Outcome) []Outcome { b[0].Reference = "42"; return b }, `prompt "p0" has reference "0" in A, "42" in B`},
	} {
		b := tc.edit(append([]Outcome(nil), a...))
		_, err := Compare(a, b, 100, 1)
		if !errors.Is(err, ErrPromptsDiffer) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrPromptsDiffer naming %s", tc.name, err, tc.want)
		}
	}
	// The same prompts in another order pair by id.
	rev := []Outcome{a[2], a[0], a[1]}
	if c, err := Compare(a, rev, 100, 1); err != nil || c.PassAt1.P != 1 {
		t.Errorf("reordered: %+v, %v", c, err)
	}
}

// samples.jsonl tallies to the outcomes Score computed; a repeated sample
// of a prompt (a prompt set that repeats an id) is refused.
func TestReadOutcomes(t *testing.T) {
	items := []Item{
		{PromptID: "a", Source: "s", Level: "1", Task: "builtin:arith", Reference: "5", Samples: []Sample{boxed("5"), boxed("7"), boxed("7")}},
		{PromptID: "b", Source: "s", Level: "2", Task: "builtin:arith", Reference: "3", Samples: []Sample{boxed("3"), {Error: "timeout"}, boxed("3")}},
	}
	rep, scored := Score(items, 3)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range scored {
		enc.Encode(s)
	}
	outs, err := ReadOutcomes(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if again := summarize(outs, 3); fmt.Sprint(again) != fmt.Sprint(rep) {
		t.Errorf("samples.jsonl summarizes to %+v, Score gave %+v", again, rep)
	}
	if len(outs) != 2 || outs[0].Correct != 1 || outs[0].Cons || outs[1].Correct != 2 || !outs[1].Cons || outs[1].Level != "2" {
		t.Errorf("outcomes %+v", outs)
	}
	enc.Encode(scored[0])
	if _, err := ReadOutcomes(&buf); err == nil || !strings.Contains(err.Error(), `line 7: prompt "a" has sample 0 twice`) {
		t.Errorf("repeated sample: %v", err)
	}
}
