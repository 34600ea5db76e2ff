package model

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
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
		if got := expf(tc.x); got != tc.want {
			t.Errorf("expf(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if nan := float32(math.NaN()); expf(nan) == expf(nan) {
		t.Error("expf(NaN) is not NaN")
	}
}

func BenchmarkExpf(b *testing.B) {
	var s float32
	for b.Loop() {
		for x := float32(-10); x < 0; x += 0.01 {
			s += expf(x)
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
