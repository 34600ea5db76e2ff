package sampler

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock advances only when told, so the limiter tests are exact and fast.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time           { return c.t }
func (c *fakeClock) add(d time.Duration)      { c.t = c.t.Add(d) }
func newFake() (*fakeClock, func() time.Time) { c := &fakeClock{time.Unix(1000, 0)}; return c, c.now }

func TestLimiterRequests(t *testing.T) {
	c, now := newFake()
	l := newLimiterClock(120, 0, now) // 2 per second, burst 2
	if l.reserve(0) != 0 || l.reserve(0) != 0 {
		t.Fatal("burst of 2 refused")
	}
	if d := l.reserve(0); d != 500*time.Millisecond {
		t.Fatalf("third request waits %v, want 500ms", d)
	}
	c.add(500 * time.Millisecond)
	if d := l.reserve(0); d != 0 {
		t.Fatalf("after refill waits %v", d)
	}
}

func TestLimiterTokens(t *testing.T) {
	c, now := newFake()
	l := newLimiterClock(0, 6000, now) // 100 tokens per second, bucket 100
	if d := l.reserve(80); d != 0 {
		t.Fatalf("first request waits %v", d)
	}
	// The answer was longer than estimated: the bucket goes into debt.
	l.Adjust(120) // 200 used in all: avail = -100
	if d := l.reserve(50); d != 1500*time.Millisecond {
		t.Fatalf("after debt waits %v, want 1.5s", d)
	}
	c.add(1500 * time.Millisecond)
	if d := l.reserve(50); d != 0 {
		t.Fatalf("after paying the debt waits %v", d)
	}
	// A request larger than the bucket needs a full bucket, not forever.
	c.add(10 * time.Second)
	if d := l.reserve(5000); d != 0 {
		t.Fatalf("huge request on a full bucket waits %v", d)
	}
}

func TestLimiterPause(t *testing.T) {
	c, now := newFake()
	l := newLimiterClock(0, 0, now)
	l.Pause(3 * time.Second)
	l.Pause(time.Second) // never shortens
	if d := l.reserve(1); d != 3*time.Second {
		t.Fatalf("paused pool waits %v, want 3s", d)
	}
	c.add(3 * time.Second)
	if d := l.reserve(1); d != 0 {
		t.Fatalf("after the pause waits %v", d)
	}
}

func TestLimiterWaitCancel(t *testing.T) {
	l := NewLimiter(0, 0)
	l.Pause(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v", err)
	}
}
