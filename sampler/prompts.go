// Package sampler turns a prompt set into raw teacher traces: the job plan
// (prompts × samples, sharding), a worker pool with request and token rate
// limits, retries with backoff and Retry-After, budgets, a crash-safe journal
// with resume, and the run manifest.
//
// Of ours it may import only `internal/atomicfile`, `record` and `teacher`.
// Never dataset or student: early stopping asks a predicate that distill
// wires in.
package sampler

import (
	"context"

	"github.com/distill-dev/distill/record"
)

// Prompts is a prompt set that can be streamed, more than once, in a stable
// order. Streaming keeps memory flat in the number of prompts.
type Prompts interface {
	// Each calls fn for every prompt in order and stops at the first error
	// fn returns, returning it.
	Each(ctx context.Context, fn func(record.Prompt) error) error
	// Name describes the set for logs and the manifest.
	Name() string
}
