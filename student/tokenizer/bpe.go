package tokenizer

import "container/heap"

// merge is the result of merging a pair of tokens and its priority.
type merge struct {
	rank int32 // position in model.merges: lower merges first
	id   int32 // id of the merged token
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpe applies merges to a piece given as byte-token ids, in place, as HF's
// Word::merge_all does: repeatedly merge the pair with the lowest rank,
// leftmost first. Symbols form a linked list; a heap holds candidate pairs
// and stale entries are skipped when popped.
func (t *Tokenizer) bpe(ids []int32) []int32 {
	n := len(ids)
	if n < 2 {
		return ids
	}
	if n <= 16 {
		return t.bpeSmall(ids)
	}
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := range ids {
		prev[i], next[i] = int32(i-1), int32(i+1)
	}
	next[n-1] = -1
	h := make(pairHeap, 0, n)
	push := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if m, ok := t.merges[pairKey(ids[i], ids[j])]; ok {
			h = append(h, candidate{rank: m.rank, pos: i, left: ids[i], right: ids[j], id: m.id})
		}
	}
	for i := int32(0); i < int32(n-1); i++ {
		push(i)
	}
	heap.Init(&h)
	dead := make([]bool, n)
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		i := c.pos
		j := next[i]
		// Stale: the left symbol was merged away or changed, or its right
		// neighbour is not the one this candidate was made from.
		if dead[i] || j < 0 || ids[i] != c.left || ids[j] != c.right {
			continue
		}
		ids[i] = c.id
		dead[j] = true
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if p := prev[i]; p >= 0 {
			if m, ok := t.merges[pairKey(ids[p], ids[i])]; ok {
				heap.Push(&h, candidate{rank: m.rank, pos: p, left: ids[p], right: ids[i], id: m.id})
			}
		}
		if next[i] >= 0 {
			k := next[i]
			if m, ok := t.merges[pairKey(ids[i], ids[k])]; ok {
				heap.Push(&h, candidate{rank: m.rank, pos: i, left: ids[i], right: ids[k], id: m.id})
			}
		}
	}
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

// bpeSmall is the quadratic scan, faster than the heap for short pieces.
func (t *Tokenizer) bpeSmall(ids []int32) []int32 {
	for len(ids) > 1 {
		best, at := merge{rank: -1}, -1
		for i := 0; i+1 < len(ids); i++ {
			m, ok := t.merges[pairKey(ids[i], ids[i+1])]
			if ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		ids[at] = best.id
		ids = append(ids[:at+1], ids[at+2:]...)
	}
	return ids
}

type candidate struct {
	rank, pos       int32
	left, right, id int32
}

type pairHeap []candidate

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].pos < h[b].pos
}
func (h pairHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *pairHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
