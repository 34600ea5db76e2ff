package graph

import "sync/atomic"

// rowChunks splits the m rows of a product for w workers, as the ends of
// its chunks: one large chunk per worker (rows a multiple of 16), then a
// tail of about an eighth of m in chunks of max(64, m/32) rows that the
// workers take as they come free. With one chunk each, a product ends when
// its slower half does: on the shared 2-core machine one half regularly
// came in 5-8% behind the other (its core running other work, or its
// thread woken late). Small tail chunks cost OpenBLAS a repack of op(B)
// each, hence only a tail. The chunks depend on m and w alone, so results
// do not depend on which worker took which.
func rowChunks(m, w int) []int {
	size := max(64, m/32/16*16)
	tail := min(m/8, m-w*size) / size * size
	if tail < 0 {
		tail = 0
	}
	head := m - tail
	ends := make([]int, 0, w+tail/size)
	for i := 1; i < w; i++ {
		ends = append(ends, i*head/w/16*16)
	}
	ends = append(ends, head)
	for e := head + size; e <= m; e += size {
		ends = append(ends, e)
	}
	return ends
}

// parallelChunks runs f(lo, hi) over the chunks ending at ends: chunk i
// first to worker i (of w), the rest to whichever worker is free.
func parallelChunks(w int, ends []int, f func(lo, hi int)) {
	var next atomic.Int32
	next.Store(int32(w))
	run := func(i int) {
		for c := i; c < len(ends); c = int(next.Add(1)) - 1 {
			lo := 0
			if c > 0 {
				lo = ends[c-1]
			}
			f(lo, ends[c])
		}
	}
	if !helperPool().run(w-1, run) {
		parallelFor(w, w, func(i, _, _ int) { run(i) })
	}
}
