package gguf

import "encoding/binary"

// absMax returns the weight of largest magnitude in a block, the first one
// on ties, as q4_0 and q5_0 pick the sign of their scale from it.
func absMax(x []float32) float32 {
	var amax, m float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, m = a, v
		}
	}
	return m
}

// quantizeQ4_0 is ggml's quantize_row_q4_0_ref: per block of 32, d = max/−8
// where max is the signed weight of largest magnitude; q = min(15,
// trunc(x/d + 8.5)); weight j goes in the low nibble of byte j, weight
// 16+j in its high nibble.
func quantizeQ4_0(dst []byte, x []float32) {
	for len(x) > 0 {
		d := absMax(x[:32]) / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(dst, f32ToF16(d))
		for j := range 16 {
			lo := min(15, uint8(int8(float32(x[j]*id)+8.5)))
			hi := min(15, uint8(int8(float32(x[16+j]*id)+8.5)))
			dst[2+j] = lo | hi<<4
		}
		x, dst = x[32:], dst[18:]
	}
}
