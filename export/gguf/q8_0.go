package gguf

import (
	"encoding/binary"
	"math"
)

// quantizeQ8_0 is ggml's quantize_row_q8_0_ref: per block of 32, d = amax/127
// (as f16) and q = round(x/d) with the reciprocal taken once in float32.
func quantizeQ8_0(dst []byte, x []float32) {
	for len(x) > 0 {
		var amax float32
		for _, v := range x[:32] {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(dst, f32ToF16(d))
		for j, v := range x[:32] {
			dst[2+j] = byte(int8(math.Round(float64(v * id)))) // roundf: half away from zero
		}
		x, dst = x[32:], dst[34:]
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
