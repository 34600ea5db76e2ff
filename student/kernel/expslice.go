package kernel

import "unsafe"

// ExpSub sets y[i] = Exp(x[i] - c), bit for bit as that scalar loop: in
// float32 on amd64 with AVX2, eight lanes at a time through the same
// Cephes steps (no FMA, so each step rounds as Expf's does).
//
//	x, y: [n]. y may alias x.
func ExpSub[T Float](y, x []T, c T) {
	y = y[:len(x)]
	i := 0
	if x32, ok := asF32(x); ok {
		y32, _ := asF32(y)
		i, _ = expSubVec(y32, x32, float32(c), false)
	}
	for ; i < len(x); i++ {
		y[i] = Exp(x[i] - c)
	}
}

// ExpSubSum is ExpSub that returns the sum of y, added in index order (so
// equal to a scalar loop's sum += y[i]): the denominator of a softmax.
func ExpSubSum[T Float](y, x []T, c T) T {
	y = y[:len(x)]
	i := 0
	var sum T
	if x32, ok := asF32(x); ok {
		y32, _ := asF32(y)
		var s float32
		i, s = expSubVec(y32, x32, float32(c), true)
		sum = T(s)
	}
	for ; i < len(x); i++ {
		e := Exp(x[i] - c)
		y[i] = e
		sum += e
	}
	return sum
}

// Max is the largest element of x, which must not be empty, or NaN when x
// holds one (as the builtin max); the sign of a zero maximum is unspecified,
// which changes no x - Max(x). Vectorised in float32 as ExpSub.
func Max[T Float](x []T) T {
	i, m := 0, x[0]
	if x32, ok := asF32(x); ok {
		var m32 float32
		if i, m32 = maxVec(x32); i > 0 {
			m = T(m32)
		}
	}
	for _, v := range x[i:] {
		m = max(m, v)
	}
	return m
}

// Scale sets x[i] *= a (exact as the scalar loop: one rounding per
// element), vectorised in float32 as ExpSub.
func Scale[T Float](x []T, a T) {
	i := 0
	if x32, ok := asF32(x); ok {
		i = scaleVec(x32, float32(a))
	}
	for ; i < len(x); i++ {
		x[i] *= a
	}
}

// asF32 views s as []float32 when T is 4 bytes wide (float32 or a type
// defined on it).
func asF32[T Float](s []T) ([]float32, bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)), true
}
