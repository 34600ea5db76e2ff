//go:build !amd64 || purego

package dataset

// prefetch does nothing without the instruction (off amd64, or -tags
// purego): lookups then wait for memory as they come.
func prefetch(*uint64) {}
