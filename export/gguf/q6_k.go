package gguf

import "encoding/binary"

// quantizeQ6_K is ggml's quantize_row_q6_K_ref: super-blocks of 256 weights
// in 16 groups of 16 with symmetric 6-bit levels (make_qx_quants), the group
// scales quantised to int8 against the block's f16 d. Low nibbles go to ql,
// the two high bits of four weights to one byte of qh.
func quantizeQ6_K(dst []byte, x []float32) {
	var (
		L      [256]int8
		scales [16]float32
	)
	for len(x) > 0 {
		var maxScale, maxAbsScale float32
		for ib := range 16 {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		blk := dst[:210]
		ql, qh, sc := blk[0:128], blk[128:192], blk[192:208]
		if maxAbsScale < groupMaxEps {
			clear(blk)
			x, dst = x[256:], dst[210:]
			continue
		}
		iscale := -128 / maxScale
		dh := f32ToF16(1 / iscale)
		binary.LittleEndian.PutUint16(blk[208:], dh)
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		for j := range 16 {
			d := f16ToF32(dh) * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := range 16 {
				l := max(-32, min(31, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 32)
			}
		}
		for j := 0; j < 256; j += 128 {
			for l := range 32 {
				q1 := uint8(L[j+l]) & 0xf
				q2 := uint8(L[j+l+32]) & 0xf
				q3 := uint8(L[j+l+64]) & 0xf
				q4 := uint8(L[j+l+96]) & 0xf
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
			ql, qh = ql[64:], qh[32:]
		}
		x, dst = x[256:], dst[210:]
	}
}
