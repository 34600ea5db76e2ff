//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

// mapFile maps the whole file read-only, so opening a 30 GB checkpoint costs
// no memory until tensors are read, and pages are shared with the page cache.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if int64(int(size)) != size {
		return readFile(f, size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readFile(f, size) // e.g. a filesystem without mmap support
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
