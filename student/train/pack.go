package train

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Packer says how examples fill rows of Seq tokens. With packing several
// examples share a row, kept apart by segment ids so that attention and
// positions never cross them (exact, not approximated); without packing
// each example gets its own row, padded. Examples longer than Seq are
// truncated to Seq tokens, or dropped when DropLong is set.
type Packer struct {
	Seq      int
	Packing  bool
	DropLong bool
}

// packedRows makes the rows of one pass over a cache's examples on demand,
// straight from the mapped tokens into the caller's buffers: an epoch costs
// its order (4 bytes an example), never its rows.
type packedRows struct {
	p     Packer
	c     *tokenCache
	order []int32 // the examples in the order they are packed; nil: the cache's order
	pos   int     // next position in order
	seg   int32   // segment id of the next kept example: they number the kept examples of the pass

	truncated, dropped int // examples so far longer than Seq
}

// rows starts a pass over c's examples in order (nil: the shards' order).
func (p Packer) rows(c *tokenCache, order []int32) *packedRows {
	return &packedRows{p: p, c: c, order: order}
}

func (r *packedRows) example(pos int) int {
	if r.order == nil {
		return pos
	}
	return int(r.order[pos])
}

func (r *packedRows) examples() int {
	if r.order == nil {
		return r.c.Len()
	}
	return len(r.order)
}

// next writes the next row into tok, tgt and seg (Seq values each) and
// pads its tail: token 0, target -1 (not counted), segment -1 (its own).
// With nil buffers it steps over the row reading lengths alone, which is
// how rows are counted and a resumed run finds its place. It returns false
// when the pass has no row left.
func (r *packedRows) next(tok, tgt, seg []int32) bool {
	used := 0
	for ; r.pos < r.examples(); r.pos++ {
		i := r.example(r.pos)
		n := r.c.exampleLen(i)
		long := n > r.p.Seq
		if long && r.p.DropLong {
			r.dropped++
			continue
		}
		n = min(n, r.p.Seq)
		if used > 0 && (!r.p.Packing || used+n > r.p.Seq) {
			break
		}
		if long {
			r.truncated++
		}
		if tok != nil {
			r.write(i, tok[used:used+n], tgt[used:used+n], seg[used:used+n])
		}
		used += n
		r.seg++
	}
	if used == 0 {
		return false
	}
	if tok != nil {
		for k := used; k < r.p.Seq; k++ {
			tok[k], tgt[k], seg[k] = 0, -1, -1
		}
	}
	return true
}

// write copies the first len(tok) tokens of example i. A token's target is
// the next token when that one is the assistant's, else -1; the last
// token kept has none.
func (r *packedRows) write(i int, tok, tgt, seg []int32) {
	ex := r.c.example(i)
	for k := range tok {
		id, assistant := tokenAt(ex, k)
		tok[k], tgt[k], seg[k] = id, -1, r.seg
		if k > 0 && assistant {
			tgt[k-1] = id
		}
	}
}

// skip steps over up to n rows and returns how many there were.
func (r *packedRows) skip(n int) int {
	k := 0
	for k < n && r.next(nil, nil, nil) {
		k++
	}
	return k
}

// canonicalOrder lists the cache's examples sorted by content (hash, then
// ids), so that the epochs' seeded shuffles depend on the set of examples
// only, not on the order in which a concurrent sampler happened to write
// them: the same traces and seed give the same run. Equal examples keep the
// shards' order.
func canonicalOrder(c *tokenCache) []int32 {
	order := make([]int32, c.Len())
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if d := cmp.Compare(c.hash(int(a)), c.hash(int(b))); d != 0 {
			return d
		}
		if d := compareIDs(c.example(int(a)), c.example(int(b))); d != 0 {
			return d
		}
		return cmp.Compare(a, b)
	})
	return order
}

// compareIDs orders two cached examples by their ids as slices.Compare
// orders []int32, the assistant mask aside.
func compareIDs(a, b []byte) int {
	for k := 0; 4*k < len(a) && 4*k < len(b); k++ {
		x, _ := tokenAt(a, k)
		y, _ := tokenAt(b, k)
		if d := cmp.Compare(x, y); d != 0 {
			return d
		}
	}
	return cmp.Compare(len(a), len(b))
}

// epochOrder is the order of an epoch: a seeded shuffle of the canonical
// order. It makes the swaps the in-memory trainer made on its examples, so
// the rows (and a checkpoint's epoch and row) are the ones it had.
func epochOrder(canon []int32, seed uint64, epoch int) []int32 {
	order := slices.Clone(canon)
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}
