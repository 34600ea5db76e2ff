package sampler

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Budget stops a run before it spends more than allowed. Prices are per
// million tokens. Budgets count every trace of this shard in DIR, earlier
// runs included, so "--max-cost 50" means 50 for the whole directory and a
// stopped run resumes by raising it.
type Budget struct {
	MaxCost        float64 `json:"max_cost,omitempty"`
	MaxTotalTokens int64   `json:"max_total_tokens,omitempty"`
	PriceInput     float64 `json:"price_input_per_million,omitempty"`
	PriceOutput    float64 `json:"price_output_per_million,omitempty"`
	// Batch prices are those of answers imported from batch files.
	PriceBatchInput  float64 `json:"price_batch_input_per_million,omitempty"`
	PriceBatchOutput float64 `json:"price_batch_output_per_million,omitempty"`
}

// Cost prices a token count.
func (b Budget) Cost(in, out int64) float64 {
	return (float64(in)*b.PriceInput + float64(out)*b.PriceOutput) / 1e6
}

// BatchCost prices a token count answered in batch files.
func (b Budget) BatchCost(in, out int64) float64 {
	return (float64(in)*b.PriceBatchInput + float64(out)*b.PriceBatchOutput) / 1e6
}

// Stats is a snapshot of a job's progress.
type Stats struct {
	Total      int64 // (prompt, sample) pairs in this shard
	DoneBefore int64 // found in DIR at start
	Written    int64 // records written by this run
	Succeeded  int64
	Failed     int64
	Requests   int64 // attempts sent, retries included
	Retries    int64
	Short      int64 // requests answered with fewer samples than asked for
	InFlight   int64

	// Token totals of this run; the *Before fields hold the earlier runs'.
	PromptTokens, CompletionTokens, ReasoningTokens int64
	PromptTokensBefore, CompletionTokensBefore      int64
	// Of all the above, those answered in batch files (priced apart).
	BatchPromptTokens, BatchCompletionTokens int64

	Cost    float64 // whole directory (this shard), earlier runs included
	Elapsed time.Duration
}

// Done is how many pairs are finished, before and in this run.
func (s Stats) Done() int64 { return s.DoneBefore + s.Written }

// counters are the live, lock-free side of Stats.
type counters struct {
	written, succeeded, failed, requests, retries, short, inFlight atomic.Int64
	promptTok, complTok, reasonTok                                 atomic.Int64

	mu       sync.Mutex
	failures map[string]int64
	latency  histogram
}

func (c *counters) fail(kind string) {
	c.mu.Lock()
	if c.failures == nil {
		c.failures = map[string]int64{}
	}
	c.failures[kind]++
	c.mu.Unlock()
}

func (c *counters) failuresByKind() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.failures))
	for k, v := range c.failures {
		out[k] = v
	}
	return out
}

// histogram keeps latencies in log buckets about 5% wide: percentiles with
// flat memory however many requests a run makes.
type histogram struct {
	counts [400]int64
	n      int64
}

const histScale = 20 // buckets per e-fold

func (h *histogram) add(ms int64) {
	b := int(math.Log1p(float64(max(ms, 0))) * histScale)
	b = min(b, len(h.counts)-1)
	h.counts[b]++
	h.n++
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= want {
			return int64(math.Round(math.Expm1(float64(b+1) / histScale)))
		}
	}
	return 0
}

func (c *counters) addLatency(ms int64) {
	c.mu.Lock()
	c.latency.add(ms)
	c.mu.Unlock()
}

func (c *counters) latencies() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", .5}, {"p90", .9}, {"p99", .99}, {"max", 1}} {
		out[q.name] = c.latency.quantile(q.q)
	}
	return out
}
