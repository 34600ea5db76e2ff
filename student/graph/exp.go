package graph

import (
	"math"
	"unsafe"
)

// exp is e^x: math.Exp for float64 (the gradient checks), expf below for
// float32, where math.Exp's float64 path was 17% of a training step.
func exp[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(expf(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// expf is Cephes' single-precision exp: x = n·ln2 + r with |r| ≤ ln2/2,
// e^r by a degree-6 polynomial, 2^n by building the exponent bits. Relative
// error below 2e-7 over the whole range; underflows to e^-87.3 (~1e-38)
// rather than 0, which no softmax here can tell apart.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		x = -87.33654
	}
	n := float32(int32(x*log2e + 0.5))
	if x*log2e+0.5 < 0 && n != x*log2e+0.5 {
		n-- // floor for negative arguments
	}
	r := x - n*ln2hi - n*ln2lo
	z := r * r
	y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y = y*z + r + 1
	if n > 127 { // 2^128 has no float32; e^x is still finite up to 88.72
		return y * 2 * math.Float32frombits(uint32(int32(n)+126)<<23)
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}
