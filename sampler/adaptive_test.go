package sampler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// boxedCorrect judges the builtin teacher's answers (\boxed{N} against the
// reference N) without the dataset verifiers, which the sampler must not
// import; distill wires those in and tests them there.
func boxedCorrect(tr record.Trace) bool {
	return tr.Error == "" && strings.Contains(tr.Content, `\boxed{`+tr.Reference+`}`)
}

// stopAfter is the builtin teacher with an interruption at a reproducible
// point: it cancels the run on its n-th request, with others in flight.
type stopAfter struct {
	teacher.Teacher
	n      int64
	calls  atomic.Int64
	cancel context.CancelFunc
}

func (s *stopAfter) Complete(ctx context.Context, req teacher.Request) (teacher.Response, error) {
	if s.calls.Add(1) == s.n {
		s.cancel()
	}
	return s.Teacher.Complete(ctx, req)
}

// checkStopRule checks that every prompt got exactly the samples 0..m-1,
// where m is the first count holding k correct ones (or max), and returns
// the samples never asked for and the prompts that reached k.
func checkStopRule(t *testing.T, traces []record.Trace, prompts, k, max int) (saved, enough int64) {
	t.Helper()
	by := map[string][]record.Trace{}
	for _, tr := range traces {
		by[tr.PromptID] = append(by[tr.PromptID], tr)
	}
	if len(by) != prompts {
		t.Errorf("%d prompts have traces, want %d", len(by), prompts)
	}
	for id, trs := range by {
		slices.SortFunc(trs, func(a, b record.Trace) int { return a.Sample - b.Sample })
		correct := 0
		for i, tr := range trs {
			if tr.Sample != i {
				t.Fatalf("%s: samples %v are not 0..%d", id, samplesOf(trs), len(trs)-1)
			}
			if correct >= k {
				t.Fatalf("%s: sample %d asked for after %d correct ones", id, i, k)
			}
			if boxedCorrect(tr) {
				correct++
			}
		}
		if correct < k && len(trs) < max {
			t.Fatalf("%s: stopped at %d samples with %d correct (want %d, or %d samples)", id, len(trs), correct, k, max)
		}
		saved += int64(max - len(trs))
		if correct >= k {
			enough++
		}
	}
	return saved, enough
}

func samplesOf(trs []record.Trace) []int {
	out := make([]int, len(trs))
	for i, tr := range trs {
		out[i] = tr.Sample
	}
	return out
}

func keysOf(traces []record.Trace) []string {
	out := make([]string, len(traces))
	for i, tr := range traces {
		out[i] = fmt.Sprintf("%s#%d", tr.PromptID, tr.Sample)
	}
	slices.Sort(out)
	return out
}

// TestUntilCorrect: against the builtin teacher, every prompt ends with k
// correct samples or max of them, exactly the samples the stop rule allows;
// an interrupted run, resumed, writes the same (prompt, sample) set as an
// uninterrupted one and reports the same savings.
func TestUntilCorrect(t *testing.T) {
	weak := teacher.BuiltinConfig{WrongRate: 0.5, TruncateRate: 0.1, CheckRate: 0.1}
	for _, tt := range []struct {
		name          string
		builtin       teacher.BuiltinConfig
		k, max, conc  int
		interruptAt   int64
		wantSomeSaved bool
	}{
		{"default k1 max4", teacher.DefaultBuiltinConfig(), 1, 4, 4, 60, true},
		{"weak k2 max8", weak, 2, 8, 8, 150, true},
		{"weak k3 max3", weak, 3, 3, 2, 100, false},
		{"weak k1 max6 c1", weak, 1, 6, 1, 90, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const prompts = 120
			config := func(dir string) Config {
				cfg := testConfig(t, dir, prompts, tt.max)
				cfg.Teacher = teacher.NewBuiltin(tt.builtin)
				cfg.Concurrency, cfg.UntilCorrect, cfg.Correct = tt.conc, tt.k, boxedCorrect
				return cfg
			}
			whole := t.TempDir()
			sw := run(t, config(whole))
			traces := checkExactlyOnce(t, whole, int(sw.Written))
			saved, enough := checkStopRule(t, traces, prompts, tt.k, tt.max)
			a := sw.Adaptive
			if a == nil || a.SamplesSaved != saved || a.PromptsEnough != enough || a.PromptsEnough+a.PromptsExhausted != prompts ||
				a.CorrectBeyond != 0 || sw.Remaining() != 0 || (a.RequestsSaved != saved) {
				t.Fatalf("adaptive %+v, remaining %d; want %d samples saved, %d prompts enough", a, sw.Remaining(), saved, enough)
			}
			if (saved > 0) != tt.wantSomeSaved || (a.TokensSaved > 0) != tt.wantSomeSaved {
				t.Fatalf("saved %d samples, ~%d tokens", saved, a.TokensSaved)
			}
			if sw.Requests <= tt.interruptAt {
				t.Fatalf("%d requests: the interruption at %d would not land", sw.Requests, tt.interruptAt)
			}

			cut := t.TempDir()
			cfg := config(cut)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.Teacher = &stopAfter{Teacher: cfg.Teacher, n: tt.interruptAt, cancel: cancel}
			j, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s1, err := j.Run(ctx)
			if !errors.Is(err, context.Canceled) || s1.Stopped != "interrupted" || s1.Written == 0 {
				t.Fatalf("interrupted run: %v %+v", err, s1)
			}
			s2 := run(t, config(cut))
			if s2.DoneBefore != s1.Written || s2.Adaptive.SamplesSaved != saved || s2.Adaptive.PromptsEnough != enough {
				t.Fatalf("resume: %d before (first run wrote %d), adaptive %+v", s2.DoneBefore, s1.Written, s2.Adaptive)
			}
			resumed := checkExactlyOnce(t, cut, int(sw.Written))
			checkStopRule(t, resumed, prompts, tt.k, tt.max)
			if !slices.Equal(keysOf(resumed), keysOf(traces)) {
				t.Fatal("the resumed run's (prompt, sample) set differs from the uninterrupted run's")
			}
		})
	}
}
