package model

// kvCache holds the rotated keys and the values of one sequence, per layer,
// so that each decode step only computes the new token.
type kvCache struct {
	k, v [][]float32 // per layer: [cap, nKV*D]
	len  int         // positions filled
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
