package distill

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/sampler"
	"github.com/distill-dev/distill/teacher"
	"github.com/klauspost/compress/zstd"
)

// genReadTraces counts every (prompt_id, sample) in the journal files
// matching pattern, failing on any line that is not a whole JSON record.
func genReadTraces(t *testing.T, pattern string) (map[string]int, []record.Trace) {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	counts := map[string]int{}
	var all []record.Trace
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = fh
		if strings.HasSuffix(f, ".zst") {
			dec, err := zstd.NewReader(fh)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			r = dec
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<24)
		for n := 1; sc.Scan(); n++ {
			var tr record.Trace
			if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
				t.Fatalf("%s:%d: %v", f, n, err)
			}
			counts[fmt.Sprintf("%s#%d", tr.PromptID, tr.Sample)]++
			all = append(all, tr)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
	return counts, all
}

func genExactlyOnce(t *testing.T, dir string, want int) []record.Trace {
	t.Helper()
	counts, all := genReadTraces(t, filepath.Join(dir, "traces-*"))
	if len(counts) != want {
		t.Errorf("%d distinct pairs, want %d", len(counts), want)
	}
	for k, c := range counts {
		if c != 1 {
			t.Errorf("%s present %d times", k, c)
		}
	}
	return all
}

// The real binary, killed with SIGKILL mid-run (twice), then run again with
// the same command, ends with every pair exactly once and no torn line.
func TestGenerateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildDistill(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			// --rpm paces a whole run to ~4 s (200 traces/s after a burst of
			// 200), so that the kills land mid-run even on a loaded machine.
			args := []string{"generate", "--prompts", "builtin:arith", "--num-prompts", "500", "--samples", "2",
				"--rpm", "12000", "--concurrency", "8", "--out", dir, "--quiet"}
			if compress {
				args = append(args, "--compress")
			}
			for kill := 0; kill < 2; kill++ {
				cmd := exec.Command(bin, args...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Kill once this run has written something of its own.
				before := genJournalBytes(dir)
				deadline := time.Now().Add(20 * time.Second)
				for genJournalBytes(dir) <= before && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(time.Duration(50+kill*130) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
					t.Fatalf("run %d finished before it was killed; slow it down", kill)
				}
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "done 1000/1000") {
				t.Fatalf("rerun output:\n%s", out)
			}
			genExactlyOnce(t, dir, 1000)
		})
	}
}

func genJournalBytes(dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, "traces-*"))
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// Flags override the config file, which overrides the defaults; a typo in
// the config is an error naming the key.
func TestGenerateConfigAndFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gen.yaml")
	os.WriteFile(cfg, []byte("num_prompts: 7\nsamples: 3\ntemplate: mine\ntemplates:\n  mine: \"Solve: {problem}\"\nout: "+filepath.Join(dir, "from-config")+"\n"), 0o644)
	out := filepath.Join(dir, "from-flag")
	if err := NewApp().Run([]string{"distill", "generate", "--config", cfg, "--samples", "2", "--out", out, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	all := genExactlyOnce(t, out, 14) // 7 prompts from the config × 2 samples from the flag
	if !strings.HasPrefix(all[0].Prompt, "Solve: What is") {
		t.Fatalf("template from config not used: %q", all[0].Prompt)
	}
	os.WriteFile(cfg, []byte("num_promts: 7\n"), 0o644)
	err := NewApp().Run([]string{"distill", "generate", "--config", cfg, "--out", out})
	if err == nil || !strings.Contains(err.Error(), "num_promts") {
		t.Fatalf("typo accepted: %v", err)
	}
	for _, f := range []string{"../configs/generate-builtin.yaml", "../configs/generate-deepseek-r1.yaml"} {
		o := DefaultGenerateOptions()
		if err := loadConfig(f, &o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateRefusesMixing(t *testing.T) {
	out := t.TempDir()
	base := []string{"distill", "generate", "--num-prompts", "3", "--out", out, "--quiet"}
	if err := NewApp().Run(base); err != nil {
		t.Fatal(err)
	}
	err := NewApp().Run(append(base, "--template", "r1-zero"))
	if err == nil || !strings.Contains(err.Error(), "use another --out") {
		t.Fatalf("mixing templates: %v", err)
	}
	err = NewApp().Run(append(base, "--teacher", "local:"+filepath.Join(out, "no-such-checkpoint")))
	if err == nil || !strings.Contains(err.Error(), "--teacher local:") {
		t.Fatalf("local teacher: %v", err)
	}
}

// Against an HTTP teacher the key is sent but never printed or stored.
func TestGenerateHTTPKeyNeverStored(t *testing.T) {
	const key = "sk-test-0123456789abcdef"
	var mu sync.Mutex
	var auth []string
	h := teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("DISTILL_API_KEY", "")
	t.Setenv("OPENAI_API_KEY", key) // the fallback
	out := t.TempDir()
	opts := DefaultGenerateOptions()
	opts.Teacher, opts.Model, opts.Stream = srv.URL+"/v1", "builtin", true
	opts.NumPrompts, opts.Samples, opts.Out, opts.Quiet = 20, 2, out, true
	if err := runGenerate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	genExactlyOnce(t, out, 40)
	if len(auth) != 40 || auth[0] != "Bearer "+key {
		t.Fatalf("%d requests, first Authorization %q", len(auth), auth[0])
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), key) || strings.Contains(string(b), "0123456789abcdef") {
			t.Fatalf("%s holds the key", f)
		}
	}
	opts.Model = ""
	if err := runGenerate(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "--model is required") {
		t.Fatalf("no model: %v", err)
	}
}

func TestProgressLogLines(t *testing.T) {
	var b strings.Builder
	p := newProgressTo(&b, false, 10, "generate", time.Millisecond)
	p.Add(3)
	time.Sleep(2 * time.Millisecond)
	p.SetStatus("5 req/s")
	p.Add(7)
	p.Finish()
	p.Finish()
	out := b.String()
	if !strings.Contains(out, "generate: 10/10 (100.0%)") || !strings.Contains(out, "5 req/s") || strings.Count(out, "10/10") != 1 {
		t.Fatalf("progress output:\n%s", out)
	}
}

// genManifest reads a run directory's manifest.
func genManifest(t *testing.T, dir string) sampler.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m sampler.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGenerateUntilCorrect runs the command with filter's verifiers wired
// in: every prompt stops at k verified samples or at --samples, and the
// manifest's savings are the samples the rule left out.
func TestGenerateUntilCorrect(t *testing.T) {
	for _, tt := range []struct {
		name, builtin string
		k, samples    int
	}{
		{"default teacher", "", 1, 4},
		{"weak teacher", "builtin:\n  wrong_rate: 0.5\n  truncate_rate: 0.1\n", 2, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "gen.yaml")
			os.WriteFile(cfg, []byte(tt.builtin+"prompts: builtin:arith:all\nnum_prompts: 150\n"), 0o644)
			out := filepath.Join(dir, "run")
			err := NewApp().Run([]string{"distill", "generate", "--config", cfg, "--until-correct", fmt.Sprint(tt.k),
				"--samples", fmt.Sprint(tt.samples), "--out", out, "--quiet"})
			if err != nil {
				t.Fatal(err)
			}
			m := genManifest(t, out)
			all := genExactlyOnce(t, out, int(m.Counts.Written))
			by := map[string][]record.Trace{}
			for _, tr := range all {
				by[tr.PromptID] = append(by[tr.PromptID], tr)
			}
			var saved, enough int64
			for id, trs := range by {
				correct := 0
				seen := make([]bool, tt.samples)
				for _, tr := range trs {
					seen[tr.Sample] = true
					if dataset.Correct(tr) {
						correct++
					}
				}
				for s, ok := range seen {
					if ok != (s < len(trs)) {
						t.Fatalf("%s: samples %v are not 0..%d", id, seen, len(trs)-1)
					}
				}
				last := trs[0]
				for _, tr := range trs {
					if tr.Sample > last.Sample {
						last = tr
					}
				}
				// At k correct, the last sample asked for is the k-th.
				if correct > tt.k || (correct == tt.k && !dataset.Correct(last)) || (correct < tt.k && len(trs) != tt.samples) {
					t.Fatalf("%s: %d samples, %d correct", id, len(trs), correct)
				}
				saved += int64(tt.samples - len(trs))
				if correct == tt.k {
					enough++
				}
			}
			a := m.Adaptive
			if len(by) != 150 || a == nil || a.UntilCorrect != tt.k || a.SamplesSaved != saved || a.PromptsEnough != enough ||
				a.PromptsEnough+a.PromptsExhausted != 150 || m.Counts.Remaining != 0 || saved == 0 || a.TokensSaved <= 0 {
				t.Fatalf("%d prompts; adaptive %+v remaining %d; want %d saved, %d enough", len(by), a, m.Counts.Remaining, saved, enough)
			}
		})
	}
}

// genServe starts `distill serve` in-process on a free port until the test
// ends and returns its base URL.
func genServe(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", Builtin: teacher.DefaultBuiltinConfig(),
			Out: io.Discard, Listening: func(u string) { urls <- u }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case u := <-urls:
		return u
	case err := <-done:
		t.Fatalf("runServe: %v", err)
	}
	return ""
}

// TestGenerateSamplesPerRequest asks `distill serve` over HTTP for n
// samples a request: every sample once, and the prompt billed once a
// request, so prompt tokens and their cost fall by n.
func TestGenerateSamplesPerRequest(t *testing.T) {
	base := genServe(t)
	const prompts, samples = 30, 4
	run := func(n int) sampler.Manifest {
		opts := DefaultGenerateOptions()
		opts.Teacher, opts.Model, opts.Out, opts.Quiet = base, "builtin", t.TempDir(), true
		opts.NumPrompts, opts.Samples, opts.SamplesPerRequest = prompts, samples, n
		opts.PriceInput, opts.PriceOutput = 1, 2
		if err := runGenerate(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		genExactlyOnce(t, opts.Out, prompts*samples)
		return genManifest(t, opts.Out)
	}
	one, four := run(1), run(samples)
	if one.Counts.Requests != prompts*samples || four.Counts.Requests != prompts || four.PerRequest != samples {
		t.Fatalf("requests: %d with n=1, %d with n=%d", one.Counts.Requests, four.Counts.Requests, samples)
	}
	if one.Tokens.Prompt != samples*four.Tokens.Prompt || four.Tokens.Prompt == 0 {
		t.Fatalf("prompt tokens: %d with n=1, %d with n=%d", one.Tokens.Prompt, four.Tokens.Prompt, samples)
	}
	wantCost := float64(four.Tokens.Prompt+2*four.Tokens.Completion) / 1e6
	if d := four.Cost - wantCost; d > 1e-12 || d < -1e-12 || four.Cost >= one.Cost {
		t.Fatalf("cost %v with n=%d (want %v), %v with n=1", four.Cost, samples, wantCost, one.Cost)
	}
}

func TestGenerateSamplingFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--samples", "4", "--until-correct", "5"}, "--until-correct 5: want 0 (off) to --samples (4)"},
		{[]string{"--until-correct", "-1"}, "--until-correct -1"},
		{[]string{"--samples-per-request", "0"}, "--samples-per-request 0: want 1 to 64"},
		{[]string{"--samples-per-request", "65"}, "--samples-per-request 65: want 1 to 64"},
		{[]string{"--samples-per-request", "2", "--stream", "--teacher", "http://127.0.0.1:1/v1", "--model", "m"}, "--samples-per-request 2 with --stream"},
		{[]string{"--samples-per-request", "2"}, "--samples-per-request 2 with --teacher builtin"},
	} {
		args := append([]string{"distill", "generate", "--num-prompts", "2", "--out", t.TempDir(), "--quiet"}, tt.args...)
		if err := NewApp().Run(args); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.msg)
		}
	}
}
