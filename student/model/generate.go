package model

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
)

// ErrContextTooLong is returned when a sequence does not fit
// max_position_embeddings.
var ErrContextTooLong = errors.New("context longer than max_position_embeddings")

// Completion is the continuation of one prompt. Tokens include the stop
// token when FinishReason is "stop" (as HF generate does); callers that
// decode text drop it.
type Completion struct {
	Tokens       []int32
	FinishReason string // "stop" or "length"
}

// prefillRows bounds the rows of one prefill pass, and so the activation
// memory, whatever the number and length of the prompts.
const prefillRows = 1024

// Generate continues each prompt: one batched prefill of all prompts, then
// decode steps that run the live sequences together through each matrix
// product ([B,H]·Wᵀ) against their KV caches. A sequence stops at a stop
// token, after MaxNewTokens, or when it fills max_position_embeddings
// ("length"). Prompt i samples from its own random stream (Seed, i), so its
// result does not depend on the other prompts of the batch (up to float
// rounding in the batched products).
func Generate(ctx context.Context, w *Weights, prompts [][]int32, opts SampleOptions) ([]Completion, error) {
	c := w.Config
	maxPos, err := checkGenerate(w, prompts, &opts)
	if err != nil {
		return nil, err
	}

	n, v := len(prompts), c.VocabSize
	out := make([]Completion, n)
	caches := make([]*kvCache, n)
	samplers := make([]*sampler, n)
	for i, p := range prompts {
		caches[i] = newKVCache(c, min(len(p)+opts.MaxNewTokens, maxPos))
		samplers[i] = newSampler(opts.Seed, i)
	}
	r := newRunner(w)

	// Prefill: all prompt tokens as rows, in chunks; the head runs only on
	// each prompt's last row.
	last := make([]float32, n*v)
	var (
		toks  []int32
		rows  []row
		heads []int
		dst   []int // prompt index of each head row
	)
	flush := func() {
		if len(toks) == 0 {
			return
		}
		lg := make([]float32, len(heads)*v)
		r.forward(toks, rows, heads, lg)
		for j, i := range dst {
			copy(last[i*v:(i+1)*v], lg[j*v:(j+1)*v])
		}
		toks, rows, heads, dst = toks[:0], rows[:0], heads[:0], dst[:0]
	}
	for i, p := range prompts {
		for pos, t := range p {
			if pos == len(p)-1 {
				heads = append(heads, len(toks))
				dst = append(dst, i)
			}
			toks = append(toks, t)
			rows = append(rows, row{cache: caches[i], pos: pos})
			if len(toks) == prefillRows {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				flush()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	flush()

	// Decode: sample, then feed the live sequences' new tokens together.
	live := make([]int, n)
	for i := range live {
		live[i] = i
	}
	logits := last
	for {
		next := sampleAll(logits, live, samplers, &opts, v)
		still := live[:0]
		toks, rows, heads = toks[:0], rows[:0], heads[:0]
		for j, i := range live {
			t := next[j]
			out[i].Tokens = append(out[i].Tokens, t)
			if reason := finishReason(t, len(prompts[i]), len(out[i].Tokens), &opts, maxPos); reason != "" {
				out[i].FinishReason = reason
				continue
			}
			heads = append(heads, len(toks))
			toks = append(toks, t)
			rows = append(rows, row{cache: caches[i], pos: len(prompts[i]) + len(out[i].Tokens) - 1})
			still = append(still, i)
		}
		live = still
		if len(live) == 0 {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		logits = logits[:len(live)*v]
		r.forward(toks, rows, heads, logits)
	}
}

// checkGenerate validates a generation request and returns the context
// limit (max_position_embeddings, or no limit when the config has none).
func checkGenerate(w *Weights, prompts [][]int32, opts *SampleOptions) (maxPos int, err error) {
	c := w.Config
	if opts.MaxNewTokens <= 0 {
		return 0, fmt.Errorf("generate: MaxNewTokens must be positive, got %d", opts.MaxNewTokens)
	}
	if opts.Temperature < 0 || opts.TopK < 0 || opts.TopP < 0 {
		return 0, fmt.Errorf("generate: temperature, top_k and top_p must not be negative")
	}
	maxPos = c.MaxPositionEmbeddings
	if maxPos <= 0 {
		maxPos = int(^uint(0) >> 1)
	}
	for i, p := range prompts {
		if err := w.CheckTokens(p); err != nil {
			return 0, fmt.Errorf("generate: prompt %d: %w", i, err)
		}
		if len(p) >= maxPos {
			return 0, fmt.Errorf("generate: prompt %d: %w: %d tokens leave no room under %d", i, ErrContextTooLong, len(p), maxPos)
		}
	}
	for _, t := range opts.StopTokens {
		if t < 0 || int(t) >= c.VocabSize {
			return 0, fmt.Errorf("generate: stop token %d is outside the vocabulary [0, %d)", t, c.VocabSize)
		}
	}
	return maxPos, nil
}

// finishReason says whether a sequence ends after emitting t as its
// generated-th token: "stop", "length", or "" to go on.
func finishReason(t int32, promptLen, generated int, opts *SampleOptions, maxPos int) string {
	switch {
	case slices.Contains(opts.StopTokens, t):
		return "stop"
	case generated >= opts.MaxNewTokens || promptLen+generated >= maxPos:
		return "length"
	}
	return ""
}

// sampleAll draws the next token of each live sequence from its row of
// logits, across cores when the vocabulary makes it worth it.
//
//	logits: [len(live), V]
func sampleAll(logits []float32, live []int, samplers []*sampler, o *SampleOptions, v int) []int32 {
	next := make([]int32, len(live))
	rowOf := func(j int) []float32 { return logits[j*v : (j+1)*v] }
	if runtime.GOMAXPROCS(0) < 2 || len(live) < 2 || len(live)*v < 1<<16 {
		for j, i := range live {
			next[j] = samplers[i].next(rowOf(j), o)
		}
		return next
	}
	cores.run(len(live), func(_, j int) {
		next[j] = samplers[live[j]].next(rowOf(j), o)
	})
	return next
}
