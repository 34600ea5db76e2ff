package dataset

import "math"

// MinHasher computes MinHash signatures of word shingles and their LSH band
// keys. Permutations are x -> a*x + b over 64-bit integers with odd a (a
// bijection), drawn from a fixed seed so that runs agree.
type MinHasher struct {
	a, b          []uint64
	bands, rows   int
	shingle       int
	sig           []uint64
	words, shings []uint64
}

// NewMinHasher returns a hasher with numPerm permutations, shingles of
// shingle words, and the band layout that best separates pairs above and
// below threshold (datasketch's optimal_param with equal weights).
func NewMinHasher(numPerm, shingle int, threshold float64) *MinHasher {
	m := &MinHasher{a: make([]uint64, numPerm), b: make([]uint64, numPerm), shingle: shingle,
		sig: make([]uint64, numPerm)}
	s := uint64(0x5eed)
	for i := range m.a {
		s += 0x9e3779b97f4a7c15
		m.a[i] = mix64(s) | 1
		s += 0x9e3779b97f4a7c15
		m.b[i] = mix64(s)
	}
	m.bands, m.rows = lshParams(threshold, numPerm)
	return m
}

// Bands returns the LSH layout: bands × rows permutations are used.
func (m *MinHasher) Bands() (bands, rows int) { return m.bands, m.rows }

// BandKeys appends one key per band of the signature of the text made of
// parts to dst. Texts sharing any key are candidate near-duplicates.
func (m *MinHasher) BandKeys(dst []uint64, parts ...string) []uint64 {
	return m.bandKeysAfter(dst, nil, parts...)
}

// bandKeysAfter is BandKeys of a text that starts with a part of these word
// hashes (wordHashes) and goes on with the parts given.
func (m *MinHasher) bandKeysAfter(dst, words []uint64, parts ...string) []uint64 {
	m.words = append(m.words[:0], words...)
	for _, p := range parts {
		m.words = wordHashes(m.words, p)
	}
	m.shings = ngramHashes(m.shings[:0], m.words, m.shingle)
	if len(m.shings) == 0 {
		return dst
	}
	n := m.bands * m.rows
	sig := m.sig[:n]
	// Permutation by permutation, four at a time: the minima stay in
	// registers and the four chains run side by side.
	i := 0
	for ; i+4 <= n; i += 4 {
		a0, a1, a2, a3 := m.a[i], m.a[i+1], m.a[i+2], m.a[i+3]
		b0, b1, b2, b3 := m.b[i], m.b[i+1], m.b[i+2], m.b[i+3]
		s0, s1, s2, s3 := uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(math.MaxUint64)
		for _, x := range m.shings {
			s0 = min(s0, a0*x+b0)
			s1 = min(s1, a1*x+b1)
			s2 = min(s2, a2*x+b2)
			s3 = min(s3, a3*x+b3)
		}
		sig[i], sig[i+1], sig[i+2], sig[i+3] = s0, s1, s2, s3
	}
	for ; i < n; i++ {
		s := uint64(math.MaxUint64)
		for _, x := range m.shings {
			s = min(s, m.a[i]*x+m.b[i])
		}
		sig[i] = s
	}
	for band := 0; band < m.bands; band++ {
		h := uint64(band+1) * 0xd6e8feb86659fd93
		for _, v := range sig[band*m.rows : (band+1)*m.rows] {
			h = mix64(h ^ v)
		}
		dst = append(dst, h)
	}
	return dst
}

// lshParams chooses bands b and rows r (b*r <= numPerm) minimising the
// probability mass of false positives below threshold plus false negatives
// above it.
func lshParams(threshold float64, numPerm int) (bands, rows int) {
	best := math.Inf(1)
	bands, rows = 1, numPerm
	for b := 1; b <= numPerm; b++ {
		for r := 1; b*r <= numPerm; r++ {
			p := func(s float64) float64 { return 1 - math.Pow(1-math.Pow(s, float64(r)), float64(b)) }
			fp := integrate(p, 0, threshold)
			fn := integrate(func(s float64) float64 { return 1 - p(s) }, threshold, 1)
			if e := fp + fn; e < best {
				best, bands, rows = e, b, r
			}
		}
	}
	return bands, rows
}

func integrate(f func(float64) float64, lo, hi float64) float64 {
	const steps = 100
	w := (hi - lo) / steps
	sum := 0.0
	for i := 0; i < steps; i++ {
		sum += f(lo + (float64(i)+0.5)*w)
	}
	return sum * w
}
