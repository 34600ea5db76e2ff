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
	Samples  int           // per prompt; default 1; with UntilCorrect, the most asked for
	Params   record.Params // temperature, top_p, max_tokens; Seed, if set, seeds every request (derived per prompt and sample)

	// UntilCorrect, when above 0, stops asking for samples of a prompt once
	// it has that many that Correct accepts (schedule.go has the rule).
	UntilCorrect int
	// Correct judges a finished trace for UntilCorrect; distill wires in
	// the dataset stage's verifiers, which the sampler does not import.
	Correct func(record.Trace) bool
	// SamplesPerRequest, when above 1, asks for up to that many samples of
	// a prompt in one request (the API's n), so the prompt is paid once;
	// the teacher must then implement CompleteN. Default 1.
	SamplesPerRequest int

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

// ErrNoMultiSample is Open's error when SamplesPerRequest asks a teacher
// for several samples per request and it has no way to send them.
var ErrNoMultiSample = errors.New("this teacher answers one sample per request (only HTTP teachers send the API's n)")

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

	importing bool // ImportBatch is running: this run's tokens are batch tokens

	tallies map[uint64]*tally // by promptKey, from the journal, for UntilCorrect

	shortOnce sync.Once // logs the first short answer

	estMu     sync.Mutex
	estTokens float64 // running mean of completion tokens, for the tpm estimate
}

type scanTotals struct {
	records, failed, retried        int64
	promptTokens, completionTokens  int64
	reasoningTokens, truncatedBytes int64
	batchPrompt, batchCompletion    int64 // of the above, answered in batch files
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
	if cfg.SamplesPerRequest <= 0 {
		cfg.SamplesPerRequest = 1
	}
	if cfg.SamplesPerRequest > MaxSamplesPerRequest {
		return nil, fmt.Errorf("sampler: %d samples per request: at most %d", cfg.SamplesPerRequest, MaxSamplesPerRequest)
	}
	if _, ok := cfg.Teacher.(multiTeacher); cfg.SamplesPerRequest > 1 && !ok {
		return nil, fmt.Errorf("sampler: %d samples per request, teacher %s: %w", cfg.SamplesPerRequest, cfg.TeacherName, ErrNoMultiSample)
	}
	if cfg.UntilCorrect > 0 && cfg.Correct == nil {
		return nil, errors.New("sampler: UntilCorrect needs a Correct function")
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
	if cfg.UntilCorrect > 0 {
		j.tallies = map[uint64]*tally{}
	}
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
			if j.tallies != nil {
				// Rebuild the correct count: judge the record again, as
				// the verifiers may have changed since it was written.
				var tr record.Trace
				if err := json.Unmarshal(line, &tr); err != nil {
					return fmt.Errorf("%s:%d: corrupt trace line: %w", path, n, err)
				}
				j.addTally(&tr)
			}
			j.before.records++
			if rec.Error != "" {
				j.before.failed++
			}
			j.before.add(rec)
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
				j.before.add(rec)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sampler: scanning: %w", err)
		}
	}
	return nil
}

func (t *scanTotals) add(rec scanRecord) {
	u := rec.Usage
	t.promptTokens += int64(u.PromptTokens)
	t.completionTokens += int64(u.CompletionTokens)
	t.reasoningTokens += int64(u.ReasoningTokens)
	if rec.Batch {
		t.batchPrompt += int64(u.PromptTokens)
		t.batchCompletion += int64(u.CompletionTokens)
	}
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
		Short:                  j.c.short.Load(),
		InFlight:               j.c.inFlight.Load(),
		PromptTokens:           j.c.promptTok.Load(),
		CompletionTokens:       j.c.complTok.Load(),
		ReasoningTokens:        j.c.reasonTok.Load(),
		PromptTokensBefore:     j.before.promptTokens,
		CompletionTokensBefore: j.before.completionTokens,
	}
	s.BatchPromptTokens, s.BatchCompletionTokens = j.batchTokens()
	s.Cost = j.cost(s.PromptTokens+s.PromptTokensBefore, s.CompletionTokens+s.CompletionTokensBefore)
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
	return b.MaxCost > 0 && j.cost(in, out) >= b.MaxCost
}

// batchTokens are the directory's tokens answered in batch files: earlier
// imports', and this run's when it is one.
func (j *Job) batchTokens() (in, out int64) {
	in, out = j.before.batchPrompt, j.before.batchCompletion
	if j.importing {
		in += j.c.promptTok.Load()
		out += j.c.complTok.Load()
	}
	return in, out
}

// cost prices the directory's in and out tokens, the batch ones at the
// batch prices.
func (j *Job) cost(in, out int64) float64 {
	bin, bout := j.batchTokens()
	return j.cfg.Budget.Cost(in-bin, out-bout) + j.cfg.Budget.BatchCost(bin, bout)
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
// (max_tokens until something came back) for each sample asked for.
func (j *Job) estimate(prompt string, samples int) int {
	j.estMu.Lock()
	defer j.estMu.Unlock()
	out := j.estTokens
	if out == 0 {
		out = float64(j.cfg.Params.MaxTokens)
		if out == 0 {
			out = 1024
		}
	}
	return len(prompt)/4 + samples*int(out)
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

// work is one request's worth: samples first..first+n-1 of one prompt.
type work struct {
	st       *promptState
	first, n int
}

// MaxSamplesPerRequest bounds SamplesPerRequest (a result keeps one bit a
// sample; OpenAI allows n up to 128).
const MaxSamplesPerRequest = 64

// multiTeacher answers several samples of one prompt in one request.
type multiTeacher interface {
	CompleteN(ctx context.Context, req teacher.Request, n int) ([]teacher.Response, teacher.Usage, error)
}

// errStop ends the dispatch loop when the budget is spent; errWriter when
// the journal cannot be written (the writer holds the error).
var (
	errStop   = errors.New("budget reached")
	errWriter = errors.New("journal writer failed")
)

// Run samples every pair of the plan that is not done yet (with
// UntilCorrect, until each prompt has enough correct ones). It returns when
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
	// Each worker holds at most one result and the queue at most
	// Concurrency items: results never block once dispatch has stopped.
	results := make(chan result, 2*j.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < j.cfg.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := &workerBuf{enc: newLineEncoder()}
			for wk := range jobs {
				lines, r := j.sample(ctx, wk, buf)
				if len(lines) > 0 {
					// One send: the records of a request land in one batch.
					w.in <- lines
				}
				results <- r // after the lines: the journal never lags the scheduler
			}
		}()
	}

	d := &dispatcher{j: j, jobs: jobs, results: results, failed: w.failed, adaptive: Adaptive{UntilCorrect: j.cfg.UntilCorrect}}
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		d.push(d.newState(p))
		return d.pump(ctx, false)
	})
	if err == nil {
		err = d.pump(ctx, true)
	}
	close(jobs)
	go func() { wg.Wait(); close(results) }()
	for range results { // interrupted work: nothing left to schedule
	}
	close(w.in)
	<-w.closed

	stopped := "complete"
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
	if j.cfg.UntilCorrect > 0 {
		sum.Adaptive = &d.adaptive
	}
	if merr := j.writeManifest(sum); merr != nil && err == nil {
		err = merr
	}
	return sum, err
}

// workerBuf is what a worker reuses from one request to the next.
type workerBuf struct {
	enc    *lineEncoder
	one    [1]teacher.Response
	usages []record.Usage
}

// sample runs one request for wk's samples to records, with retries, and
// returns their lines. Samples without a record (the context ended the
// work, or the server answered fewer choices than asked) are left out of
// r.written, to be asked for again.
func (j *Job) sample(ctx context.Context, wk work, buf *workerBuf) (lines []byte, r result) {
	n := wk.n
	r = result{st: wk.st, first: wk.first, n: n}
	req, tr := j.request(wk.st.p, wk.first)
	est := j.estimate(tr.Prompt, n)
	var (
		resps    []teacher.Response
		u        teacher.Usage
		lat      int64
		err      error
		attempt  int
		failKind string
	)
	for attempt = 1; ; attempt++ {
		if err := j.limiter.Wait(ctx, est); err != nil {
			return nil, r
		}
		j.c.requests.Add(1)
		j.c.inFlight.Add(1)
		t0 := time.Now()
		resps, u, err = j.complete(ctx, req, n, buf)
		lat = time.Since(t0).Milliseconds()
		j.c.inFlight.Add(-1)
		if err != nil && ctx.Err() != nil {
			return nil, r // interrupted, not failed
		}
		var te *teacher.Error
		if err != nil && errors.As(err, &te) {
			u = te.Usage
		}
		j.c.promptTok.Add(int64(u.PromptTokens))
		j.c.complTok.Add(int64(u.CompletionTokens))
		j.c.reasonTok.Add(int64(u.ReasoningTokens))
		j.limiter.Adjust(u.PromptTokens + u.CompletionTokens - est)
		if err == nil {
			j.observe(u.CompletionTokens / len(resps))
			j.c.addLatency(lat)
			if len(resps) < n {
				j.c.short.Add(1)
				j.shortOnce.Do(func() {
					j.cfg.Logf("the teacher answered %d of %d samples asked for in one request; the rest are asked for again", len(resps), n)
				})
			}
			break
		}
		d := j.cfg.Retry.decide(err, attempt, nil)
		if !d.retry {
			failKind = d.kind
			resps = make([]teacher.Response, n) // every sample of the request failed
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
			return nil, r
		case <-t.C:
		}
	}
	buf.usages = shareUsage(buf.usages[:0], u, resps)
	tr.Attempts, tr.LatencyMS, tr.CreatedAt = attempt, lat, time.Now().UTC()
	for i, resp := range resps {
		t := tr
		t.Sample = wk.first + i
		t.Usage = buf.usages[i]
		j.finish(&t, resp, err, failKind)
		if err == nil && j.cfg.UntilCorrect > 0 && j.cfg.Correct(t) {
			r.correct |= 1 << i
		}
		var encErr error
		if lines, encErr = buf.enc.encode(lines, &t); encErr != nil {
			// A trace that cannot be encoded is a bug, not a teacher failure.
			panic(fmt.Sprintf("sampler: encoding trace %s/%d: %v", t.PromptID, t.Sample, encErr))
		}
		r.usage.PromptTokens = max(r.usage.PromptTokens, t.Usage.PromptTokens)
		r.usage.CompletionTokens += t.Usage.CompletionTokens
	}
	r.written = len(resps)
	j.c.written.Add(int64(len(resps)))
	return lines, r
}

// request is what sample first of p asks for, and the trace its answer
// fills: live and in batch files alike.
func (j *Job) request(p record.Prompt, first int) (teacher.Request, record.Trace) {
	user := j.cfg.Template.Render(p.Problem)
	params := j.cfg.Params
	if params.Seed != nil {
		s := requestSeed(*params.Seed, p.ID, first)
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
		Prompt: user, PromptID: p.ID, Reference: p.Answer,
		Task: p.Task, Source: p.Source, Teacher: j.cfg.TeacherName, Model: j.cfg.Model, Params: params,
	}
	return req, tr
}

// finish fills t with its answer, or with its failure of kind, and counts it.
func (j *Job) finish(t *record.Trace, resp teacher.Response, err error, kind string) {
	if err != nil {
		t.Error = err.Error()
		j.c.failed.Add(1)
		j.c.fail(kind)
		return
	}
	t.Reasoning, t.Content, t.FinishReason = resp.Reasoning, resp.Content, resp.FinishReason
	if t.Model == "" {
		t.Model = resp.Model
	}
	j.c.succeeded.Add(1)
}

// complete asks for n samples: one through Complete, which every teacher
// has, or several in one request.
func (j *Job) complete(ctx context.Context, req teacher.Request, n int, buf *workerBuf) ([]teacher.Response, teacher.Usage, error) {
	if n == 1 {
		resp, err := j.cfg.Teacher.Complete(ctx, req)
		buf.one[0] = resp
		return buf.one[:], resp.Usage, err
	}
	return j.cfg.Teacher.(multiTeacher).CompleteN(ctx, req, n)
}

// shareUsage spreads a request's usage over its samples' records so that
// they add up to what was billed: the prompt on the first record (a request
// pays for it once), completion and reasoning tokens in proportion to each
// sample's text, as servers report only the request's totals.
func shareUsage(out []record.Usage, u teacher.Usage, resps []teacher.Response) []record.Usage {
	out = append(out, make([]record.Usage, len(resps))...)
	if len(out) == 0 {
		return out
	}
	out[0].PromptTokens = u.PromptTokens
	if len(out) == 1 {
		out[0].CompletionTokens, out[0].ReasoningTokens = u.CompletionTokens, u.ReasoningTokens
		return out
	}
	split := func(total int, weight func(teacher.Response) int, set func(*record.Usage, int)) {
		var sum, cum int64
		for _, r := range resps {
			sum += int64(weight(r)) + 1 // +1: an empty sample still shares
		}
		prev := int64(0)
		for i, r := range resps {
			cum += int64(weight(r)) + 1
			at := int64(total) * cum / sum
			set(&out[i], int(at-prev))
			prev = at
		}
	}
	split(u.CompletionTokens, func(r teacher.Response) int { return len(r.Reasoning) + len(r.Content) },
		func(x *record.Usage, v int) { x.CompletionTokens = v })
	split(u.ReasoningTokens, func(r teacher.Response) int { return len(r.Reasoning) },
		func(x *record.Usage, v int) { x.ReasoningTokens = v })
	return out
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

// encode appends v's line to dst.
func (e *lineEncoder) encode(dst []byte, v any) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return dst, err
	}
	return append(dst, e.buf.Bytes()...), nil
}
