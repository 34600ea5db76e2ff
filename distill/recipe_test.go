package distill

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/train"
)

// buildDistill builds the distill binary for tests that run it as a user
// does. Without default.pgo: the profile changes no behaviour, and building
// every package once more with it would lengthen a cold test run.
func buildDistill(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "distill")
	if out, err := exec.Command("go", "build", "-pgo=off", "-tags", "openblas", "-o", bin, "github.com/distill-dev/distill").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The R1 Qwen recipe as a user runs it, shrunk to seconds per stage: the
// teacher is `distill serve` over HTTP with a key required, the student an
// HF checkpoint with Qwen2.5's real tokenizer and chat template, trained by
// TRL; every stage runs, eval-teacher included. The run is killed
// (SIGKILL) at each stage boundary and started again with the same
// command; it ends with the results of a run never interrupted. The key and
// the URL's credentials reach no file of either run.
func TestRecipeR1QwenAsAUser(t *testing.T) {
	bin := buildDistill(t)
	t.Setenv("DISTILL_PYTHON", repotest.Python(t))
	const key, urlSecret = "sk-test-r1-recipe-7f3a", "url-password-91c2"
	t.Setenv("R1_TEST_KEY", key)

	serve := exec.Command(bin, "serve", "--teacher", "builtin", "--addr", "127.0.0.1:0", "--api-key-env", "R1_TEST_KEY")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Signal(os.Interrupt); serve.Wait() })
	base := ""
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		if m := regexp.MustCompile(`(http://\S+/v1)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatal("distill serve printed no URL")
	}
	go io.Copy(io.Discard, stdout)
	// Credentials in the URL, as some gateways take them: the records must
	// not keep them.
	teacherURL := strings.Replace(base, "http://", "http://user:"+urlSecret+"@", 1) + "?api_key=" + urlSecret

	// The recipe's tree as a clone has it: configs/ beside testdata/ and
	// the base checkpoint in checkpoints/, so its relative paths resolve
	// against the recipe, from another working directory.
	root := t.TempDir()
	if err := os.Symlink(repotest.Path(t, "testdata"), filepath.Join(root, "testdata")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(studenttest.Real(t, "qwen2", 1), filepath.Join(root, "checkpoints", "Qwen2.5-Math-7B")); err != nil {
		t.Fatal(err)
	}
	writeChats(t, filepath.Join(root, "data", "chat"), 30) // the recipe's extra_data
	recipe := shrinkRecipe(t, repotest.Path(t, "configs/r1-qwen.yaml"), map[string]map[string]any{
		"generate": {"teacher": teacherURL, "model": "builtin", "api_key_env": "R1_TEST_KEY", "prompts": "builtin:arith:1-2",
			"num_prompts": 24, "samples": 2, "max_tokens": 256, "rpm": 0, "max_cost": 0,
			// One request at a time: the journal's order, and with it which of
			// two identical traces dedup keeps, is then the same in both runs.
			"concurrency": 1},
		"filter": {"length": map[string]any{"max_tokens": 256}},
		"train": {"gpus_per_node": 0, "epochs": 1, "max_steps": 2, "warmup_steps": 0, "micro_batch": 2, "grad_accum": 1,
			"seq_len": 256, "save_every": 1, "gradient_checkpointing": false},
		"rl":   {"num_prompts": 8, "prompts_per_step": 2, "num_generations": 2, "max_new_tokens": 12, "max_steps": 2, "micro_batch": 4},
		"eval": {"prompts": "builtin:arith:1-2", "num_prompts": 4, "samples": 2, "max_tokens": 12, "concurrency": 4},
	})
	cfgPath := filepath.Join(root, "configs", "r1-qwen.yaml")
	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, recipe, 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir() // the user's working directory: neither the clone nor the recipe's
	run := func(out string, extra ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"run", "--config", cfgPath, "--out", out}, extra...)...)
		cmd.Dir = work
		return cmd
	}

	// The check before money is spent passes; without the key it fails.
	if out, err := run(filepath.Join(work, "unused"), "--check").CombinedOutput(); err != nil {
		t.Fatalf("run --check: %v\n%s", err, out)
	}
	check := run(filepath.Join(work, "unused"), "--check")
	check.Env = append(os.Environ(), "R1_TEST_KEY=")
	if out, err := check.CombinedOutput(); err == nil || !strings.Contains(string(out), "FAIL  teacher") {
		t.Errorf("run --check without the key: err %v, want a failed teacher line:\n%s", err, out)
	}

	// Killed at each stage boundary: each start finishes one stage and is
	// killed as the next begins.
	killed := filepath.Join(work, "killed")
	stageLine := regexp.MustCompile(`^run: \[(\d+)/(\d+)\] (\S+): (.*)$`)
	for launch := 0; ; launch++ {
		if launch > 20 {
			t.Fatal("the run did not finish in 20 starts")
		}
		cmd := run(killed)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started, killedAt := 0, ""
		var log bytes.Buffer
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			m := stageLine.FindStringSubmatch(sc.Text())
			if m == nil || strings.HasPrefix(m[4], "done in an earlier run") {
				continue
			}
			if started++; started == 2 {
				killedAt = m[3]
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				break
			}
		}
		go io.Copy(io.Discard, stderr)
		err = cmd.Wait()
		if killedAt == "" {
			if err != nil {
				t.Fatalf("start %d: %v\n%s", launch, err, log.String())
			}
			t.Logf("finished after %d starts", launch+1)
			break
		}
		t.Logf("start %d: killed as %s began", launch, killedAt)
	}

	straight := filepath.Join(work, "straight")
	if out, err := run(straight).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	// Same results: every stage's output, byte for byte where it is
	// deterministic (timings and paths aside).
	for _, f := range []string{
		"heldout.jsonl", "raw/manifest.json", "data/stats.json",
		"eval/teacher/results.json", "eval/base/results.json", "eval/sft/results.json", "eval/rl/results.json", "eval/rl-only/results.json",
		"eval/teacher/samples.jsonl", "eval/sft/samples.jsonl", "eval/rl/samples.jsonl",
		"sft/model.safetensors", "rl/model.safetensors",
	} {
		a, b := stableDigest(t, filepath.Join(killed, f)), stableDigest(t, filepath.Join(straight, f))
		if a != b {
			t.Errorf("%s differs between the killed and the uninterrupted run", f)
		}
	}
	for _, dir := range []string{killed, straight} {
		filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, secret := range []string{key, urlSecret} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds a secret", path)
				}
			}
			return nil
		})
	}
	// SFT trained on the run's traces and the chats.
	var mix train.Plan
	if b, err := os.ReadFile(filepath.Join(killed, "sft", "data_mixture.json")); err != nil || json.Unmarshal(b, &mix) != nil {
		t.Fatalf("sft/data_mixture.json: %v", err)
	}
	if len(mix.Sources) != 2 || mix.Sources[0].Kept == 0 || mix.Sources[1].Kept != 30 {
		t.Errorf("sft/data_mixture.json: %+v, want the run's traces and the 30 chats", mix.Sources)
	}
	md, err := os.ReadFile(filepath.Join(killed, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"teacher (http://127.0.0.1", "student after SFT", "student after SFT + GRPO"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}

// shrinkRecipe reads a recipe and overrides keys of its sections, keeping
// the rest (paths included) as the recipe has it; every stage runs.
func shrinkRecipe(t *testing.T, path string, set map[string]map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for section, kv := range set {
		s, ok := r[section].(map[string]any)
		if !ok {
			t.Fatalf("%s has no %s section", path, section)
		}
		for k, v := range kv {
			s[k] = v
		}
	}
	delete(r, "skip")
	out, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stableDigest hashes a run's file without what legitimately differs
// between two runs: timings, dates and the run directory's own path.
func stableDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".json") {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ = json.Marshal(dropVolatile(v))
	}
	b = regexp.MustCompile(`/[^"\s]*/(killed|straight)/`).ReplaceAll(b, []byte("RUN/"))
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

var volatileKey = regexp.MustCompile(`(?i)seconds|time|started|ended|finished|elapsed|duration|per_sec|latency|_s$|date|created|updated|bytes_in`)

func dropVolatile(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if volatileKey.MatchString(k) {
				delete(v, k)
				continue
			}
			v[k] = dropVolatile(x)
		}
	case []any:
		for i := range v {
			v[i] = dropVolatile(v[i])
		}
	}
	return v
}
