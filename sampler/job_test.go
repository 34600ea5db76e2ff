package sampler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// flaky wraps the real builtin teacher with failures chosen by fail, which
// sees the request and how often this exact request was sent before.
type flaky struct {
	teacher.Teacher
	fail  func(req teacher.Request, n int) error
	delay time.Duration
	mu    sync.Mutex
	sent  map[string]int
}

func (f *flaky) Complete(ctx context.Context, req teacher.Request) (teacher.Response, error) {
	key := fmt.Sprint(req.Messages[0].Content, *req.Seed)
	f.mu.Lock()
	if f.sent == nil {
		f.sent = map[string]int{}
	}
	n := f.sent[key]
	f.sent[key]++
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return teacher.Response{}, ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(req, n); err != nil {
			return teacher.Response{}, err
		}
	}
	return f.Teacher.Complete(ctx, req)
}

func builtinTeacher() teacher.Teacher { return teacher.NewBuiltin(teacher.DefaultBuiltinConfig()) }

func testConfig(t *testing.T, dir string, n, samples int) Config {
	t.Helper()
	p, err := OpenSuitePrompts("builtin:arith", n, 1)
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(7)
	return Config{
		Teacher: builtinTeacher(), TeacherName: "builtin", Model: "builtin",
		Prompts: p, Samples: samples, Params: record.Params{Temperature: 0.6, TopP: 0.95, MaxTokens: 4096, Seed: &seed},
		Concurrency: 4, Out: dir, Retry: RetryPolicy{MaxRetries: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
}

func run(t *testing.T, cfg Config) Summary {
	t.Helper()
	j, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readTraces reads every journal line in dir and counts each key.
func readTraces(t *testing.T, dir string) (map[string]int, []record.Trace) {
	t.Helper()
	files, err := journalFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var all []record.Trace
	for _, f := range files {
		path := filepath.Join(dir, f)
		err := eachLine(path, func(line []byte, n int) error {
			var tr record.Trace
			if err := json.Unmarshal(line, &tr); err != nil {
				return fmt.Errorf("%s:%d: %w", f, n, err)
			}
			counts[fmt.Sprintf("%s#%d", tr.PromptID, tr.Sample)]++
			all = append(all, tr)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return counts, all
}

func checkExactlyOnce(t *testing.T, dir string, want int) []record.Trace {
	t.Helper()
	counts, all := readTraces(t, dir)
	if len(counts) != want {
		t.Errorf("%d distinct (prompt, sample) pairs, want %d", len(counts), want)
	}
	for k, c := range counts {
		if c != 1 {
			t.Errorf("%s written %d times", k, c)
		}
	}
	return all
}

func TestRunWritesTraces(t *testing.T) {
	dir := t.TempDir()
	s := run(t, testConfig(t, dir, 40, 3))
	if s.Stopped != "complete" || s.Written != 120 || s.Succeeded != 120 || s.Total != 120 {
		t.Fatalf("summary %+v", s)
	}
	all := checkExactlyOnce(t, dir, 120)
	tr := all[0]
	if tr.Teacher != "builtin" || tr.Model != "builtin" || tr.Reference == "" || tr.Task != "builtin:arith" ||
		!strings.HasSuffix(tr.Prompt, r1Suffix) || tr.Reasoning == "" || tr.Params.Seed == nil || tr.Attempts != 1 || tr.CreatedAt.IsZero() {
		t.Fatalf("trace %+v", tr)
	}
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Counts.Written != 120 || m.Tokens.Completion == 0 || m.Stopped != "complete" {
		t.Fatalf("manifest %s", b)
	}
	// A second run finds nothing to do and writes no file.
	s = run(t, testConfig(t, dir, 40, 3))
	if s.DoneBefore != 120 || s.Written != 0 || s.Journal != "" {
		t.Fatalf("rerun %+v", s)
	}
	// More samples later add only the new ones.
	s = run(t, testConfig(t, dir, 40, 4))
	if s.Written != 40 {
		t.Fatalf("extension wrote %d", s.Written)
	}
	checkExactlyOnce(t, dir, 160)
}

// Cancelling mid-run keeps what is done; the rerun completes the rest and
// nothing is written twice.
func TestInterruptResume(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, 200, 2)
			cfg.Compress = compress
			cfg.FlushEvery = time.Millisecond
			cfg.Teacher = &flaky{Teacher: builtinTeacher(), delay: time.Millisecond}
			j, err := Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for j.Stats().Written < 50 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			s, err := j.Run(ctx)
			if !errors.Is(err, context.Canceled) || s.Stopped != "interrupted" || s.Written >= 400 {
				t.Fatalf("interrupted run: %v %+v", err, s)
			}
			first := s.Written
			s = run(t, cfg)
			if s.DoneBefore != first || s.DoneBefore+s.Written != 400 {
				t.Fatalf("resume: before %d (first run wrote %d), now %d", s.DoneBefore, first, s.Written)
			}
			checkExactlyOnce(t, dir, 400)
		})
	}
}

// A torn tail, as kill -9 leaves it, is cut and its records sampled again.
func TestTornTail(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, 150, 2)
			cfg.Compress = compress
			cfg.FlushEvery = time.Millisecond
			cfg.Concurrency = 2
			cfg.Teacher = &flaky{Teacher: builtinTeacher(), delay: 200 * time.Microsecond}
			s := run(t, cfg)
			path := filepath.Join(dir, s.Journal)
			st, _ := os.Stat(path)
			for _, cut := range []int64{st.Size() * 2 / 3, st.Size() / 3} {
				if err := os.Truncate(path, cut); err != nil {
					t.Fatal(err)
				}
				s = run(t, cfg)
				if s.Written == 0 {
					t.Fatalf("cut at %d: nothing resampled", cut)
				}
				checkExactlyOnce(t, dir, 300)
			}
		})
	}
}

func TestFingerprintMismatch(t *testing.T) {
	dir := t.TempDir()
	run(t, testConfig(t, dir, 5, 1))
	cfg := testConfig(t, dir, 5, 1)
	cfg.Model = "other"
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `model "builtin", not "other"`) {
		t.Fatalf("model change: %v", err)
	}
	cfg = testConfig(t, dir, 5, 1)
	cfg.Template, _ = ResolveTemplate("r1-zero", nil)
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrMismatch) {
		t.Fatalf("template change: %v", err)
	}
	cfg = testConfig(t, dir, 5, 1)
	cfg.TeacherName = "http://127.0.0.1:1/v1"
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrMismatch) {
		t.Fatalf("teacher change: %v", err)
	}
}

func TestBudget(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, 100, 1)
	cfg.Concurrency = 1
	cfg.Budget = Budget{MaxTotalTokens: 1000}
	s := run(t, cfg)
	if s.Stopped != "budget" || s.Written == 0 || s.Written >= 100 {
		t.Fatalf("budget run %+v", s)
	}
	if used := s.PromptTokens + s.CompletionTokens; used < 1000 || used > 1200 {
		t.Fatalf("used %d tokens for a budget of 1000", used)
	}
	// The budget counts what the directory holds: rerunning with the same
	// budget does nothing, a larger one resumes.
	s = run(t, cfg)
	if s.Stopped != "budget" || s.Written != 0 {
		t.Fatalf("same budget rerun %+v", s)
	}
	cfg.Budget = Budget{MaxCost: 1, PriceInput: 1, PriceOutput: 2} // far away
	s = run(t, cfg)
	if s.Stopped != "complete" || s.Cost <= 0 {
		t.Fatalf("resumed %+v", s)
	}
	checkExactlyOnce(t, dir, 100)
}

// Transient failures are retried; permanent ones are recorded and retried
// only by RetryFailed, leaving one record per pair.
func TestFailuresAndRetryFailed(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, 60, 2)
	cfg.Teacher = &flaky{Teacher: builtinTeacher(), fail: func(req teacher.Request, n int) error {
		switch {
		case *req.Seed%5 == 0:
			return &teacher.Error{Status: 400, Kind: "client", Message: "context too long"}
		case *req.Seed%3 == 0 && n == 0:
			return &teacher.Error{Status: 503, Kind: "server", Message: "overloaded", Retryable: true}
		case *req.Seed%7 == 0 && n < 2:
			return &teacher.Error{Status: 429, Kind: "rate_limit", Retryable: true, RetryAfter: time.Millisecond}
		}
		return nil
	}}
	s := run(t, cfg)
	if s.Failed == 0 || s.Retries == 0 || s.Failed+s.Succeeded != 120 || s.FailuresByKind["client"] != s.Failed {
		t.Fatalf("summary %+v", s)
	}
	_, all := readTraces(t, dir)
	for _, tr := range all {
		if (*tr.Params.Seed%5 == 0) != (tr.Error != "") {
			t.Fatalf("trace %s#%d error %q", tr.PromptID, tr.Sample, tr.Error)
		}
		if tr.Error == "" && *tr.Params.Seed%7 == 0 && tr.Attempts != 3 {
			t.Fatalf("rate limited trace took %d attempts", tr.Attempts)
		}
	}
	failed := s.Failed
	// A plain rerun leaves failures alone.
	if s := run(t, testConfig(t, dir, 60, 2)); s.Written != 0 {
		t.Fatalf("plain rerun wrote %d", s.Written)
	}
	cfg = testConfig(t, dir, 60, 2)
	cfg.RetryFailed = true
	s = run(t, cfg)
	if s.Written != failed || s.Failed != 0 {
		t.Fatalf("retry-failed wrote %d (want %d), failed %d", s.Written, failed, s.Failed)
	}
	for _, tr := range checkExactlyOnce(t, dir, 120) {
		if tr.Error != "" {
			t.Fatalf("failure left: %+v", tr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, supersededName)); err != nil {
		t.Fatal(err)
	}
}

func TestShardsShareDir(t *testing.T) {
	dir := t.TempDir()
	total := int64(0)
	for i := 0; i < 3; i++ {
		cfg := testConfig(t, dir, 90, 2)
		cfg.Shard = Shard{i, 3}
		s := run(t, cfg)
		if s.Written == 0 || s.Written == 180 {
			t.Fatalf("shard %d wrote %d", i, s.Written)
		}
		total += s.Written
		if _, err := os.Stat(filepath.Join(dir, manifestName(cfg.Shard))); err != nil {
			t.Fatal(err)
		}
	}
	if total != 180 {
		t.Fatalf("shards wrote %d", total)
	}
	checkExactlyOnce(t, dir, 180)
	// Unsharded, the whole set is seen as done.
	if s := run(t, testConfig(t, dir, 90, 2)); s.DoneBefore != 180 || s.Written != 0 {
		t.Fatalf("unsharded rerun %+v", s)
	}
}

func TestDuplicatePromptIDs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dup.jsonl")
	os.WriteFile(p, []byte(`{"id":"a","problem":"What is 1 + 2?"}`+"\n"+`{"id":"a","problem":"What is 2 + 2?"}`+"\n"), 0o644)
	cfg := testConfig(t, filepath.Join(dir, "out"), 1, 1)
	cfg.Prompts = &JSONLPrompts{Path: p}
	if _, err := Open(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `duplicate id "a"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSecondProcessRefused(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(context.Background(), testConfig(t, dir, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), testConfig(t, dir, 5, 1)); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v", err)
	}
	other := testConfig(t, dir, 5, 1)
	other.Shard = Shard{1, 2}
	o, err := Open(context.Background(), other)
	if err != nil {
		t.Fatalf("another shard: %v", err)
	}
	o.Close()
	if _, err := j.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, testConfig(t, dir, 5, 1)) // released by Run
}
