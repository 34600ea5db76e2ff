package sampler

import (
	"context"
	"sync"
	"time"
)

// Limiter paces the whole worker pool: a token bucket for requests per
// minute, one for tokens per minute, and a pool-wide pause that a 429 sets
// so that no worker keeps hammering a server that asked everyone to wait.
//
// Token costs are not known before a request is answered, so Wait debits an
// estimate and Adjust settles the difference afterwards; the token bucket
// may go into debt, which later requests then wait out.
type Limiter struct {
	mu         sync.Mutex
	req, tok   bucket
	pauseUntil time.Time
	now        func() time.Time
}

type bucket struct {
	rate   float64 // per second; 0 means unlimited
	cap    float64
	avail  float64
	filled time.Time
}

func newBucket(perMinute float64, now time.Time) bucket {
	if perMinute <= 0 {
		return bucket{}
	}
	// One second's worth of burst: enough to start a pool quickly without
	// a thundering herd when a large limit is set.
	c := perMinute / 60
	if c < 1 {
		c = 1
	}
	return bucket{rate: perMinute / 60, cap: c, avail: c, filled: now}
}

func (b *bucket) refill(now time.Time) {
	if b.rate == 0 {
		return
	}
	b.avail += b.rate * now.Sub(b.filled).Seconds()
	if b.avail > b.cap {
		b.avail = b.cap
	}
	b.filled = now
}

// wait is how long until n units may be taken. A request larger than the
// whole bucket only needs a full bucket, otherwise it could never be sent.
func (b *bucket) wait(n float64) time.Duration {
	if b.rate == 0 {
		return 0
	}
	if n > b.cap {
		n = b.cap
	}
	if b.avail >= n {
		return 0
	}
	return time.Duration((n - b.avail) / b.rate * float64(time.Second))
}

// NewLimiter builds a limiter; zero limits are unlimited.
func NewLimiter(rpm, tpm float64) *Limiter {
	return newLimiterClock(rpm, tpm, time.Now)
}

func newLimiterClock(rpm, tpm float64, now func() time.Time) *Limiter {
	t := now()
	return &Limiter{req: newBucket(rpm, t), tok: newBucket(tpm, t), now: now}
}

// reserve takes one request and tokens if both buckets and the pause allow,
// else it says how long to wait.
func (l *Limiter) reserve(tokens float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if d := l.pauseUntil.Sub(now); d > 0 {
		return d
	}
	l.req.refill(now)
	l.tok.refill(now)
	d := max(l.req.wait(1), l.tok.wait(tokens))
	if d > 0 {
		return d
	}
	if l.req.rate > 0 {
		l.req.avail--
	}
	if l.tok.rate > 0 {
		l.tok.avail -= tokens
	}
	return 0
}

// Wait blocks until a request estimated at tokens may be sent.
func (l *Limiter) Wait(ctx context.Context, tokens int) error {
	for {
		d := l.reserve(float64(tokens))
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Adjust settles the token bucket once the real usage is known: delta is
// actual minus estimated tokens.
func (l *Limiter) Adjust(delta int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tok.rate > 0 {
		l.tok.avail -= float64(delta)
	}
}

// Pause stops every worker for d (a 429's Retry-After or backoff). Pauses
// only extend, never shorten, one already in force.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.now().Add(d); t.After(l.pauseUntil) {
		l.pauseUntil = t
	}
}
