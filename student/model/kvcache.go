package model

// kvCache holds the rotated keys and the values of one sequence, per layer,
// so that each decode step only computes the new token. Per KV head, keys
// are [cap, D] and values transposed, [D, cap]: attention's two products,
// q·Kᵀ and p·V, then both take dot products along contiguous rows
// (blas.GemmBTFew).
type kvCache struct {
	k    [][]float32 // per layer: [nKV, cap, D]
	v    [][]float32 // per layer: [nKV*D, cap]
	cap  int
	head int // D
}

// newKVCache allocates room for capacity positions, rounded up to a
// multiple of 8. Positions not yet written hold zeros (or, within a
// prefill chunk, later tokens' values), which attention weighs by exactly 0.
func newKVCache(c *Config, capacity int) *kvCache {
	capacity = (capacity + 7) &^ 7
	kvDim := c.NumKeyValueHeads * c.HeadDimension()
	kc := &kvCache{k: make([][]float32, c.NumHiddenLayers), v: make([][]float32, c.NumHiddenLayers), cap: capacity, head: c.HeadDimension()}
	// One allocation per cache keeps the layers contiguous and cheap to free.
	buf := make([]float32, 2*c.NumHiddenLayers*capacity*kvDim)
	for l := range kc.k {
		n := capacity * kvDim
		kc.k[l], buf = buf[:n:n], buf[n:]
		kc.v[l], buf = buf[:n:n], buf[n:]
	}
	return kc
}

// put stores the key and value of position pos in layer l.
//
//	k, v: [nKV*D]
func (kc *kvCache) put(l, pos int, k, v []float32) {
	kl, vl, d := kc.k[l], kc.v[l], kc.head
	for g := 0; g < len(k); g += d {
		copy(kl[(g/d*kc.cap+pos)*d:], k[g:g+d])
	}
	for i := range v {
		vl[i*kc.cap+pos] = v[i]
	}
}
