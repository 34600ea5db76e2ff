//go:build !unix

package mmap

import "os"

// File reads the first size bytes of f: there is no mmap here.
func File(f *os.File, size int64) ([]byte, func() error, error) { return read(f, size) }
