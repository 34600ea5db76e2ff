package sampler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// Config is everything a generation job needs. Zero values get the
// defaults documented on each field.
type Config struct {
	Teacher     teacher.Teacher
	TeacherName string // recorded in traces and the fingerprint: "builtin", a base URL, "local:DIR"
	Model       string

	Prompts  Prompts
	Template Template
	Samples  int           // per prompt; default 1
	Params   record.Params // temperature, top_p, max_tokens; Seed, if set, seeds every request (derived per prompt and sample)

	Concurrency int     // workers; default 8
	RPM, TPM    float64 // pool-wide limits; 0 = none
	Retry       RetryPolicy
	RetryFailed bool // sample again the pairs whose record holds an error
	Budget      Budget
	Shard       Shard

	Out        string
	Compress   bool          // write .jsonl.zst
	FlushEvery time.Duration // how long a finished trace may wait in memory; default 200ms
	SyncEvery  time.Duration // fsync period; default 2s

	// Settings is stored as "config" in the manifest. It must hold no secrets.
	Settings any
	// Logf receives notes about recovery and resume; nil discards them.
	Logf func(format string, args ...any)
}

// Job is one opened run directory: recovered, scanned and planned.
type Job struct {
	cfg     Config
	done    *keySet
	before  scanTotals
	total   int64
	c       counters
	limiter *Limiter
	start   atomic.Int64 // unix nanoseconds when Run began; read by Stats from other goroutines
	fp      fingerprint

	unlock func()

	estMu     sync.Mutex
	estTokens float64 // running mean of completion tokens, for the tpm estimate
}

type scanTotals struct {
	records, failed, retried        int64
	promptTokens, completionTokens  int64
	reasoningTokens, truncatedBytes int64
}

// Open prepares a run: it checks the directory's fingerprint, cuts torn
// tails left by a crash, reads which (prompt_id, sample) pairs are done,
// and counts the plan.
func Open(ctx context.Context, cfg Config) (*Job, error) {
	if cfg.Teacher == nil || cfg.Prompts == nil {
		return nil, errors.New("sampler: a teacher and prompts are required")
	}
	if cfg.Out == "" {
		return nil, errors.New("sampler: no output directory")
	}
	if cfg.Template.Text == "" {
		t, err := ResolveTemplate("r1", nil)
		if err != nil {
			return nil, err
		}
		cfg.Template = t
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 1
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Retry == (RetryPolicy{}) {
		cfg.Retry = DefaultRetry
	}
	if cfg.Retry.Base <= 0 {
		cfg.Retry.Base = DefaultRetry.Base
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = DefaultRetry.Max
	}
	if cfg.Shard.Count == 0 {
		cfg.Shard = All
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 200 * time.Millisecond
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 2 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	j := &Job{cfg: cfg, done: newKeySet(), limiter: NewLimiter(cfg.RPM, cfg.TPM)}
	j.fp = newFingerprint(cfg.TeacherName, cfg.Model, cfg.Template)
	unlock, err := lockShard(cfg.Out, cfg.Shard)
	if err != nil {
		return nil, err
	}
	j.unlock = unlock
	err = checkFingerprint(cfg.Out, j.fp)
	if err == nil {
		err = j.recover()
	}
	if err == nil {
		err = j.scan()
	}
	if err == nil {
		err = j.plan(ctx)
	}
	if err != nil {
		unlock()
		return nil, err
	}
	return j, nil
}

// Close releases the run directory without running; Run releases it itself.
func (j *Job) Close() {
	if j.unlock != nil {
		j.unlock()
		j.unlock = nil
	}
}

// recover cuts torn tails of this shard's files (only ours: another shard
// may be writing its own right now) and, for --retry-failed, takes failed
// records out so they are sampled again.
func (j *Job) recover() error {
	prefix := journalPrefix(j.cfg.Shard)
	ents, err := os.ReadDir(j.cfg.Out)
	if err != nil {
		return fmt.Errorf("sampler: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if stale, _ := filepath.Match(atomicfile.TempPattern(prefix+"*"), name); stale {
			os.Remove(filepath.Join(j.cfg.Out, name)) // an interrupted rewrite; the original is intact
		}
	}
	files, err := journalFiles(j.cfg.Out)
	if err != nil {
		return fmt.Errorf("sampler: %w", err)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, prefix) || (j.cfg.Shard.Count <= 1 && strings.HasPrefix(f, "traces-s")) {
			continue
		}
		if st, err := os.Stat(filepath.Join(j.cfg.Out, f)); err == nil && st.Size() == 0 {
			os.Remove(filepath.Join(j.cfg.Out, f)) // created, then killed before the first batch
			continue
		}
		cut, err := recoverTail(filepath.Join(j.cfg.Out, f))
		if err != nil {
			return fmt.Errorf("sampler: recovering %s: %w", f, err)
		}
		if cut > 0 {
			j.before.truncatedBytes += cut
			j.cfg.Logf("recovered %s: cut a torn last record (%d bytes); it will be sampled again", f, cut)
		}
		if j.cfg.RetryFailed {
			n, err := dropFailed(j.cfg.Out, f)
			if err != nil {
				return fmt.Errorf("sampler: %w", err)
			}
			if n > 0 {
				j.before.retried += int64(n)
				j.cfg.Logf("retry-failed: %d failed records of %s will be sampled again", n, f)
			}
		}
	}
	return nil
}

// scan reads every journal file in DIR (all shards' files, so a rerun with
// another sharding still sees what is done) and keeps this shard's keys.
func (j *Job) scan() error {
	files, err := journalFiles(j.cfg.Out)
	if err != nil {
		return fmt.Errorf("sampler: %w", err)
	}
	for _, f := range files {
		path := filepath.Join(j.cfg.Out, f)
		err := eachLine(path, func(line []byte, n int) error {
			rec, err := parseScan(path, line, n)
			if err != nil {
				return err
			}
			if !j.cfg.Shard.Contains(rec.PromptID) {
				return nil
			}
			j.done.add(rec.PromptID, rec.Sample)
			j.before.records++
			if rec.Error != "" {
				j.before.failed++
			}
			j.before.add(rec.Usage)
			return nil
		})
		if err != nil {
			return fmt.Errorf("sampler: scanning: %w", err)
		}
	}
	if r := j.done.freeze(); len(r) > 0 {
		j.cfg.Logf("warning: %d (prompt_id, sample) pairs appear more than once in %s", len(r), j.cfg.Out)
	}
	// Failures taken out by --retry-failed were still billed.
	path := filepath.Join(j.cfg.Out, supersededName)
	if _, err := os.Stat(path); err == nil {
		err := eachLine(path, func(line []byte, n int) error {
			rec, err := parseScan(path, line, n)
			if err == nil && j.cfg.Shard.Contains(rec.PromptID) {
				j.before.add(rec.Usage)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sampler: scanning: %w", err)
		}
	}
	return nil
}

func (t *scanTotals) add(u record.Usage) {
	t.promptTokens += int64(u.PromptTokens)
	t.completionTokens += int64(u.CompletionTokens)
	t.reasoningTokens += int64(u.ReasoningTokens)
}

// plan streams the prompts once to count this shard's pairs and to refuse
// duplicate ids, which would make two prompts share their traces.
func (j *Job) plan(ctx context.Context) error {
	ids := newKeySet()
	// Generated suites number their prompts: nothing to check, nothing to hold.
	u, ok := j.cfg.Prompts.(interface{ UniqueIDs() bool })
	check := !ok || !u.UniqueIDs()
	var prompts, done int64
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		if check {
			ids.add(p.ID, 0)
		}
		prompts++
		for s := 0; s < j.cfg.Samples; s++ {
			if j.done.has(p.ID, s) {
				done++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if r := ids.freeze(); len(r) > 0 {
		return j.findDuplicate(ctx, ids.seed, r)
	}
	j.total = prompts * int64(j.cfg.Samples)
	j.before.records = done // only pairs of the current plan count as done
	return nil
}

// findDuplicate names the first repeated id; it runs only when there is one.
func (j *Job) findDuplicate(ctx context.Context, seed maphash.Seed, repeated []uint64) error {
	ks := &keySet{seed: seed}
	seen := map[uint64]bool{}
	for _, h := range repeated {
		seen[h] = false
	}
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		h := ks.hash(p.ID, 0)
		if again, ok := seen[h]; ok {
			if again {
				return fmt.Errorf("prompts %s: duplicate id %q (set --id-field to a unique column)", j.cfg.Prompts.Name(), p.ID)
			}
			seen[h] = true
		}
		return nil
	})
	if err == nil {
		err = fmt.Errorf("prompts %s: duplicate ids", j.cfg.Prompts.Name())
	}
	return err
}

// Stats returns a snapshot; safe to call while Run works.
func (j *Job) Stats() Stats {
	s := Stats{
		Total:                  j.total,
		DoneBefore:             j.before.records,
		Written:                j.c.written.Load(),
		Succeeded:              j.c.succeeded.Load(),
		Failed:                 j.c.failed.Load(),
		Requests:               j.c.requests.Load(),
		Retries:                j.c.retries.Load(),
		InFlight:               j.c.inFlight.Load(),
		PromptTokens:           j.c.promptTok.Load(),
		CompletionTokens:       j.c.complTok.Load(),
		ReasoningTokens:        j.c.reasonTok.Load(),
		PromptTokensBefore:     j.before.promptTokens,
		CompletionTokensBefore: j.before.completionTokens,
	}
	s.Cost = j.cfg.Budget.Cost(s.PromptTokens+s.PromptTokensBefore, s.CompletionTokens+s.CompletionTokensBefore)
	if t := j.start.Load(); t != 0 {
		s.Elapsed = time.Since(time.Unix(0, t))
	}
	return s
}

// budgetReached is checked before each dispatch; requests in flight
// finish, so a run may overshoot by at most Concurrency requests.
func (j *Job) budgetReached() bool {
	b := j.cfg.Budget
	in := j.before.promptTokens + j.c.promptTok.Load()
	out := j.before.completionTokens + j.c.complTok.Load()
	if b.MaxTotalTokens > 0 && in+out >= b.MaxTotalTokens {
		return true
	}
	return b.MaxCost > 0 && b.Cost(in, out) >= b.MaxCost
}

// requestSeed derives a seed per (prompt, sample), so samples differ from
// each other and a rerun asks for the same thing.
func requestSeed(base int64, id string, sample int) int64 {
	h := fnv.New64a()
	h.Write(strconv.AppendInt(nil, base, 10))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(sample), 10))
	return int64(h.Sum64() >> 1)
}

// estimate is the token cost debited from the tpm bucket before a request:
// the prompt at ~4 characters a token plus the mean completion so far
// (max_tokens until something came back).
func (j *Job) estimate(prompt string) int {
	j.estMu.Lock()
	defer j.estMu.Unlock()
	out := j.estTokens
	if out == 0 {
		out = float64(j.cfg.Params.MaxTokens)
		if out == 0 {
			out = 1024
		}
	}
	return len(prompt)/4 + int(out)
}

func (j *Job) observe(completion int) {
	j.estMu.Lock()
	if j.estTokens == 0 {
		j.estTokens = float64(completion)
	} else {
		j.estTokens += (float64(completion) - j.estTokens) / 64
	}
	j.estMu.Unlock()
}

type work struct {
	p      record.Prompt
	sample int
}

// errStop ends the dispatch loop when the budget is spent.
var errStop = errors.New("budget reached")

// Run samples every pair of the plan that is not done yet. It returns when
// the plan is done, the budget is spent (Summary.Stopped "budget", nil
// error), or ctx is cancelled (the context's error): in every case all
// finished traces are on disk and the manifest is written.
func (j *Job) Run(ctx context.Context) (Summary, error) {
	defer j.Close()
	started := time.Now()
	j.start.Store(started.UnixNano())
	w := newJournalWriter(j.cfg)
	go w.run()

	jobs := make(chan work, j.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < j.cfg.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := newLineEncoder()
			for wk := range jobs {
				if line, ok := j.sample(ctx, wk, enc); ok {
					j.c.written.Add(1)
					w.in <- line
				}
			}
		}()
	}

	stopped := "complete"
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		for s := 0; s < j.cfg.Samples; s++ {
			if j.done.has(p.ID, s) {
				continue
			}
			if j.budgetReached() {
				return errStop
			}
			select {
			case jobs <- work{p, s}:
			case <-ctx.Done():
				return ctx.Err()
			case <-w.failed:
				return w.err
			}
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	close(w.in)
	<-w.closed

	switch {
	case errors.Is(err, errStop):
		stopped, err = "budget", nil
	case ctx.Err() != nil:
		stopped, err = "interrupted", ctx.Err()
	case err != nil:
		stopped = "error" // a prompt file that changed under us, say
	}
	if w.err != nil {
		stopped, err = "error", fmt.Errorf("sampler: writing traces: %w", w.err)
	}
	sum := j.summary(stopped, w.name, started)
	if merr := j.writeManifest(sum); merr != nil && err == nil {
		err = merr
	}
	return sum, err
}

// sample runs one (prompt, sample) pair to a record, with retries. ok is
// false when the context ended the work first: nothing is written and the
// pair stays to do.
func (j *Job) sample(ctx context.Context, wk work, enc *lineEncoder) (line []byte, ok bool) {
	user := j.cfg.Template.Render(wk.p.Problem)
	params := j.cfg.Params
	if params.Seed != nil {
		s := requestSeed(*params.Seed, wk.p.ID, wk.sample)
		params.Seed = &s
	}
	req := teacher.Request{
		Model:       j.cfg.Model,
		Messages:    []teacher.Message{{Role: "user", Content: user}},
		Temperature: params.Temperature,
		TopP:        params.TopP,
		MaxTokens:   params.MaxTokens,
		Seed:        params.Seed,
	}
	tr := record.Trace{
		PromptID: wk.p.ID, Sample: wk.sample, Prompt: user, Reference: wk.p.Answer,
		Task: wk.p.Task, Source: wk.p.Source, Teacher: j.cfg.TeacherName, Model: j.cfg.Model, Params: params,
	}
	est := j.estimate(user)
	for attempt := 1; ; attempt++ {
		if err := j.limiter.Wait(ctx, est); err != nil {
			return nil, false
		}
		j.c.requests.Add(1)
		j.c.inFlight.Add(1)
		t0 := time.Now()
		resp, err := j.cfg.Teacher.Complete(ctx, req)
		lat := time.Since(t0).Milliseconds()
		j.c.inFlight.Add(-1)
		if err != nil && ctx.Err() != nil {
			return nil, false // interrupted, not failed
		}
		var u teacher.Usage
		var te *teacher.Error
		if err == nil {
			u = resp.Usage
		} else if errors.As(err, &te) {
			u = te.Usage
		}
		j.c.promptTok.Add(int64(u.PromptTokens))
		j.c.complTok.Add(int64(u.CompletionTokens))
		j.c.reasonTok.Add(int64(u.ReasoningTokens))
		j.limiter.Adjust(u.PromptTokens + u.CompletionTokens - est)
		tr.Attempts = attempt
		tr.LatencyMS = lat
		tr.Usage = record.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, ReasoningTokens: u.ReasoningTokens}
		if err == nil {
			j.observe(u.CompletionTokens)
			j.c.addLatency(lat)
			j.c.succeeded.Add(1)
			tr.Reasoning, tr.Content, tr.FinishReason = resp.Reasoning, resp.Content, resp.FinishReason
			if tr.Model == "" {
				tr.Model = resp.Model
			}
			break
		}
		d := j.cfg.Retry.decide(err, attempt, nil)
		if !d.retry {
			j.c.failed.Add(1)
			j.c.fail(d.kind)
			tr.Error = err.Error()
			break
		}
		j.c.retries.Add(1)
		if d.poolPause {
			j.limiter.Pause(d.wait)
			continue // Wait above sits out the pause with the whole pool
		}
		t := time.NewTimer(d.wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false
		case <-t.C:
		}
	}
	tr.CreatedAt = time.Now().UTC()
	b, err := enc.encode(&tr)
	if err != nil {
		// A trace that cannot be encoded is a bug, not a teacher failure.
		panic(fmt.Sprintf("sampler: encoding trace %s/%d: %v", tr.PromptID, tr.Sample, err))
	}
	return b, true
}

// lineEncoder renders a trace as one JSON line, keeping <think> tags
// readable (encoding/json would escape < and > by default).
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newLineEncoder() *lineEncoder {
	e := &lineEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

func (e *lineEncoder) encode(v any) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return nil, err
	}
	return bytes.Clone(e.buf.Bytes()), nil
}
