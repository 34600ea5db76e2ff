package gguf

import "fmt"

// Quantize encodes x, rows of rowLen weights, as type t in ggml's byte
// layout. Rows must be a whole number of t's blocks.
func Quantize(t Type, x []float32, rowLen int) ([]byte, error) {
	info, ok := types[t]
	if !ok {
		return nil, fmt.Errorf("quantize: %v is not supported", t)
	}
	if rowLen <= 0 || len(x)%rowLen != 0 || rowLen%info.block != 0 {
		return nil, fmt.Errorf("quantize %v: rows of %d weights are not whole blocks of %d", t, rowLen, info.block)
	}
	dst := make([]byte, int64(len(x)/rowLen)*t.RowBytes(rowLen))
	switch t {
	case F32:
		for i, v := range x {
			putF32(dst[4*i:], v)
		}
	case F16:
		for i, v := range x {
			h := f32ToF16(v)
			dst[2*i], dst[2*i+1] = byte(h), byte(h>>8)
		}
	case Q8_0:
		quantizeQ8_0(dst, x)
	case Q4_0:
		quantizeQ4_0(dst, x)
	case Q5_0:
		quantizeQ5_0(dst, x)
	case Q4_K:
		quantizeQ4_K(dst, x)
	case Q5_K:
		quantizeQ5_K(dst, x)
	case Q6_K:
		quantizeQ6_K(dst, x)
	}
	return dst, nil
}
