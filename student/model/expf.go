package model

import "math"

// expf is e^x in float32 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, a
// degree-6 polynomial for e^r, 2^n in the exponent bits), within 2 ulp of
// the float32 rounding of math.Exp at about half its cost. Softmax and
// SiLU spend most of their time here.
func expf(x float32) float32 {
	switch {
	case x != x: // NaN
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		return 0 // below the smallest normal; HF's float32 exp gives ~0 there too
	}
	fx := x * 1.44269504088896341 // log2(e)
	var n int32
	if fx >= 0 {
		n = int32(fx + 0.5)
	} else {
		n = int32(fx - 0.5)
	}
	fn := float32(n)
	r := x - fn*0.693359375 - fn*-2.12194440e-4
	z := r * r
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y := p*z + r + 1
	// n ∈ [-126, 128]; 2^128 is split so the exponent bits stay valid.
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}
