package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/distill-dev/distill/student/train"
)

// SFTRun is the SFT stage: sft/metrics.jsonl, one line per update.
type SFTRun struct {
	Metrics []train.Metric
}

// Last is the last logged update.
func (s *SFTRun) Last() train.Metric { return s.Metrics[len(s.Metrics)-1] }

// EvalLoss is the last held-out loss and its step; ok false when the run
// logged none.
func (s *SFTRun) EvalLoss() (step int, loss float64, ok bool) {
	for i := len(s.Metrics) - 1; i >= 0; i-- {
		if m := s.Metrics[i]; m.EvalLoss != nil {
			return m.Step, *m.EvalLoss, true
		}
	}
	return 0, 0, false
}

// RLRun is a GRPO stage: its metrics.jsonl read as generic JSON objects, so
// that fields added to the trainer's log show up without a change here.
type RLRun struct {
	Stage   string
	Metrics []map[string]any
}

// Series returns (step, value) of the lines that have the number at path
// (e.g. "reward", "mean"; "kl").
func (r *RLRun) Series(path ...string) (steps, values []float64) {
	for i, m := range r.Metrics {
		v, ok := number(m, path...)
		if !ok {
			continue
		}
		s, ok := number(m, "step")
		if !ok {
			s = float64(i + 1)
		}
		steps, values = append(steps, s), append(values, v)
	}
	return steps, values
}

// RewardNames are the reward functions logged per step, sorted.
func (r *RLRun) RewardNames() []string {
	seen := map[string]bool{}
	for _, m := range r.Metrics {
		if rs, ok := m["rewards"].(map[string]any); ok {
			for k := range rs {
				seen[k] = true
			}
		}
	}
	var names []string
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// number looks up a JSON number in nested objects.
func number(m map[string]any, path ...string) (float64, bool) {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		v = o[k]
	}
	f, ok := v.(float64)
	return f, ok
}

// flatten lists the scalar fields of m as dotted names, sorted.
func flatten(m map[string]any) []KV {
	var out []KV
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, x)
			}
		case float64:
			out = append(out, KV{prefix, formatNumber(v)})
		case nil:
		default:
			b, _ := json.Marshal(v)
			out = append(out, KV{prefix, string(b)})
		}
	}
	walk("", m)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// KV is one row of a two-column table.
type KV struct{ Key, Value string }

func (r *Run) loadSFT() {
	p := filepath.Join(r.Dir, SFTDir, "metrics.jsonl")
	var ms []train.Metric
	err := readJSONL(p, func(line []byte) error {
		var m train.Metric
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
		ms = append(ms, m)
		return nil
	}, r.problem)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.missing("train (SFT): no %s/metrics.jsonl", SFTDir)
	case err != nil:
		r.problem(err)
	case len(ms) == 0:
		r.missing("train (SFT): %s/metrics.jsonl has no updates yet", SFTDir)
	default:
		r.SFT = &SFTRun{Metrics: ms}
	}
}

func (r *Run) loadRL() {
	for _, stage := range RLStages {
		p := filepath.Join(r.Dir, stage, "metrics.jsonl")
		run := &RLRun{Stage: stage}
		err := readJSONL(p, func(line []byte) error {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				return err
			}
			run.Metrics = append(run.Metrics, m)
			return nil
		}, r.problem)
		switch {
		case errors.Is(err, os.ErrNotExist):
			r.missing("rl (%s): no %s/metrics.jsonl", stage, stage)
		case err != nil:
			r.problem(err)
		case len(run.Metrics) == 0:
			r.missing("rl (%s): %s/metrics.jsonl has no updates yet", stage, stage)
		default:
			r.RL = append(r.RL, run)
		}
	}
}

// readJSONL calls fn with every line of path. A line fn rejects is
// reported to bad, naming the file and line, and skipped: a log cut by a
// killed run still shows what it had.
func readJSONL(path string, fn func(line []byte) error, bad func(error)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			bad(fmt.Errorf("%s:%d: skipped: %w", path, n, err))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
