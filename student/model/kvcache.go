package model

// kvCache holds the rotated keys and the values of one sequence, per layer,
// so that each decode step only computes the new token. Both are stored
// transposed, [nKV*D, cap]: for one KV head and one feature, the values at
// all positions are contiguous, so attention works on vectors as long as
// the context instead of head-sized ones.
type kvCache struct {
	k, v [][]float32 // per layer: [nKV*D, cap]
	cap  int
}

// newKVCache allocates room for capacity positions.
func newKVCache(c *Config, capacity int) *kvCache {
	kvDim := c.NumKeyValueHeads * c.HeadDimension()
	kc := &kvCache{k: make([][]float32, c.NumHiddenLayers), v: make([][]float32, c.NumHiddenLayers), cap: capacity}
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
	kl, vl := kc.k[l], kc.v[l]
	for i := range k {
		kl[i*kc.cap+pos] = k[i]
		vl[i*kc.cap+pos] = v[i]
	}
}
