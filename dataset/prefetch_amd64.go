//go:build !purego

package dataset

// prefetch asks the CPU to start loading the cache line of p without
// waiting for it (prefetch_amd64.s).
//
//go:noescape
func prefetch(p *uint64)
