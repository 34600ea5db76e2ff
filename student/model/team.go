package model

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long a team worker polls for the next split, and a
// caller for the last chunks of its own, before blocking. A decode step is
// a few dozen splits, microseconds apart; waking a parked goroutine for
// each (a futex wake-up, tens of microseconds) costs as much as the
// split's work at batch 16.
const spinFor = 50 * time.Microsecond

// team is a set of persistent goroutines that run the chunks of one split
// at a time together with the calling goroutine. Workers poll for the next
// split for spinFor, then park until one comes.
type team struct {
	busy    sync.Mutex // held by the caller whose split runs
	cur     atomic.Pointer[split]
	workers atomic.Int32 // started, worker ids 1..workers

	mu     sync.Mutex // guards parking
	wake   *sync.Cond
	parked atomic.Int32
}

// split is one call of team.run: chunks 0..n-1 of f, taken in order by
// whoever asks next.
type split struct {
	f          func(worker, chunk int)
	n          int64
	next, done atomic.Int64
	finished   chan struct{} // closed by whoever finishes the last chunk
}

var cores = newTeam()

func newTeam() *team {
	t := &team{}
	t.wake = sync.NewCond(&t.mu)
	return t
}

// size is how many goroutines a split may use (the caller included), so
// callers can size per-worker scratch: ids are 0..size-1 while GOMAXPROCS
// does not grow.
func (t *team) size() int { return max(runtime.GOMAXPROCS(0), int(t.workers.Load())+1) }

// run calls f(worker, c) for every chunk c < n, spread over the team and
// the caller (worker 0), and returns when all have finished. When another
// caller's split is running, this one runs on the caller alone.
func (t *team) run(n int, f func(worker, chunk int)) {
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 || n < 2 || !t.busy.TryLock() {
		for c := range n {
			f(0, c)
		}
		return
	}
	defer t.busy.Unlock()
	for int(t.workers.Load()) < procs-1 {
		go t.work(int(t.workers.Add(1)))
	}
	s := &split{f: f, n: int64(n), finished: make(chan struct{})}
	t.cur.Store(s)
	if t.parked.Load() > 0 {
		t.mu.Lock()
		t.wake.Broadcast()
		t.mu.Unlock()
	}
	s.take(0)
	// Poll for the chunks still running elsewhere, then block: on busy
	// cores the worker running them may be waiting for this one's core.
	start := time.Now()
	for i := 1; s.done.Load() < s.n; i++ {
		if i%1024 == 0 && time.Since(start) > spinFor {
			<-s.finished
			return
		}
	}
}

// take runs chunks of s until none is left and reports whether it ran any.
func (s *split) take(worker int) bool {
	ran := false
	for {
		c := s.next.Add(1) - 1
		if c >= s.n {
			return ran
		}
		s.f(worker, int(c))
		if s.done.Add(1) == s.n {
			close(s.finished)
		}
		ran = true
	}
}

// work is a team worker. A worker that polled for a split and still came
// too late for all of it (the OS ran something else meanwhile: the cores
// are busy with other processes) parks for the next one at once, since
// polling would take the core from the caller.
func (t *team) work(id int) {
	var last *split
	poll, polled := true, true
	for {
		s := t.cur.Load()
		if s == last {
			s, polled = t.await(last, poll)
		}
		last = s
		poll = s.take(id) || !polled
	}
}

// await polls for a split other than last for spinFor (when poll), then
// parks; it reports whether polling found the split.
func (t *team) await(last *split, poll bool) (*split, bool) {
	start := time.Now()
	for i := 1; poll; i++ {
		if s := t.cur.Load(); s != last {
			return s, true
		}
		if i%1024 == 0 && time.Since(start) > spinFor {
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parked.Add(1)
	defer t.parked.Add(-1)
	for {
		if s := t.cur.Load(); s != last {
			return s, false
		}
		t.wake.Wait()
	}
}
