package sampler

import (
	"hash/maphash"
	"strconv"
)

// keySet holds (prompt_id, sample) keys as 64-bit hashes: about 20 bytes a
// key in a Go map, so the 800k keys of an R1-sized run take ~20 MB instead
// of the ~80 MB their strings would. The chance that two of a million keys
// collide is about 3e-8; a collision would skip one sample, never
// duplicate one.
type keySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newKeySet() *keySet { return &keySet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

func (s *keySet) hash(id string, sample int) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(id)
	h.WriteByte(0)
	var buf [20]byte
	h.Write(strconv.AppendInt(buf[:0], int64(sample), 10))
	return h.Sum64()
}

func (s *keySet) add(id string, sample int)      { s.m[s.hash(id, sample)] = struct{}{} }
func (s *keySet) has(id string, sample int) bool { _, ok := s.m[s.hash(id, sample)]; return ok }
func (s *keySet) del(id string, sample int)      { delete(s.m, s.hash(id, sample)) }
func (s *keySet) len() int                       { return len(s.m) }
