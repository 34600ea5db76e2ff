//go:build unix

package mmap

import (
	"os"
	"syscall"
)

// File maps the first size bytes of f read-only and shared, and returns them
// with the function that unmaps them. Where the file cannot be mapped (a size
// past the address space, a filesystem without mmap) it reads the bytes
// instead.
func File(f *os.File, size int64) ([]byte, func() error, error) {
	if int64(int(size)) != size {
		return read(f, size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return read(f, size)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
