package safetensors

import (
	"encoding/binary"
	"unsafe"
)

// littleEndian hosts (amd64, arm64) store float32 in the file's byte order,
// so F32 tensors move with a plain copy instead of a per-element decode.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// bytesOf views a float32 slice as its bytes.
func bytesOf(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// uint16sOf views b as uint16s when it is 2-byte aligned (the data section
// of a well-formed file always is; a hostile header may misalign it).
func uint16sOf(b []byte) ([]uint16, bool) {
	if len(b) < 2 || uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		return nil, false
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2), true
}
