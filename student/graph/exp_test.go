package graph

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88.5; x += 0.0137 {
		want := math.Exp(float64(float32(x)))
		got := float64(expf(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("worst relative error %.3g", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-1000, 0}, {89, float32(math.Inf(1))},
	} {
		if got := expf(c.x); math.Abs(float64(got-c.want)) > 1e-37 && got != c.want {
			t.Errorf("expf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g", got)
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i%200) * -0.05
	}
	b.Run("expf", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				xs[i] = expf(x) - 1
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				xs[i] = float32(math.Exp(float64(x))) - 1
			}
		}
	})
}
