package sampler

import (
	"context"

	"github.com/distill-dev/distill/record"
)

// The scheduler decides which samples of which prompt to ask for next. With
// UntilCorrect = K it asks for sample i of a prompt only while the samples
// before it, counting those in flight as if they will be correct, hold fewer
// than K correct ones. So a prompt gets exactly the samples 0..m-1, where m
// is the first count with K correct among them (or Samples): the same set
// whatever the concurrency, the timing or an interruption, and no sample is
// asked for that could turn out unneeded. The price is latency per prompt (a
// wrong answer is only replaced once it is known), which the other prompts'
// work hides. Only samples written before this rule ran (a rerun with a
// smaller K, failures dropped by --retry-failed and sampled again) can take
// a prompt past K; they are kept, as every paid-for trace is, and counted
// in Adaptive.CorrectBeyond. With several samples a request the rule and
// the indices asked for are the same, but a request's choices are seeded
// from its first sample, so which ones come back correct depends on how the
// requests were composed.

// Sample states in promptState.status.
const (
	stPending  uint8 = iota // not asked for, or asked and not answered
	stInFlight              // in a request not yet answered
	stDone                  // has a record: failed, wrong, or not judged
	stCorrect               // has a record that Correct accepted
)

// promptState is the scheduler's view of one prompt with work left or in
// flight. Only the dispatching goroutine touches it.
type promptState struct {
	p      record.Prompt
	status []uint8 // per sample index below Samples
	low    int     // every sample below low is in flight or has a record
	held   int     // samples below low in flight or correct
	queued bool    // in the ready queue

	inflight, known, correct int
	completionTokens         int64 // over the known samples
	promptTokens             int   // of one request for this prompt
}

// tally is what resume knows of one prompt's earlier samples (UntilCorrect).
type tally struct {
	correct          []uint64 // bit s: sample s was verified correct
	completionTokens int64
	promptTokens     int
}

// promptKey keys the tallies; sample -1 is no real sample.
func (j *Job) promptKey(id string) uint64 { return j.done.hash(id, -1) }

// addTally counts one journal record towards its prompt's tally.
func (j *Job) addTally(tr *record.Trace) {
	if tr.Sample < 0 || tr.Sample >= j.cfg.Samples {
		return
	}
	k := j.promptKey(tr.PromptID)
	t := j.tallies[k]
	if t == nil {
		t = &tally{correct: make([]uint64, (j.cfg.Samples+63)/64)}
		j.tallies[k] = t
	}
	t.completionTokens += int64(tr.Usage.CompletionTokens)
	t.promptTokens = max(t.promptTokens, tr.Usage.PromptTokens)
	if tr.Error == "" && j.cfg.Correct(*tr) {
		t.correct[tr.Sample/64] |= 1 << (tr.Sample % 64)
	}
}

// newState reads what the journal holds of p into a state from the free
// list (a state a sample: no allocation a trace in the common case).
func (d *dispatcher) newState(p record.Prompt) *promptState {
	j := d.j
	var st *promptState
	if n := len(d.free); n > 0 {
		st, d.free = d.free[n-1], d.free[:n-1]
		*st = promptState{p: p, status: st.status}
		clear(st.status)
	} else {
		st = &promptState{p: p, status: make([]uint8, j.cfg.Samples)}
	}
	var t *tally
	if j.tallies != nil {
		k := j.promptKey(p.ID)
		t = j.tallies[k]
		delete(j.tallies, k) // each prompt is planned once: free it
	}
	for s := range st.status {
		switch {
		case t != nil && t.correct[s/64]&(1<<(s%64)) != 0:
			st.status[s] = stCorrect
			st.correct++
			st.known++
		case j.done.has(p.ID, s):
			st.status[s] = stDone
			st.known++
		}
	}
	if t != nil {
		st.completionTokens, st.promptTokens = t.completionTokens, t.promptTokens
	}
	return st
}

// take marks the next samples of st to ask for by the rule above: a run of
// consecutive pending samples, at most SamplesPerRequest of them.
func (j *Job) take(st *promptState) (first, n int) {
	k := j.cfg.UntilCorrect
	for n < j.cfg.SamplesPerRequest {
		for n == 0 && st.low < len(st.status) && st.status[st.low] != stPending {
			if s := st.status[st.low]; s == stInFlight || s == stCorrect {
				st.held++
			}
			st.low++
		}
		if st.low == len(st.status) || st.status[st.low] != stPending || (k > 0 && st.held >= k) {
			break
		}
		if n == 0 {
			first = st.low
		}
		st.status[st.low] = stInFlight
		st.held++
		st.low++
		n++
	}
	st.inflight += n
	return first, n
}

// result is a worker's answer to one work item: the first written of its
// samples have records, the rest are to be asked for again.
type result struct {
	st       *promptState
	first, n int
	written  int
	correct  uint64 // bit i: sample first+i was accepted by Correct
	usage    record.Usage
}

// Adaptive is what UntilCorrect saved against fixed sampling (Samples for
// every prompt), over the prompts that this run saw finished: those it
// finished and those finished by earlier runs into DIR (this shard).
type Adaptive struct {
	UntilCorrect     int   `json:"until_correct"`
	PromptsEnough    int64 `json:"prompts_enough"`    // reached until_correct verified-correct samples
	PromptsExhausted int64 `json:"prompts_exhausted"` // used every sample without
	// CorrectBeyond counts correct samples past until_correct: records
	// written before the scheduling rule could stop them (see above), kept.
	CorrectBeyond int64 `json:"correct_beyond"`
	// SamplesSaved is the samples never asked for: Samples minus the
	// prompt's records, summed.
	SamplesSaved int64 `json:"samples_saved"`
	// RequestsSaved is the requests fixed sampling would have sent for
	// them without retries: ceil(unasked / samples_per_request) a prompt.
	RequestsSaved int64 `json:"requests_saved"`
	// TokensSaved is an estimate: per prompt, the mean completion tokens of
	// its records times the samples not asked for, plus its prompt tokens
	// times the requests saved.
	TokensSaved int64 `json:"tokens_saved"`
}

// finish counts a prompt that has nothing left to ask for.
func (a *Adaptive) finish(st *promptState, samples, perRequest int) {
	k := a.UntilCorrect
	if st.correct >= k {
		a.PromptsEnough++
		a.CorrectBeyond += int64(st.correct - k)
	} else {
		a.PromptsExhausted++
	}
	unasked := samples - st.known
	if unasked <= 0 {
		return
	}
	req := (unasked + perRequest - 1) / perRequest
	a.SamplesSaved += int64(unasked)
	a.RequestsSaved += int64(req)
	a.TokensSaved += st.completionTokens*int64(unasked)/int64(st.known) + int64(st.promptTokens*req)
}

// dispatcher hands work to the workers and takes their results. It keeps
// only prompts with something to ask for (ready) or in flight, so memory
// stays flat in the number of prompts.
type dispatcher struct {
	j        *Job
	jobs     chan<- work
	results  <-chan result
	failed   <-chan struct{}
	ready    []*promptState
	free     []*promptState // finished states, for reuse
	pending  work           // taken from a prompt, not yet sent (n > 0)
	sent     int            // work items sent whose result has not come back
	adaptive Adaptive
}

func (d *dispatcher) push(st *promptState) {
	if !st.queued {
		st.queued = true
		d.ready = append(d.ready, st)
	}
}

// next takes work from the oldest ready prompt, finishing the prompts that
// have nothing left to ask for and nothing in flight.
func (d *dispatcher) next() (work, bool) {
	for len(d.ready) > 0 {
		st := d.ready[0]
		if first, n := d.j.take(st); n > 0 {
			return work{st: st, first: first, n: n}, true
		}
		d.ready[0] = nil
		d.ready = d.ready[1:]
		st.queued = false
		if st.inflight == 0 {
			if d.j.cfg.UntilCorrect > 0 {
				d.adaptive.finish(st, d.j.cfg.Samples, d.j.cfg.SamplesPerRequest)
			}
			d.free = append(d.free, st)
		}
	}
	return work{}, false
}

func (d *dispatcher) apply(r result) {
	d.sent--
	st := r.st
	st.inflight -= r.n
	for i := range r.n {
		s := r.first + i
		switch {
		case i >= r.written:
			st.status[s] = stPending
		case r.correct&(1<<i) != 0:
			st.status[s] = stCorrect
			st.known++
			st.correct++
		default:
			st.status[s] = stDone
			st.held--
			st.known++
		}
	}
	if r.written < r.n { // take recounts from the first sample
		st.low, st.held = 0, 0
	}
	st.completionTokens += int64(r.usage.CompletionTokens)
	st.promptTokens = max(st.promptTokens, r.usage.PromptTokens)
	d.push(st)
}

// pump dispatches until no ready prompt has work (drain: until nothing is
// ready or in flight), the budget is spent, ctx ends or the writer fails.
func (d *dispatcher) pump(ctx context.Context, drain bool) error {
	for {
		if d.pending.n == 0 {
			if d.j.budgetReached() {
				return errStop
			}
			if w, ok := d.next(); ok {
				d.pending = w
			} else if !drain || d.sent == 0 {
				return nil
			}
		}
		var send chan<- work // nil, so never ready, while nothing is pending
		if d.pending.n > 0 {
			send = d.jobs
		}
		select {
		case send <- d.pending:
			d.pending = work{}
			d.sent++
		case r := <-d.results:
			d.apply(r)
		case <-ctx.Done():
			return ctx.Err()
		case <-d.failed:
			return errWriter
		}
	}
}
