package dataset

import "sync/atomic"

// bloom is a Bloom filter over 64-bit keys. Dedup keeps its state here so
// that its memory is fixed by configuration (dedup.memory_mb) whatever the
// number of traces; the price is a small false-positive rate, which grows
// with the number of keys (about 1e-5 per lookup at 8 million keys in 64 MB).
type bloom struct {
	bits []uint64
	mask uint64
}

const bloomProbes = 4

func newBloom(bytes int) *bloom {
	words := 1
	for words*8*2 <= bytes { // power of two: masking instead of modulo
		words *= 2
	}
	return &bloom{bits: make([]uint64, words), mask: uint64(words*64 - 1)}
}

func (b *bloom) probes(key uint64) (h1, h2 uint64) { return key, mix64(key) | 1 }

func (b *bloom) has(key uint64) bool {
	h1, h2 := b.probes(key)
	for i := uint64(0); i < bloomProbes; i++ {
		bit := (h1 + i*h2) & b.mask
		if b.bits[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// hasShared is has for goroutines other than the one that adds: the
// workers of pass 1 look keys up while decide adds them. Bits are only ever
// set, so a key found here is found by every later lookup.
func (b *bloom) hasShared(key uint64) bool {
	h1, h2 := b.probes(key)
	for i := uint64(0); i < bloomProbes; i++ {
		bit := (h1 + i*h2) & b.mask
		if atomic.LoadUint64(&b.bits[bit>>6])&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// add sets the key's bits atomically, for hasShared; the adding goroutine
// itself may read them with has.
func (b *bloom) add(key uint64) {
	h1, h2 := b.probes(key)
	for i := uint64(0); i < bloomProbes; i++ {
		bit := (h1 + i*h2) & b.mask
		atomic.OrUint64(&b.bits[bit>>6], 1<<(bit&63))
	}
}
