package model

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every chunk runs exactly once with a worker id below size(), whether the
// split has the team to itself, runs while another caller's split holds
// it (then on the caller alone), or comes after the workers have parked.
func TestTeamRunsEveryChunkOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	tm := newTeam()
	check := func(n int) {
		counts := make([]atomic.Int32, n)
		var badID atomic.Bool
		size := tm.size()
		tm.run(n, func(w, c int) {
			if w < 0 || w >= size {
				badID.Store(true)
			}
			counts[c].Add(1)
		})
		if badID.Load() {
			t.Errorf("n=%d: a worker id outside [0, %d)", n, size)
		}
		for c := range counts {
			if k := counts[c].Load(); k != 1 {
				t.Fatalf("n=%d: chunk %d ran %d times", n, c, k)
			}
		}
	}
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		check(n)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				check(n % 37)
			}
		}()
	}
	wg.Wait()
	time.Sleep(3 * spinFor) // the workers park
	check(64)
}
