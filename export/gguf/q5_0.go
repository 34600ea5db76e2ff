package gguf

import "encoding/binary"

// quantizeQ5_0 is ggml's quantize_row_q5_0_ref: as Q4_0 with d = max/−16 and
// 5-bit values, whose fifth bits go to a 32-bit mask after the scale.
// llama.cpp's quantiser uses it for Q4_K tensors whose rows are not a
// multiple of 256.
func quantizeQ5_0(dst []byte, x []float32) {
	for len(x) > 0 {
		d := absMax(x[:32]) / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(dst, f32ToF16(d))
		var qh uint32
		for j := range 16 {
			lo := min(31, uint8(int8(float32(x[j]*id)+16.5)))
			hi := min(31, uint8(int8(float32(x[16+j]*id)+16.5)))
			dst[6+j] = lo&0xf | (hi&0xf)<<4
			qh |= uint32(lo>>4) << j
			qh |= uint32(hi>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(dst[2:], qh)
		x, dst = x[32:], dst[22:]
	}
}
