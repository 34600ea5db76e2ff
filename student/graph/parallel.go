package graph

import (
	"runtime"
	"sync"
)

// workers is how many goroutines the kernels split rows over.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallelFor runs f(worker, lo, hi) over [0, n) split into at most w
// contiguous chunks, so that each worker owns its rows (and its scratch
// buffer, by worker index) and nothing is shared between them.
func parallelFor(w, n int, f func(worker, lo, hi int)) {
	w = min(w, n)
	if w <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	f(0, 0, n/w) // on the caller, which would only wait
	wg.Wait()
}

// parallelShares runs f(i, lo, hi) over the rows of several items, item i
// having rows[i] rows of cost[i] each, cut into w shares of equal cost: the
// items are laid end to end and worker j takes the j-th w-th of the whole,
// so it runs whole items where it can, and at most w-1 items are split by
// rows (between neighbouring workers). Each worker runs its ranges in
// order, one call per item. (Cutting the shares finer, so that a worker
// done early could take chunks of the other's, measured 3–5% slower at
// qwen-small: OpenBLAS runs a product of fewer rows less efficiently.)
// Work under minShareCost, or a lone item of fewer than two rows a worker,
// runs on the caller.
func parallelShares(w int, rows, cost []int, f func(i, lo, hi int)) {
	total := 0
	for i := range rows {
		total += rows[i] * max(cost[i], 1)
	}
	if total < minShareCost || (len(rows) == 1 && rows[0] < 2*w) {
		w = 1
	}
	parallelFor(w, w, func(j, _, _ int) {
		from, to := j*total/w, (j+1)*total/w
		start := 0
		for i := range rows {
			c := max(cost[i], 1)
			// the same cut, rounded to a row, on both sides of a boundary
			lo := min(max(from-start+c/2, 0)/c, rows[i])
			hi := min(max(to-start+c/2, 0)/c, rows[i])
			if lo < hi {
				f(i, lo, hi)
			}
			start += rows[i] * c
		}
	})
}

// minShareCost is the least work (multiply-adds) parallelShares splits:
// about 6 µs of one core, not worth a goroutine's start and wait.
const minShareCost = 1 << 18

// parallelClear zeroes the slices xs, all split over the workers in one
// call: each step clears every gradient (about 170 MB of activation
// gradients and 20 MB of weight gradients at qwen-tiny 8×256, in tens of
// slices), and two cores clear 1.4× faster than one (19 against 13 GB/s
// measured). One call rather than one per slice spares a goroutine start
// and a wait for each.
func parallelClear[T Float](xs [][]T) {
	units := 0 // of 64Ki elements, at least one per slice
	for _, x := range xs {
		units += len(x)>>16 + 1
	}
	parallelFor(workers(), units, func(_, lo, hi int) {
		start := 0
		for _, x := range xs {
			n := len(x)>>16 + 1
			if a, b := max(lo, start), min(hi, start+n); a < b {
				clear(x[(a-start)<<16 : min((b-start)<<16, len(x))])
			}
			start += n
		}
	})
}
