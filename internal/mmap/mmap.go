// Package mmap maps files read-only into memory, so that checkpoints and
// token caches live in the page cache (shared, read ahead, dropped under
// pressure) instead of the Go heap.
//
// It imports nothing of ours.
package mmap

import (
	"fmt"
	"io"
	"os"
)

// read is the fallback where mapping is unavailable: correct, but the whole
// file then counts against the heap.
func read(f *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, nil, fmt.Errorf("read %d bytes: %w", size, err)
	}
	return b, func() error { return nil }, nil
}
