package dataset

import (
	"context"
	"sync"
)

// orderedMap runs f over the values of in with workers goroutines and hands
// the results to sink in the order of in: the work is parallel, the state
// that sink keeps (dedup, counters, the Parquet writer) sees one ordered
// stream, so the output does not depend on scheduling. At most 2*workers
// values are in flight, which bounds memory.
func orderedMap[In, Out any](ctx context.Context, in <-chan In, workers int, f func(w int, v In) Out, sink func(Out) error) error {
	type job struct {
		v   In
		res chan Out
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	order := make(chan chan Out, 2*workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := range jobs {
				j.res <- f(w, j.v)
			}
		}(w)
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for v := range in {
			res := make(chan Out, 1)
			select {
			case order <- res:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{v, res}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for res := range order {
		if err != nil {
			continue
		}
		select {
		case out := <-res:
			err = sink(out)
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	return err
}
