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

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
	"github.com/klauspost/compress/zstd"
)

// genReadTraces counts every (prompt_id, sample) in dir's journal files,
// failing on any line that is not a whole JSON record.
func genReadTraces(t *testing.T, dir string) (map[string]int, []record.Trace) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "traces-*"))
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
	counts, all := genReadTraces(t, dir)
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
