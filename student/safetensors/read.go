package safetensors

import (
	"io"
	"os"
)

// readFile is the fallback where mapping is unavailable: the whole file in
// memory.
func readFile(f *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
