package dataset

import "sync/atomic"

// bloom is a blocked Bloom filter over 64-bit keys. Dedup keeps its state
// here so that its memory is fixed by configuration (dedup.memory_mb)
// whatever the number of traces; the price is a small false-positive rate,
// which grows with the number of keys (about 2e-5 per lookup at 8 million
// keys in 64 MB). A key's bits all lie in one 64-byte block, so a lookup or
// an insert costs one cache miss instead of one per bit; a plain Bloom
// filter of the same size would have 1.1e-5.
type bloom struct {
	bits   []uint64
	blocks uint64 // number of blocks - 1: a power of two, masking instead of modulo
	free   func()
}

const (
	bloomProbes     = 4
	bloomBlockWords = 8 // 512 bits, a cache line
)

func newBloom(bytes int) *bloom {
	blocks := 1
	for blocks*bloomBlockWords*8*2 <= bytes {
		blocks *= 2
	}
	bits, free := bigWords(blocks * bloomBlockWords)
	return &bloom{bits: bits, blocks: uint64(blocks - 1), free: free}
}

// release frees the bits, which must not be used any more; a second call
// does nothing.
func (b *bloom) release() {
	if b != nil && b.bits != nil {
		b.bits = nil
		b.free()
	}
}

// probe is the word and the bit of the key's probe i: the block comes from
// the key (a hash already), the bits from 9-bit slices of a second hash.
func (b *bloom) probe(key, h uint64, i uint) (word int, bit uint64) {
	p := h >> (9 * i) & 511
	return int((key&b.blocks)*bloomBlockWords + p>>6), 1 << (p & 63)
}

// prefetch starts loading the key's block: the filter is far larger than
// the caches, so every lookup waits for memory unless its block was asked
// for early.
func (b *bloom) prefetch(key uint64) {
	prefetch(&b.bits[(key&b.blocks)*bloomBlockWords])
}

func (b *bloom) has(key uint64) bool {
	h := mix64(key)
	for i := uint(0); i < bloomProbes; i++ {
		if w, bit := b.probe(key, h, i); b.bits[w]&bit == 0 {
			return false
		}
	}
	return true
}

// hasShared is has for goroutines other than the one that adds: the
// workers of pass 1 look keys up while decide adds them. Bits are only ever
// set, so a key found here is found by every later lookup.
func (b *bloom) hasShared(key uint64) bool {
	h := mix64(key)
	for i := uint(0); i < bloomProbes; i++ {
		if w, bit := b.probe(key, h, i); atomic.LoadUint64(&b.bits[w])&bit == 0 {
			return false
		}
	}
	return true
}

// add sets the key's bits atomically, for hasShared; the adding goroutine
// itself may read them with has.
func (b *bloom) add(key uint64) {
	h := mix64(key)
	for i := uint(0); i < bloomProbes; i++ {
		w, bit := b.probe(key, h, i)
		atomic.OrUint64(&b.bits[w], bit)
	}
}
