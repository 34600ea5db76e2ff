package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(Expf(x))
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
	}
	// float32 has a 6e-8 unit roundoff: 2 ulp is about 2.4e-7.
	if worst > 2.5e-7 {
		t.Errorf("max relative error %.3g", worst)
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {100, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	} {
		if got := Expf(tc.x); got != tc.want {
			t.Errorf("Expf(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if nan := float32(math.NaN()); Expf(nan) == Expf(nan) {
		t.Error("Expf(NaN) is not NaN")
	}
}

func BenchmarkExpf(b *testing.B) {
	var s float32
	for b.Loop() {
		for x := float32(-10); x < 0; x += 0.01 {
			s += Expf(x)
		}
	}
	sinkf = s
}

func BenchmarkExp64(b *testing.B) {
	var s float32
	for b.Loop() {
		for x := float32(-10); x < 0; x += 0.01 {
			s += float32(math.Exp(float64(x)))
		}
	}
	sinkf = s
}

var sinkf float32

// ulps is |got − want| in units of float32's unit roundoff relative to
// scale.
func ulps(got float32, want, scale float64) float64 {
	return math.Abs(float64(got)-want) / (scale * 0x1p-24)
}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		n, h  int
		scale float64
		eps   float32
	}{
		{1, 1, 1, 1e-6},
		{3, 7, 1, 1e-6},
		{2, 896, 1, 1e-6},
		{2, 64, 1e4, 1e-5},
		{2, 64, 1e-4, 1e-6}, // eps dominates mean(x²)
	}
	for _, tt := range tests {
		x, w := randn(rng, tt.n*tt.h, tt.scale), randn(rng, tt.h, 1)
		y, rstd := make([]float32, len(x)), make([]float32, tt.n)
		RMSNorm(y, rstd, x, w, tt.eps)
		in := append([]float32(nil), x...)
		RMSNorm(in, nil, in, w, tt.eps)
		for r := range tt.n {
			// The float64 reference of HF's formula.
			var ss float64
			for _, v := range x[r*tt.h : (r+1)*tt.h] {
				ss += float64(v) * float64(v)
			}
			rs := 1 / math.Sqrt(ss/float64(tt.h)+float64(tt.eps))
			if e := ulps(rstd[r], rs, rs); e > 2 {
				t.Errorf("%+v row %d: rstd %g, reference %g (%.1f ulp)", tt, r, rstd[r], rs, e)
			}
			for i := range tt.h {
				k := r*tt.h + i
				want := float64(x[k]) * rs * float64(w[i])
				if e := ulps(y[k], want, math.Abs(want)); e > 4 {
					t.Errorf("%+v [%d,%d]: %g, reference %g (%.1f ulp)", tt, r, i, y[k], want, e)
				}
				if in[k] != y[k] {
					t.Errorf("%+v [%d,%d]: in place %g, out of place %g", tt, r, i, in[k], y[k])
				}
			}
		}
	}
}

// TestRope holds the rotation to the complex product (x1 + i·x2)·e^(iθ) in
// float64, with θ the position times the frequency as HF rounds it.
func TestRope(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inv := []float64{1, 0.1, 0.01, 1e-4}
	pos := []int{0, 1, 17, 4095}
	const heads = 3
	half := len(inv)
	cos, sin := make([]float32, len(pos)*half), make([]float32, len(pos)*half)
	RopeTables(cos, sin, inv, pos)
	for j, p := range pos {
		x := randn(rng, heads*2*half, 1)
		y := make([]float32, len(x))
		Rope(y, x, cos[j*half:(j+1)*half], sin[j*half:(j+1)*half])
		for h := range heads {
			for i, f := range inv {
				a, b := float64(x[h*2*half+i]), float64(x[h*2*half+half+i])
				th := float64(float32(f) * float32(p))
				want1, want2 := a*math.Cos(th)-b*math.Sin(th), b*math.Cos(th)+a*math.Sin(th)
				norm := math.Hypot(a, b)
				if e1, e2 := ulps(y[h*2*half+i], want1, norm), ulps(y[h*2*half+half+i], want2, norm); e1 > 4 || e2 > 4 {
					t.Errorf("pos %d head %d pair %d: (%g, %g), reference (%g, %g)", p, h, i, y[h*2*half+i], y[h*2*half+half+i], want1, want2)
				}
			}
		}
	}
}

func TestSwiGLU(t *testing.T) {
	tests := []struct{ g, u float32 }{
		{0, 1}, {1, 1}, {-1, 2}, {5, -0.5}, {-20, 3}, {30, 1e-3}, {-90, 1},
	}
	g, u := make([]float32, len(tests)), make([]float32, len(tests))
	for i, tt := range tests {
		g[i], u[i] = tt.g, tt.u
	}
	m, sig := make([]float32, len(g)), make([]float32, len(g))
	SwiGLU(m, sig, g, u)
	in := append([]float32(nil), g...)
	SwiGLU(in, nil, in, u)
	for i, tt := range tests {
		s := 1 / (1 + math.Exp(-float64(tt.g)))
		want := float64(tt.g) * s * float64(tt.u)
		if e := ulps(m[i], want, math.Abs(want)); e > 4 && math.Abs(want) > 1e-30 {
			t.Errorf("SwiGLU(%g, %g) = %g, reference %g (%.1f ulp)", tt.g, tt.u, m[i], want, e)
		}
		if e := ulps(sig[i], s, s); e > 4 && s > 1e-30 {
			t.Errorf("σ(%g) = %g, reference %g", tt.g, sig[i], s)
		}
		if in[i] != m[i] {
			t.Errorf("SwiGLU(%g, %g) in place %g, out of place %g", tt.g, tt.u, in[i], m[i])
		}
	}
	// The float64 instantiation is the reference to float64 rounding.
	g64, u64, m64 := []float64{-3, 0.5, 7}, []float64{2, -1, 0.25}, make([]float64, 3)
	SwiGLU(m64, nil, g64, u64)
	for i := range g64 {
		if want := g64[i] / (1 + math.Exp(-g64[i])) * u64[i]; math.Abs(m64[i]-want) > 1e-15*math.Abs(want) {
			t.Errorf("float64 SwiGLU(%g, %g) = %g, reference %g", g64[i], u64[i], m64[i], want)
		}
	}
}

func TestLinear(t *testing.T) {
	// A naive float64 product stands in for the caller's BLAS.
	naive := func(y, x, w []float64, n, in, out int) {
		for r := range n {
			for o := range out {
				var s float64
				for i := range in {
					s += x[r*in+i] * w[o*in+i]
				}
				y[r*out+o] = s
			}
		}
	}
	x := []float64{1, 2, 3, -1, 0.5, 4} // [2,3]
	w := []float64{1, 0, -1, 2, 1, 0.5} // [2,3]
	tests := []struct {
		name string
		b    []float64
		want []float64
	}{
		{"no bias", nil, []float64{-2, 5.5, -5, 0.5}},
		{"bias", []float64{0.5, -1}, []float64{-1.5, 4.5, -4.5, -0.5}},
	}
	for _, tt := range tests {
		y := make([]float64, 4)
		Linear(naive, y, x, w, tt.b, 2, 3, 2)
		for i := range y {
			if y[i] != tt.want[i] {
				t.Errorf("%s: y = %v, want %v", tt.name, y, tt.want)
				break
			}
		}
	}
}
