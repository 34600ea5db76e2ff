// Package kernel holds the forward kernels that inference (student/model)
// and training (student/graph) share: exp, RMSNorm, rotary embeddings,
// the SwiGLU gate and the linear layer, each rounded as Hugging Face's
// float32 path rounds, so that the trained and the served model compute the
// same numbers. They are
// generic over float32 and float64; the float64 instantiation serves the
// training graph's finite-difference checks. On amd64 with AVX2 the float32
// exp of the softmaxes (ExpSub, ExpSubSum) and of SwiGLU runs eight lanes at
// a time in assembly (exp_amd64.s), bit for bit as the scalar Expf; the
// purego build tag keeps to Go.
//
// It imports nothing of ours.
package kernel

import (
	"math"
	"unsafe"
)

// Float is the element type of the kernels.
type Float interface{ ~float32 | ~float64 }

// Exp is e^x: Expf for float32, math.Exp for float64.
func Exp[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(Expf(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// Expf is e^x in float32 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, a
// degree-6 polynomial for e^r, 2^n in the exponent bits), within 2 ulp of
// the float32 rounding of math.Exp at about half its cost (math.Exp was 17%
// of a training step). Softmax and SiLU spend most of their time here.
func Expf(x float32) float32 {
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

// RMSNorm normalises each row of x as HF's Qwen2RMSNorm/LlamaRMSNorm do:
// y = x·rstd·w with rstd = 1/sqrt(mean(x²) + eps), the mean rounded to T
// before eps is added. rstd, when not nil, keeps each row's rstd for the
// backward pass.
//
//	x, y: [n, H]; w: [H]; rstd: [n] or nil. y may alias x.
func RMSNorm[T Float](y, rstd, x, w []T, eps T) {
	h := len(w)
	for r := 0; (r+1)*h <= len(x); r++ {
		xr, yr := x[r*h:(r+1)*h], y[r*h:(r+1)*h]
		// A float64 sum keeps the mean exact to float32 precision for any H,
		// as torch's pairwise reduction nearly does.
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		rs := T(1 / math.Sqrt(float64(T(ss/float64(h))+eps)))
		if rstd != nil {
			rstd[r] = rs
		}
		for i, v := range xr {
			yr[i] = w[i] * (v * rs)
		}
	}
}

// RopeTables fills cos and sin for each position from the inverse
// frequencies (model.RopeInvFreq). HF multiplies inv_freq by the positions
// in float32; so do we, whatever T is.
//
//	invFreq: [D/2]; pos: [n]; cos, sin: [n, D/2]
func RopeTables[T Float](cos, sin []T, invFreq []float64, pos []int) {
	half := len(invFreq)
	for j, p := range pos {
		for i, f := range invFreq {
			s, c := math.Sincos(float64(float32(f) * float32(p)))
			cos[j*half+i], sin[j*half+i] = T(c), T(s)
		}
	}
}

// Rope rotates every head of one row with HF's rotate_half convention (the
// two halves of a head form the pairs, not adjacent elements):
// y1 = x1·cos − x2·sin, y2 = x2·cos + x1·sin.
//
//	x, y: [heads*D]; cos, sin: [D/2]. y may alias x.
func Rope[T Float](y, x, cos, sin []T) {
	half := len(cos)
	d := 2 * half
	for o := 0; o+d <= len(x); o += d {
		x1, x2 := x[o:o+half], x[o+half:o+d]
		y1, y2 := y[o:o+half], y[o+half:o+d]
		for i := range half {
			a, b := x1[i], x2[i]
			y1[i] = a*cos[i] - b*sin[i]
			y2[i] = b*cos[i] + a*sin[i]
		}
	}
}

// SwiGLU is the gate of the MLP, m = silu(g)·u with silu(g) = g·σ(g), as
// torch computes it. sig, when not nil, keeps σ(g) for the backward pass.
// In float32 on amd64 with AVX2 it runs eight lanes at a time, bit for bit
// as the scalar loop.
//
//	g, u, m: [n]; sig: [n] or nil. m may alias g.
func SwiGLU[T Float](m, sig, g, u []T) {
	u, m = u[:len(g)], m[:len(g)]
	i := 0
	if g32, ok := asF32(g); ok {
		m32, _ := asF32(m)
		sig32, _ := asF32(sig)
		u32, _ := asF32(u)
		i = swigluVec(m32, sig32, g32, u32)
	}
	for ; i < len(g); i++ {
		x := g[i]
		s := 1 / (1 + Exp(-x))
		if sig != nil {
			sig[i] = s
		}
		m[i] = x * s * u[i]
	}
}

// Linear is a linear layer with HF's [out, in] weight layout. The product
// comes from the caller's matMulBT (y = x·Wᵀ, threaded as the caller's
// workload wants: inference splits columns, training rows); the bias is
// added after it, so both sides round the sum the same way.
//
//	x [n,in], W [out,in], b [out] or empty -> y [n,out] = x·Wᵀ + b
func Linear[T Float](matMulBT func(y, x, w []T, n, in, out int), y, x, w, b []T, n, in, out int) {
	matMulBT(y, x, w, n, in, out)
	if len(b) == 0 {
		return
	}
	for r := range n {
		yr := y[r*out : (r+1)*out]
		for i, v := range b {
			yr[i] += v
		}
	}
}
