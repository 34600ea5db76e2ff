package model

import "math"

// rmsNorm normalises each row of x as HF's Qwen2RMSNorm/LlamaRMSNorm do in
// their fp32 path: out = x * rsqrt(mean(x²) + eps) * w.
//
//	x, out: [n, H]; w: [H]. out may alias x.
func rmsNorm(out, x, w []float32, eps float32) {
	h := len(w)
	for r := 0; r+h <= len(x); r += h {
		xr, or := x[r:r+h], out[r:r+h]
		// A float64 sum keeps the mean exact to float32 precision for any H.
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(float64(float32(ss/float64(h))+eps)))
		for i, v := range xr {
			or[i] = w[i] * (v * inv)
		}
	}
}
