package model

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBatcherMatchesGenerate(t *testing.T) {
	w := tinyWeights(t, "llama", 11)
	type req struct {
		prompt []int32
		opts   SampleOptions
	}
	reqs := []req{
		{[]int32{1, 2, 3}, SampleOptions{MaxNewTokens: 9}},
		{[]int32{9}, SampleOptions{MaxNewTokens: 20, Temperature: 0.8, TopP: 0.9, Seed: 3}},
		{[]int32{50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60}, SampleOptions{MaxNewTokens: 4}},
		{[]int32{7, 7}, SampleOptions{MaxNewTokens: 15, Temperature: 1.2, TopK: 10, Seed: 4}},
		{[]int32{30, 31}, SampleOptions{MaxNewTokens: 12, StopTokens: []int32{5, 6, 7, 8, 9, 10, 11, 12}}},
		{[]int32{4, 4, 4, 4, 4}, SampleOptions{MaxNewTokens: 1}},
	}
	for _, maxBatch := range []int{64, 2} {
		b := NewBatcher(w, maxBatch)
		got := make([]Completion, len(reqs))
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		for i, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = b.Generate(t.Context(), r.prompt, r.opts)
			}()
		}
		wg.Wait()
		for i, r := range reqs {
			want, err := Generate(t.Context(), w, [][]int32{r.prompt}, r.opts)
			if err != nil || errs[i] != nil {
				t.Fatalf("request %d: %v / %v", i, err, errs[i])
			}
			if !slices.Equal(got[i].Tokens, want[0].Tokens) || got[i].FinishReason != want[0].FinishReason {
				t.Errorf("maxBatch %d request %d: batcher %v (%s), Generate %v (%s)", maxBatch, i,
					got[i].Tokens, got[i].FinishReason, want[0].Tokens, want[0].FinishReason)
			}
		}
		// The loop finishes the last job, then takes the lock once more to
		// see there is no work left and stop: give it that moment.
		idle := func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return !b.running && len(b.queue) == 0
		}
		deadline := time.Now().Add(2 * time.Second)
		for !idle() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if !idle() {
			t.Errorf("maxBatch %d: loop still running 2 s after all requests ended", maxBatch)
		}
	}
}

func TestBatcherErrors(t *testing.T) {
	w := tinyWeights(t, "qwen2", 12)
	b := NewBatcher(w, 4)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Generate(ctx, []int32{1, 2}, SampleOptions{MaxNewTokens: 50}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
	if _, err := b.Generate(t.Context(), []int32{1, 500}, SampleOptions{MaxNewTokens: 5}); err == nil {
		t.Error("id out of range: no error")
	}
	if _, err := b.Generate(t.Context(), []int32{1}, SampleOptions{}); err == nil {
		t.Error("MaxNewTokens 0: no error")
	}
	// The batcher still serves after those.
	if c, err := b.Generate(t.Context(), []int32{1}, SampleOptions{MaxNewTokens: 3}); err != nil || len(c.Tokens) != 3 {
		t.Errorf("after errors: %v %v", c, err)
	}
}

// Prompts whose prefill together exceeds prefillRows are admitted over
// several steps; results are unchanged.
func TestBatcherLongPrompts(t *testing.T) {
	w := tinyWeights(t, "qwen2", 13)
	b := NewBatcher(w, 8)
	prompts := make([][]int32, 3)
	for i := range prompts {
		prompts[i] = make([]int32, 600+i)
		for j := range prompts[i] {
			prompts[i][j] = int32((j*7 + i) % 97)
		}
	}
	opts := SampleOptions{MaxNewTokens: 4}
	got := make([]Completion, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if got[i], err = b.Generate(t.Context(), p, opts); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want, err := Generate(t.Context(), w, prompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if !slices.Equal(got[i].Tokens, want[i].Tokens) {
			t.Errorf("prompt %d: batcher %v, Generate %v", i, got[i].Tokens, want[i].Tokens)
		}
	}
}
