package distill

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// replayRecipe is a run of every stage in seconds. The builtin teacher's
// wrong_rate and the filter's write_rejects have no flag: their commands
// need the config file the run writes beside them.
const replayRecipe = `out: run
generate:
  prompts: builtin:arith:1-2
  num_prompts: 60
  seed: 1
  template: plain
  builtin: {wrong_rate: 0.2}
filter:
  select: {test_fraction: 0.1}
  decontaminate: {ngram: 6}
  output: {write_rejects: false}
train:
  student: qwen-nano
  max_steps: 4
  lr: 0.003
  seq_len: 128
  eval_every: 2
  save_every: 2
rl:
  prompts: builtin:arith:1-2
  template: plain
  seed: 2
  max_steps: 2
  prompts_per_step: 2
  num_generations: 4
  max_new_tokens: 24
  temperature: 0.9
  rewards: {accuracy: 1, format: 0.5}
eval:
  prompts: builtin:arith:1-2
  num_prompts: 10
  seed: 1000
  template: plain
  samples: 2
  max_tokens: 16
`

// Each command a run records (run.json) is the stage: run again by a shell
// into another directory, it writes the same outputs.
func TestRunCommandsReplay(t *testing.T) {
	bin := buildDistill(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "recipe.yaml"), []byte(replayRecipe), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "run", "--config", "recipe.yaml")
	run.Dir = root
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("distill run: %v\n%s", err, out)
	}
	var rec struct {
		Order  []string
		Stages map[string]struct{ Command string }
	}
	b, err := os.ReadFile(filepath.Join(root, "run", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	replayed := map[string]bool{}
	for _, stage := range rec.Order {
		line := rec.Stages[stage].Command
		if !strings.HasPrefix(line, "distill ") {
			continue // heldout and base are no command
		}
		args := shellSplit(t, line)
		cmd := args[1]
		i := slices.Index(args, "--out")
		if i < 0 {
			t.Fatalf("%s: no --out in %s", stage, line)
		}
		was, now := filepath.Join(root, args[i+1]), filepath.Join(root, "replay", stage)
		args[0], args[i+1] = bin, now
		c := exec.Command(args[0], args[1:]...)
		c.Dir = root
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %s: %v\n%s", stage, line, err, out)
		}
		var same []string // files whose bytes match
		var records []string
		switch cmd {
		case "generate":
			records = globNames(t, was, "traces-*")
		case "filter":
			same = globNames(t, was, "*")
		case "train":
			same, records = []string{"model.safetensors"}, []string{"metrics.jsonl"}
		case "rl":
			same, records = []string{"model.safetensors"}, []string{"metrics.jsonl"}
		case "eval":
			records = []string{"results.json", "samples.jsonl"}
		default:
			t.Fatalf("%s: unexpected command %s", stage, line)
		}
		if got, want := globNames(t, now, "*"), globNames(t, was, "*"); !slices.Equal(got, want) {
			t.Errorf("%s: %s writes %v; the run wrote %v", stage, line, got, want)
		}
		for _, f := range same {
			if !bytes.Equal(readFile(t, filepath.Join(was, f)), readFile(t, filepath.Join(now, f))) {
				t.Errorf("%s: %s writes another %s than the run", stage, line, f)
			}
		}
		for _, f := range records {
			got, want := timeless(t, filepath.Join(now, f)), timeless(t, filepath.Join(was, f))
			if i := slices.IndexFunc(got, func(l string) bool { return !slices.Contains(want, l) }); i >= 0 || len(got) != len(want) {
				t.Errorf("%s: %s writes another %s than the run (%d records, the run %d); first new record:\n%s", stage, line, f, len(got), len(want), got[max(i, 0)])
			}
		}
		replayed[cmd] = true
		if (stage == "generate" || stage == "filter") && !strings.Contains(line, "--config ") {
			t.Errorf("%s: %s gives no config file for the options no flag sets", stage, line)
		}
	}
	if len(replayed) != 5 {
		t.Errorf("replayed %v; want generate, filter, train, rl and eval", replayed)
	}
}

// globNames are the names of dir's files (not directories) matching pattern.
func globNames(t *testing.T, dir, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s has no %s", dir, pattern)
	}
	return names
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// timeless are the records of a JSON or JSON Lines file without their
// clock readings, sorted (concurrent requests finish in any order).
func timeless(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.UseNumber()
	for dec.More() {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, k := range []string{"created_at", "latency_ms", "seconds", "elapsed_sec", "tokens_per_sec", "generate_sec", "train_sec"} {
			delete(v, k)
		}
		b, _ := json.Marshal(v)
		lines = append(lines, string(b))
	}
	if len(lines) == 0 {
		t.Fatalf("%s has no record", path)
	}
	slices.Sort(lines)
	return lines
}
