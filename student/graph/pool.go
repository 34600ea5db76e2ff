package graph

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// helpers are goroutines kept between parallelFor calls, each spinning for
// up to helperSpin after a task before it parks. A goroutine started per
// call waits for the runtime to wake a parked thread on the other core
// (measured at qwen-small 8×256 on the 2-core machine: 78 µs a call on
// average, 40 ms of a 2.6 s step over its 524 calls) while the caller's
// share has already begun, and each product then ends with the caller
// waiting on the late half. A spinning helper starts at once, and the
// caller spins on its completion the same way.
type helpers struct {
	mu   sync.Mutex // held by the caller whose task the helpers run
	n    int        // helper goroutines: workers 1..n
	seq  atomic.Uint64
	task func(worker int)
	left atomic.Int32 // helpers still running the current task
	// Parking: a helper sets asleep before it blocks on wake; the caller
	// that finds it set sends. The caller parks on done the same way.
	asleep     []atomic.Bool
	wake       []chan struct{}
	callerWait atomic.Bool
	done       chan struct{}
}

// helperSpin is how long a helper (or a caller waiting on helpers) spins
// before it parks: longer than the gap between two ops of a step, short
// enough that an idle graph costs nothing.
const helperSpin = 200 * time.Microsecond

var (
	pool     *helpers
	poolOnce sync.Once
)

// helperPool is the process's helpers, one fewer than GOMAXPROCS when
// first called.
func helperPool() *helpers {
	poolOnce.Do(func() {
		n := workers() - 1
		pool = &helpers{n: n, asleep: make([]atomic.Bool, n), wake: make([]chan struct{}, n), done: make(chan struct{}, 1)}
		for i := range n {
			pool.wake[i] = make(chan struct{}, 1)
			go pool.loop(i, pool.seq.Load()) // before any task is published
		}
	})
	return pool
}

// run calls task(w) for w in [0, n] with task(0) on the caller and returns
// when all are done; false (and nothing run) when another caller holds
// the helpers or they are too few.
func (h *helpers) run(n int, task func(worker int)) bool {
	if n > h.n || !h.mu.TryLock() {
		return false
	}
	defer h.mu.Unlock()
	h.task = func(w int) {
		if w <= n {
			task(w)
		}
	}
	h.left.Store(int32(h.n))
	h.seq.Add(1) // publishes task and left
	for i := range h.n {
		if h.asleep[i].CompareAndSwap(true, false) {
			h.wake[i] <- struct{}{}
		}
	}
	task(0)
	h.await()
	h.task = nil
	return true
}

// await spins, then parks, until every helper has finished the task.
func (h *helpers) await() {
	for t0 := time.Now(); h.left.Load() > 0; {
		if time.Since(t0) < helperSpin {
			runtime.Gosched()
			continue
		}
		h.callerWait.Store(true)
		if h.left.Load() == 0 {
			if !h.callerWait.CompareAndSwap(true, false) {
				<-h.done // a helper saw the flag and sends
			}
			return
		}
		<-h.done
		return
	}
}

// loop runs helper i (worker i+1): each task published after seq last.
func (h *helpers) loop(i int, last uint64) {
	for {
		for t0 := time.Now(); h.seq.Load() == last; {
			if time.Since(t0) < helperSpin {
				runtime.Gosched()
				continue
			}
			h.asleep[i].Store(true)
			if h.seq.Load() != last { // published before the flag was seen
				if !h.asleep[i].CompareAndSwap(true, false) {
					<-h.wake[i] // the caller saw the flag and sends
				}
				break
			}
			<-h.wake[i]
		}
		last = h.seq.Load()
		h.task(i + 1)
		if h.left.Add(-1) == 0 && h.callerWait.CompareAndSwap(true, false) {
			h.done <- struct{}{}
		}
	}
}
