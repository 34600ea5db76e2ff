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

// asF32 views s as []float32 when T is 4 bytes wide (float32 or a type
// defined on it).
func asF32[T Float](s []T) ([]float32, bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)), true
}
