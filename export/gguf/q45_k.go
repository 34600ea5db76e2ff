package gguf

import (
	"encoding/binary"
	"math"
)

// quantizeQ4_K is ggml's quantize_row_q4_K_ref: super-blocks of 256 weights
// (144 bytes: f16 d and dmin, 12 bytes of 6-bit scales and mins, 128 bytes
// of nibbles, weights j and j+32 of each 64 sharing a byte).
func quantizeQ4_K(dst []byte, x []float32) {
	var L [256]uint8
	for len(x) > 0 {
		scalesMinsK(dst[:16], x[:256], L[:], 15, -1, 20)
		q := dst[16:144]
		for j := 0; j < 256; j += 64 {
			for l := range 32 {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
		x, dst = x[256:], dst[144:]
	}
}

// quantizeQ5_K is ggml's quantize_row_q5_K_ref: as Q4_K with 5-bit levels
// (176 bytes: the same 16-byte header, 32 bytes of fifth bits, 128 of
// nibbles). llama.cpp's Q4_K_M uses it for attn_v of 70B models.
func quantizeQ5_K(dst []byte, x []float32) {
	var L [256]uint8
	for len(x) > 0 {
		scalesMinsK(dst[:16], x[:256], L[:], 31, -0.5, 15)
		qh, ql := dst[16:48], dst[48:176]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < 256; n += 64 {
			for j := range 32 {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1, m2 = m1<<2, m2<<2
			ql = ql[32:]
		}
		x, dst = x[256:], dst[176:]
	}
}

// scalesMinsK is the part Q4_K and Q5_K share: 8 groups of 32, each with
// levels 0..nmax, a scale and a minimum from make_qkx2_quants weighted by
// rms + |x|; the scales and mins quantised to 6 bits against the block's
// f16 d and dmin (written to hdr: d, dmin, 12 packed bytes); then every
// level recomputed from the quantised scale and min.
func scalesMinsK(hdr []byte, x []float32, L []uint8, nmax int, rmin float32, nstep int) {
	var (
		laux    [32]uint8
		weights [32]float32
		mins    [8]float32
		scales  [8]float32
	)
	var maxScale, maxMin float32
	for j := range 8 {
		g := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range g {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range g {
			weights[l] = avX + abs32(v)
		}
		scales[j] = makeQKX2Quants(nmax, g, weights[:], L[32*j:32*j+32], laux[:], &mins[j], rmin, 0.1, nstep)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := hdr[4:16]
	for j := range 8 {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j], sc[j+4] = ls, lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	dh, mh := f32ToF16(maxScale/63), f32ToF16(maxMin/63)
	binary.LittleEndian.PutUint16(hdr[0:], dh)
	binary.LittleEndian.PutUint16(hdr[2:], mh)
	for j := range 8 {
		s, m := scaleMinK4(j, sc)
		d := f16ToF32(dh) * float32(s)
		if d == 0 {
			continue
		}
		dm := f16ToF32(mh) * float32(m)
		for ii := range 32 {
			l := nearestInt((x[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(max(0, min(nmax, l)))
		}
	}
}

// scaleMinK4 is get_scale_min_k4: group j's 6-bit scale and min.
func scaleMinK4(j int, q []byte) (d, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}
