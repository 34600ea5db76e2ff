package gguf

import "math"

// The helpers of ggml's k-quants (ggml-quants.c), transcribed operation by
// operation in float32 so that the results are bit-identical. Every product
// that is then added is converted to float32 explicitly: Go may otherwise
// fuse it into one FMA on some CPUs, which rounds once instead of twice.

// nearestInt is ggml's nearest_int: adding 1.5·2^23 in float32 leaves the
// rounded integer (ties to even) in the low mantissa bits.
func nearestInt(f float32) int {
	v := f + 12582912
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// makeQKX2Quants is make_qkx2_quants: quantise x to 0..nmax with a scale and
// a (non-positive) minimum chosen by a weighted least-squares search over
// nstep+1 candidate scales. It returns the scale, sets the negated minimum
// in *theMin and the levels in L; laux is scratch of len(x).
func makeQKX2Quants(nmax int, x, weights []float32, L, laux []uint8, theMin *float32, rmin, rdelta float32, nstep int) float32 {
	n := len(x)
	minV, maxV := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < minV {
			minV = x[i]
		}
		if x[i] > maxV {
			maxV = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if minV > 0 {
		minV = 0
	}
	if maxV == minV {
		for i := range L[:n] {
			L[i] = 0
		}
		*theMin = -minV
		return 0
	}
	iscale := float32(nmax) / (maxV - minV)
	scale := 1 / iscale
	var bestError float32
	for i := range n {
		l := nearestInt(float32(iscale * (x[i] - minV)))
		L[i] = uint8(max(0, min(nmax, l)))
		diff := float32(float32(scale*float32(L[i]))+minV) - x[i]
		bestError += float32(weights[i] * float32(diff*diff))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (maxV - minV)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(nmax, nearestInt(float32(iscale*(x[i]-minV)))))
			laux[i] = uint8(l)
			w := weights[i]
			wl := float32(w * float32(l))
			sumL += wl
			sumL2 += float32(wl * float32(l))
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := range n {
				diff := float32(float32(thisScale*float32(laux[i]))+thisMin) - x[i]
				curError += float32(weights[i] * float32(diff*diff))
			}
			if curError < bestError {
				copy(L[:n], laux[:n])
				bestError = curError
				scale = thisScale
				minV = thisMin
			}
		}
	}
	*theMin = -minV
	return scale
}

// groupMaxEps is GROUP_MAX_EPS: below it a group counts as all zero.
const groupMaxEps = 1e-15

// makeQXQuants is make_qx_quants with rmse_type 1 and no importance
// weights: symmetric levels −nmax..nmax−1 (stored plus nmax in L) with the
// scale refined over 18 nearby candidates, weighting each x by x².
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	var maxV, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxV = a, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:len(x)] {
			L[i] = 0
		}
		return 0
	}
	level := func(iscale, v float32) int {
		return max(-nmax, min(nmax-1, nearestInt(float32(iscale*v))))
	}
	sums := func(iscale float32) (sumLX, sumL2 float32) {
		for _, v := range x {
			l := float32(level(iscale, v))
			w := float32(v * v)
			sumLX += float32(float32(w*v) * l)
			sumL2 += float32(float32(w*l) * l)
		}
		return sumLX, sumL2
	}
	iscale := float32(-nmax) / maxV
	for i, v := range x {
		L[i] = int8(level(iscale, v) + nmax)
	}
	sumLX, sumL2 := sums(iscale)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := float32(scale * sumLX)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / maxV
		sumLX, sumL2 = sums(iscale)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i, v := range x {
				L[i] = int8(level(iscale, v) + nmax)
			}
			scale = sumLX / sumL2
			best = float32(scale * sumLX)
		}
	}
	return scale
}
