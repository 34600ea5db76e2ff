package sampler

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/distill-dev/distill/teacher"
)

// RetryPolicy says how often and how patiently failed requests are sent
// again.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt
	Base       time.Duration // first backoff
	Max        time.Duration // backoff cap
}

// DefaultRetry suits hosted APIs: 8 retries spread over a few minutes.
var DefaultRetry = RetryPolicy{MaxRetries: 8, Base: 500 * time.Millisecond, Max: time.Minute}

// decision is what to do after a failed attempt.
type decision struct {
	retry     bool
	wait      time.Duration
	poolPause bool   // the server is rate limiting: the whole pool waits
	kind      string // failure class for counting
}

// decide classifies err after attempt (1-based) attempts. jitter returns a
// number in [0, 1).
func (p RetryPolicy) decide(err error, attempt int, jitter func() float64) decision {
	if jitter == nil {
		jitter = rand.Float64
	}
	var te *teacher.Error
	if !errors.As(err, &te) {
		// Errors that are not the teacher's description of a failed request
		// (a local teacher refusing a prompt, a bug) will not change on a retry.
		return decision{kind: "error"}
	}
	d := decision{kind: te.Kind}
	if d.kind == "" {
		d.kind = "error"
	}
	if !te.Retryable || attempt > p.MaxRetries {
		return d
	}
	d.retry = true
	// Equal jitter: at least half the exponential step, so retries never
	// come back at once, and spread so that a pool does not retry in lockstep.
	step := p.Base << min(attempt-1, 30)
	if step > p.Max || step <= 0 {
		step = p.Max
	}
	d.wait = step/2 + time.Duration(jitter()*float64(step/2))
	if te.RetryAfter > 0 {
		// The server knows best; a little jitter on top keeps the pool from
		// resuming in one burst.
		d.wait = te.RetryAfter + time.Duration(jitter()*float64(p.Base))
	}
	d.poolPause = te.Status == 429 || te.Kind == "rate_limit"
	return d
}
