package graph

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelForCoversOnce: every index of [0, n) goes to exactly one
// call, each worker index to at most one, through the helpers, through the
// goroutines started when the helpers are busy (two callers at once, a
// call nested in another), and for more workers than the helpers.
func TestParallelForCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	check := func(t *testing.T, w, n int) {
		t.Helper()
		hits := make([]atomic.Int32, n)
		var seen [8]atomic.Int32
		parallelFor(w, n, func(worker, lo, hi int) {
			seen[worker].Add(1)
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("w=%d n=%d: index %d run %d times", w, n, i, h)
			}
		}
		for i := range seen {
			if s := seen[i].Load(); s > 1 {
				t.Fatalf("w=%d n=%d: worker %d called %d times", w, n, i, s)
			}
		}
	}
	for _, tt := range []struct{ w, n int }{{1, 10}, {2, 1}, {2, 2}, {2, 1001}, {3, 50}, {8, 7}} {
		t.Run(fmt.Sprintf("w=%d n=%d", tt.w, tt.n), func(t *testing.T) {
			for range 50 { // helpers parked and spinning between calls
				check(t, tt.w, tt.n)
			}
		})
	}
	t.Run("concurrent callers", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 200 {
					check(t, 2, 333)
				}
			})
		}
		wg.Wait()
	})
	t.Run("nested", func(t *testing.T) {
		var total atomic.Int32
		parallelFor(2, 2, func(_, lo, hi int) {
			parallelFor(2, 10, func(_, lo, hi int) { total.Add(int32(hi - lo)) })
		})
		if total.Load() != 20 {
			t.Fatalf("nested calls covered %d indices, want 20", total.Load())
		}
	})
}

// TestRowChunks: the chunks tile [0, m) in order, the first w of them
// (one per worker) split the head evenly on multiples of 16, and the tail
// chunks are of one size and at most an eighth of m.
func TestRowChunks(t *testing.T) {
	tests := []struct {
		m, w int
		want []int
	}{
		{2048, 2, []int{896, 1792, 1856, 1920, 1984, 2048}},
		{8192, 2, []int{3584, 7168, 7424, 7680, 7936, 8192}},
		{512, 2, []int{224, 448, 512}},
		{200, 2, []int{96, 200}},
		{4, 2, []int{0, 4}},
		{1000, 3, []int{304, 624, 936, 1000}},
	}
	for _, tt := range tests {
		got := rowChunks(tt.m, tt.w)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("rowChunks(%d, %d) = %v, want %v", tt.m, tt.w, got, tt.want)
		}
	}
	for m := 1; m < 3000; m += 7 {
		for w := 2; w <= 4; w++ {
			ends := rowChunks(m, w)
			if len(ends) < w || ends[len(ends)-1] != m {
				t.Fatalf("rowChunks(%d, %d) = %v: not %d or more chunks ending at m", m, w, ends, w)
			}
			for i := 1; i < len(ends); i++ {
				if ends[i] < ends[i-1] {
					t.Fatalf("rowChunks(%d, %d) = %v: not in order", m, w, ends)
				}
			}
			if tail := m - ends[w-1]; tail > m/8 {
				t.Fatalf("rowChunks(%d, %d) = %v: tail of %d rows", m, w, ends, tail)
			}
		}
	}
}

// TestParallelChunksCoversOnce: each chunk runs exactly once whoever takes
// it.
func TestParallelChunksCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, m := range []int{2, 200, 2048, 8192} {
		for range 20 {
			hits := make([]atomic.Int32, m)
			parallelChunks(2, rowChunks(m, 2), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("m=%d: row %d run %d times", m, i, h)
				}
			}
		}
	}
}
