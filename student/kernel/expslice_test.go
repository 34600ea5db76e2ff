package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expInputs are the inputs the slice kernels must match Expf on: the edges
// of its range (NaN payloads, ±Inf, the cut-offs and their neighbours, the
// n = 128 band, inputs whose results are subnormal), the points where
// x·log2(e) ± 0.5 rounds to a new n, and random values, both uniform over
// the range and uniform over all bit patterns.
func expInputs(rng *rand.Rand, random int) []float32 {
	bits := []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7fffffff, 0x80000000, 0x00000001, 0x807fffff}
	xs := []float32{0, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32, 1e-40}
	for _, b := range bits {
		xs = append(xs, math.Float32frombits(b))
	}
	for _, edge := range []float32{88.72283, -87.33654, 88.3763, -86.6433, -87} {
		x := edge
		for range 64 {
			x = math.Nextafter32(x, float32(math.Inf(-1)))
		}
		for range 128 {
			xs = append(xs, x)
			x = math.Nextafter32(x, float32(math.Inf(1)))
		}
	}
	for k := -127; k <= 128; k++ {
		x := float32((float64(k) + 0.5) / math.Log2E)
		xs = append(xs, x, math.Nextafter32(x, 0), math.Nextafter32(x, 200), math.Nextafter32(x, -200))
	}
	for range random {
		switch rng.IntN(4) {
		case 0:
			xs = append(xs, math.Float32frombits(rng.Uint32()))
		case 1:
			xs = append(xs, float32(88.3+0.5*rng.Float64())) // n = 128 and beyond
		case 2:
			xs = append(xs, float32(-88+1*rng.Float64())) // subnormal results and the cut-off
		default:
			xs = append(xs, float32(-90+180*rng.Float64()))
		}
	}
	rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

// sameBits reports whether a and b are equal bit for bit, or both NaN: when
// both operands of an add or multiply are NaN, x86 returns the first one's
// payload, and which operand the compiler puts first varies from loop to
// loop, so the scalar code itself has no one NaN payload.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// TestExpSubMatchesExpf holds ExpSub and ExpSubSum to the scalar loops they
// replace, bit for bit, for every length 0..40 (the vector blocks and every
// tail) and for millions of inputs, in place and out of place, for shifts
// that are zero, ordinary, NaN and infinite.
func TestExpSubMatchesExpf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := expInputs(rng, 4<<20)
	shifts := []float32{0, 3.25, -1.5, 87, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	check := func(x []float32, c float32) {
		t.Helper()
		want := make([]float32, len(x))
		var wantSum float32
		for i, v := range x {
			want[i] = Expf(v - c)
			wantSum += want[i]
		}
		y := make([]float32, len(x))
		ExpSub(y, x, c)
		got := append([]float32(nil), x...)
		sum := ExpSubSum(got, got, c) // in place
		for i := range x {
			if !sameBits(y[i], want[i]) || !sameBits(got[i], want[i]) {
				t.Fatalf("Expf(%g - %g) = %#x (ExpSub), %#x (ExpSubSum), want %#x",
					x[i], c, math.Float32bits(y[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
		if !sameBits(sum, wantSum) {
			t.Fatalf("ExpSubSum of %d values - %g: sum %#x, want %#x", len(x), c, math.Float32bits(sum), math.Float32bits(wantSum))
		}
	}
	for n := 0; n <= 40; n++ {
		for _, c := range shifts {
			for off := 0; off+n <= len(xs) && off < 4000; off += 97 {
				check(xs[off:off+n], c)
			}
		}
	}
	for _, c := range shifts[:4] {
		check(xs, c)
	}
	// softmax rows: shifted by their maximum, as the callers do
	for range 200 {
		row := randn(rng, 8192, 10)
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		check(row, mx)
	}
}

// TestSwiGLUMatchesScalar holds SwiGLU's float32 path to its scalar loop,
// bit for bit, with and without σ kept, in place and out of place.
func TestSwiGLUMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := expInputs(rng, 1<<20)
	us := expInputs(rng, len(xs))[:len(xs)]
	check := func(g, u []float32) {
		t.Helper()
		wantM, wantS := make([]float32, len(g)), make([]float32, len(g))
		for i, x := range g {
			s := 1 / (1 + Expf(-x))
			wantS[i], wantM[i] = s, x*s*u[i]
		}
		m, sig := make([]float32, len(g)), make([]float32, len(g))
		SwiGLU(m, sig, g, u)
		in := append([]float32(nil), g...)
		SwiGLU(in, nil, in, u)
		for i := range g {
			if !sameBits(m[i], wantM[i]) || !sameBits(sig[i], wantS[i]) || !sameBits(in[i], wantM[i]) {
				t.Fatalf("SwiGLU(%g, %g) = %#x σ %#x (in place %#x), want %#x σ %#x", g[i], u[i],
					math.Float32bits(m[i]), math.Float32bits(sig[i]), math.Float32bits(in[i]), math.Float32bits(wantM[i]), math.Float32bits(wantS[i]))
			}
		}
	}
	for n := 0; n <= 40; n++ {
		for off := 0; off+n <= len(xs) && off < 4000; off += 97 {
			check(xs[off:off+n], us[off:off+n])
		}
	}
	check(xs, us)
}

func BenchmarkExpSubSum(b *testing.B) {
	row := randn(rand.New(rand.NewPCG(5, 6)), 8192, 5)
	y := make([]float32, len(row))
	b.Run("slice", func(b *testing.B) {
		for b.Loop() {
			sinkf = ExpSubSum(y, row, 15)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			var s float32
			for i, v := range row {
				y[i] = Expf(v - 15)
				s += y[i]
			}
			sinkf = s
		}
	})
	b.Run("nosum", func(b *testing.B) {
		for b.Loop() {
			ExpSub(y, row, 15)
		}
	})
}

func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	g, u := randn(rng, 8192, 3), randn(rng, 8192, 1)
	m, sig := make([]float32, len(g)), make([]float32, len(g))
	for b.Loop() {
		SwiGLU(m, sig, g, u)
	}
}
