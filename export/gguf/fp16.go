package gguf

import "math"

// f32ToF16 rounds f to the nearest IEEE half (ties to even), with
// subnormals, infinities and NaN, as GGML_FP32_TO_FP16 and numpy's
// astype(float16) do.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff && mant != 0:
		return sign | 0x7e00
	case exp == 0xff:
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e > 0 {
		h := uint32(e)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // a carry into the exponent is the right result, up to infinity
		}
		return sign | uint16(h)
	}
	// Subnormal half: the value is m·2^(exp−150) and a half subnormal unit
	// is 2^−24, so the units are m shifted right by 126−exp.
	s := uint(126 - exp)
	if s > 24 {
		return sign
	}
	m := mant | 0x800000
	k := m >> s
	rest, half := m&(1<<s-1), uint32(1)<<(s-1)
	if rest > half || (rest == half && k&1 == 1) {
		k++
	}
	return sign | uint16(k)
}

// f16ToF32 is the exact value of a half.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant·2^−24, exact in float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}
