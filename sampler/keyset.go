package sampler

import (
	"hash/maphash"
	"slices"
	"strconv"
)

// keySet holds (prompt_id, sample) keys as 64-bit hashes in a sorted slice:
// 8 bytes a key, so the 800k keys of an R1-sized run take 6.4 MB (a Go map
// would take two to three times that, the key strings ten times). Keys are
// added while scanning, then frozen once and only looked up. The chance
// that two of a million keys collide is about 3e-8; a collision would skip
// one sample, never duplicate one.
type keySet struct {
	seed maphash.Seed
	keys []uint64
}

func newKeySet() *keySet { return &keySet{seed: maphash.MakeSeed()} }

func (s *keySet) hash(id string, sample int) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(id)
	h.WriteByte(0)
	var buf [20]byte
	h.Write(strconv.AppendInt(buf[:0], int64(sample), 10))
	return h.Sum64()
}

func (s *keySet) add(id string, sample int) { s.keys = append(s.keys, s.hash(id, sample)) }

// freeze sorts the keys and drops repeats, returning the repeated hashes.
func (s *keySet) freeze() (repeated []uint64) {
	slices.Sort(s.keys)
	for i := 1; i < len(s.keys); i++ {
		if s.keys[i] == s.keys[i-1] && (len(repeated) == 0 || repeated[len(repeated)-1] != s.keys[i]) {
			repeated = append(repeated, s.keys[i])
		}
	}
	s.keys = slices.Clip(slices.Compact(s.keys))
	return repeated
}

// has reports whether the key was added; the set must be frozen.
func (s *keySet) has(id string, sample int) bool {
	_, ok := slices.BinarySearch(s.keys, s.hash(id, sample))
	return ok
}

func (s *keySet) len() int { return len(s.keys) }
