package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// GGUF container constants (ggml's gguf.h, version 3).
const (
	magic     = "GGUF"
	version   = 3
	alignment = 32 // general.alignment's default, which we do not override
)

// valueType is enum gguf_type.
type valueType uint32

const (
	typeUint32  valueType = 4
	typeInt32   valueType = 5
	typeFloat32 valueType = 6
	typeBool    valueType = 7
	typeString  valueType = 8
	typeArray   valueType = 9
)

// kv is one metadata entry; val is uint32, int32, float32, bool, string,
// []string or []int32.
type kv struct {
	key string
	val any
}

// tensor is one tensor to write: its shape in Hugging Face order (outermost
// first; GGUF stores it reversed, ne[0] innermost) and a function that
// encodes its data, called once while the file is written.
type tensor struct {
	name   string
	shape  []int
	typ    Type
	encode func() ([]byte, error)
}

func (t *tensor) nbytes() int64 {
	rows := int64(1)
	for _, s := range t.shape[:len(t.shape)-1] {
		rows *= int64(s)
	}
	return rows * t.typ.RowBytes(t.shape[len(t.shape)-1])
}

func pad(n int64) int64 { return (n + alignment - 1) / alignment * alignment }

// writeFile writes a GGUF v3 file: header, metadata, tensor infos, then the
// data of each tensor at an offset aligned to 32 bytes. It writes a
// temporary file beside path and renames it, so path is never half-written.
func writeFile(path string, kvs []kv, tensors []*tensor) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	e := &enc{w: bw}
	e.raw([]byte(magic))
	e.u32(version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, p := range kvs {
		e.str(p.key)
		if err := e.value(p.val); err != nil {
			return fmt.Errorf("%s: metadata %s: %w", path, p.key, err)
		}
	}
	var off int64
	for _, t := range tensors {
		e.str(t.name)
		e.u32(uint32(len(t.shape)))
		for i := len(t.shape) - 1; i >= 0; i-- {
			e.u64(uint64(t.shape[i]))
		}
		e.u32(uint32(t.typ))
		e.u64(uint64(off))
		off += pad(t.nbytes())
	}
	e.zeros(pad(e.n) - e.n)
	for _, t := range tensors {
		b, err := t.encode()
		if err != nil {
			return fmt.Errorf("%s: tensor %s: %w", path, t.name, err)
		}
		if int64(len(b)) != t.nbytes() {
			return fmt.Errorf("%s: tensor %s: encoded %d bytes, want %d", path, t.name, len(b), t.nbytes())
		}
		e.raw(b)
		e.zeros(pad(int64(len(b))) - int64(len(b)))
	}
	if e.err != nil {
		return fmt.Errorf("%s: %w", path, e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// enc writes little-endian GGUF primitives, keeping the first error and
// counting bytes for the alignment of the data section.
type enc struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *enc) raw(b []byte) {
	if e.err != nil {
		return
	}
	k, err := e.w.Write(b)
	e.n += int64(k)
	e.err = err
}

func (e *enc) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.raw(e.buf[:4]) }
func (e *enc) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *enc) zeros(n int64) {
	var z [alignment]byte
	e.raw(z[:n])
}

func (e *enc) value(v any) error {
	switch x := v.(type) {
	case uint32:
		e.u32(uint32(typeUint32))
		e.u32(x)
	case int32:
		e.u32(uint32(typeInt32))
		e.u32(uint32(x))
	case float32:
		e.u32(uint32(typeFloat32))
		e.u32(math.Float32bits(x))
	case bool:
		e.u32(uint32(typeBool))
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.u32(uint32(typeString))
		e.str(x)
	case []string:
		e.u32(uint32(typeArray))
		e.u32(uint32(typeString))
		e.u64(uint64(len(x)))
		for _, s := range x {
			e.str(s)
		}
	case []int32:
		e.u32(uint32(typeArray))
		e.u32(uint32(typeInt32))
		e.u64(uint64(len(x)))
		for _, i := range x {
			e.u32(uint32(i))
		}
	default:
		return fmt.Errorf("value of type %T", v)
	}
	return nil
}

func putF32(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }
