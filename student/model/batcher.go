package model

import (
	"context"
	"slices"
	"sync"
)

// Batcher generates for requests that arrive one at a time from many
// goroutines (a server, a teacher under a worker pool) by running them
// through shared forward passes: each step prefills the newly admitted
// prompts and advances every running sequence by one token, so the matrix
// products see a batch ([B,H]·Wᵀ) instead of one row per request. A request
// joins at the next step and leaves when it ends (continuous batching).
//
// A request's result equals Generate of its prompt alone with the same
// options, up to float rounding of the batched products.
type Batcher struct {
	w        *Weights
	maxBatch int

	mu      sync.Mutex
	queue   []*batchJob
	running bool
}

type batchJob struct {
	ctx    context.Context
	prompt []int32
	opts   SampleOptions
	maxPos int

	cache   *kvCache
	sampler *sampler
	out     Completion
	err     error
	done    chan struct{}
}

// NewBatcher runs at most maxBatch sequences in one step (≤ 0: 64); more
// wait their turn. The loop runs only while there is work.
func NewBatcher(w *Weights, maxBatch int) *Batcher {
	if maxBatch <= 0 {
		maxBatch = 64
	}
	return &Batcher{w: w, maxBatch: maxBatch}
}

// Generate continues one prompt. It blocks until the sequence ends or ctx
// is done.
func (b *Batcher) Generate(ctx context.Context, prompt []int32, opts SampleOptions) (Completion, error) {
	maxPos, err := checkGenerate(b.w, [][]int32{prompt}, &opts)
	if err != nil {
		return Completion{}, err
	}
	j := &batchJob{ctx: ctx, prompt: prompt, opts: opts, maxPos: maxPos, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-j.done
	return j.out, j.err
}

// loop steps the running sequences until none is left or queued.
func (b *Batcher) loop() {
	c := b.w.Config
	v := c.VocabSize
	r := newRunner(b.w)
	var (
		active, admit []*batchJob
		toks          []int32
		rows          []row
		heads         []int
		owners        []*batchJob // the job of each head row
		logits        []float32
	)
	for {
		b.mu.Lock()
		// Admit while there is room in the batch and the prompts to prefill
		// stay within prefillRows (at least one, however long), so that
		// activation memory stays bounded.
		n, rowsIn := 0, 0
		for n < len(b.queue) && len(active)+n < b.maxBatch && (n == 0 || rowsIn+len(b.queue[n].prompt) <= prefillRows) {
			rowsIn += len(b.queue[n].prompt)
			n++
		}
		admit = append(admit[:0], b.queue[:n]...)
		b.queue = slices.Delete(b.queue, 0, n)
		if len(active)+len(admit) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()

		toks, rows, heads, owners = toks[:0], rows[:0], heads[:0], owners[:0]
		// Running sequences feed their last token.
		kept := active[:0]
		for _, j := range active {
			if err := j.ctx.Err(); err != nil {
				j.finish(err)
				continue
			}
			kept = append(kept, j)
			heads, owners = append(heads, len(toks)), append(owners, j)
			toks = append(toks, j.out.Tokens[len(j.out.Tokens)-1])
			rows = append(rows, row{cache: j.cache, pos: len(j.prompt) + len(j.out.Tokens) - 1})
		}
		active = kept
		// New sequences feed their whole prompt.
		for _, j := range admit {
			if err := j.ctx.Err(); err != nil {
				j.finish(err)
				continue
			}
			j.cache = newKVCache(c, min(len(j.prompt)+j.opts.MaxNewTokens, j.maxPos))
			j.sampler = newSampler(j.opts.Seed, 0)
			for pos, t := range j.prompt {
				toks = append(toks, t)
				rows = append(rows, row{cache: j.cache, pos: pos})
			}
			heads, owners = append(heads, len(toks)-1), append(owners, j)
			active = append(active, j)
		}
		if len(toks) == 0 {
			continue
		}
		logits = grow(logits, len(heads)*v)
		r.forward(toks, rows, heads, logits)

		kept = active[:0]
		for i, j := range owners {
			t := j.sampler.next(logits[i*v:(i+1)*v], &j.opts)
			j.out.Tokens = append(j.out.Tokens, t)
			if reason := finishReason(t, len(j.prompt), len(j.out.Tokens), &j.opts, j.maxPos); reason != "" {
				j.out.FinishReason = reason
				j.finish(nil)
				continue
			}
			kept = append(kept, j)
		}
		active = kept
	}
}

func (j *batchJob) finish(err error) {
	if err != nil {
		j.out, j.err = Completion{}, err
	}
	close(j.done)
}
