package safetensors

import (
	"encoding/binary"
	"math"
)

// dtypeSize is the element size of every dtype the format defines, so that
// a header naming any of them validates; Float32 converts only some of them.
var dtypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// convertible are the dtypes Float32 reads.
var convertible = map[string]bool{"F32": true, "F16": true, "BF16": true, "F64": true}

// decode converts little-endian elements of dtype in src to float32 in dst;
// len(dst) elements are read.
func decode(dst []float32, src []byte, dtype string) {
	switch dtype {
	case "F32":
		if littleEndian {
			copy(bytesOf(dst), src)
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case "BF16":
		if u, ok := uint16sOf(src); ok && littleEndian {
			for i, x := range u[:len(dst)] {
				dst[i] = math.Float32frombits(uint32(x) << 16)
			}
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case "F16":
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		panic("safetensors: decode of " + dtype)
	}
}

// f16ToF32 widens an IEEE 754 half exactly (every half is a float32).
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN, payload kept
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	default: // subnormal: man × 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
}

// f32ToBF16 rounds to nearest even, as torch's .to(torch.bfloat16) does,
// keeping NaNs quiet NaNs.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
