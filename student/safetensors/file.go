// Package safetensors reads and writes the safetensors format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw little-endian data. Files are mapped read-only and their
// headers validated as untrusted input.
//
// Of ours it may import only `internal/atomicfile` and `internal/mmap`.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"

	"github.com/distill-dev/distill/internal/mmap"
)

// File is an open safetensors file.
type File struct {
	path  string
	data  []byte // the data section
	unmap func() error
	h     *header
}

// Open maps path and validates its header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: %w: %d bytes is shorter than the 8-byte header length", path, ErrInvalid, size)
	}
	var lb [8]byte
	if _, err := f.ReadAt(lb[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("%s: %w: header length %d exceeds the %d-byte limit", path, ErrInvalid, n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("%s: %w: header length %d runs past the end of the %d-byte file", path, ErrInvalid, n, size)
	}
	hb := make([]byte, n)
	if _, err := f.ReadAt(hb, 8); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := parseHeader(hb, size-8-int64(n))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	all, unmap, err := mmap.File(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{path: path, data: all[8+n:], unmap: unmap, h: h}, nil
}

// Close unmaps the file; slices returned earlier stay valid (they are copies).
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Names lists the tensors in the order of their data.
func (f *File) Names() []string { return slices.Clone(f.h.names) }

// Metadata is the header's __metadata__ map (nil when absent).
func (f *File) Metadata() map[string]string { return f.h.metadata }

// Info returns a tensor's dtype and shape.
func (f *File) Info(name string) (dtype string, shape []int, err error) {
	t, err := f.lookup(name)
	if err != nil {
		return "", nil, err
	}
	return t.Dtype, slices.Clone(t.Shape), nil
}

// ErrNotFound is wrapped when a tensor name is absent.
var ErrNotFound = fmt.Errorf("tensor not found")

func (f *File) lookup(name string) (TensorInfo, error) {
	t, ok := f.h.tensors[name]
	if !ok {
		return TensorInfo{}, fmt.Errorf("%s: %w: %q", f.path, ErrNotFound, name)
	}
	return t, nil
}

// Float32 reads a tensor of dtype F32, BF16, F16 or F64 as float32.
func (f *File) Float32(name string) ([]float32, []int, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	dst := make([]float32, t.numel())
	if err := f.ReadFloat32(name, dst); err != nil {
		return nil, nil, err
	}
	return dst, slices.Clone(t.Shape), nil
}

// ReadFloat32 reads a tensor into dst, which must have exactly its number
// of elements; it lets callers fill preallocated weights without a copy.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, err := f.lookup(name)
	if err != nil {
		return err
	}
	if f.data == nil {
		return fmt.Errorf("%s: file is closed", f.path)
	}
	if !convertible[t.Dtype] {
		return fmt.Errorf("%s: tensor %q has dtype %s; only F32, BF16, F16 and F64 convert to float32", f.path, name, t.Dtype)
	}
	if n := t.numel(); int64(len(dst)) != n {
		return fmt.Errorf("%s: tensor %q has %d elements, destination %d", f.path, name, n, len(dst))
	}
	decode(dst, f.data[t.Begin:t.End], t.Dtype)
	return nil
}

func (t TensorInfo) numel() int64 { return (t.End - t.Begin) / dtypeSize[t.Dtype] }
