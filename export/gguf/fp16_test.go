package gguf

import (
	"math"
	"testing"
)

func TestF32ToF16(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{65504, 0x7bff},                          // largest half
		{65519, 0x7bff},                          // just below the midpoint to infinity
		{65520, 0x7c00},                          // the midpoint rounds to even: infinity
		{1 + 1.0/2048, 0x3c00},                   // tie, even below
		{1 + 3.0/2048, 0x3c02},                   // tie, even above
		{1 + 1.0/2048 + 1.0/65536, 0x3c01},       // just above the tie
		{float32(math.Ldexp(1, -24)), 0x0001},    // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},    // half of it: tie to even (zero)
		{float32(math.Ldexp(3, -26)), 0x0001},    // 0.75 of it
		{float32(math.Ldexp(3, -25)), 0x0002},    // 1.5 units: tie to even (2)
		{float32(math.Ldexp(1023, -24)), 0x03ff}, // largest subnormal
		{float32(math.Ldexp(2047, -25)), 0x0400}, // rounds up into the normals
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{float32(math.NaN()), 0x7e00},
		{1e-10, 0x0000},
	} {
		if got := f32ToF16(tc.in); got != tc.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

// Every half converts to float32 and back to itself (NaNs to a NaN).
func TestF16RoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		got := f32ToF16(f)
		isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		if isNaN {
			if !math.IsNaN(float64(f)) || got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x: %g → %#04x", h, f, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("%#04x → %g → %#04x", h, f, got)
		}
	}
}
