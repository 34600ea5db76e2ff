package train

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
)

// Example is one rendered conversation: token ids and which of them are the
// assistant's (the only ones the loss counts).
type Example struct {
	IDs  []int32
	Mask []bool
}

// Batch is a micro-batch of Rows×Seq tokens in the layout the graph takes.
type Batch struct {
	Tokens, Targets, Segments []int32
	Counted                   int // targets >= 0
}

// Packer fills rows of seq tokens with whole examples in order. With packing
// several examples share a row, kept apart by segment ids so that attention
// and positions never cross them (exact, not approximated); without packing
// each example gets its own row, padded. Examples longer than seq are
// truncated to seq tokens, or dropped when dropLong is set; both are counted.
type Packer struct {
	Seq       int
	Packing   bool
	DropLong  bool
	Truncated int
	Dropped   int
}

// target is the id to predict at position i of ex: the next token when it is
// an assistant token, else -1.
func target(ex Example, i int) int32 {
	if i+1 < len(ex.IDs) && ex.Mask[i+1] {
		return ex.IDs[i+1]
	}
	return -1
}

// Pack turns examples into rows. It returns full rows; the caller batches them.
func (p *Packer) Pack(examples []Example) (tokens, targets, segments [][]int32) {
	var tok, tgt, seg []int32
	flush := func() {
		if len(tok) == 0 {
			return
		}
		for len(tok) < p.Seq { // pad: token 0, not counted, its own segment
			tok, tgt, seg = append(tok, 0), append(tgt, -1), append(seg, -1)
		}
		tokens, targets, segments = append(tokens, tok), append(targets, tgt), append(segments, seg)
		tok, tgt, seg = nil, nil, nil
	}
	segID := int32(0)
	for _, ex := range examples {
		if len(ex.IDs) > p.Seq {
			if p.DropLong {
				p.Dropped++
				continue
			}
			p.Truncated++
			ex = Example{IDs: ex.IDs[:p.Seq], Mask: ex.Mask[:p.Seq]}
		}
		if !p.Packing || len(tok)+len(ex.IDs) > p.Seq {
			flush()
		}
		for i := range ex.IDs {
			tok = append(tok, ex.IDs[i])
			tgt = append(tgt, target(ex, i))
			seg = append(seg, segID)
		}
		segID++
	}
	flush()
	return tokens, targets, segments
}

// canonicalOrder sorts examples by their content, so that the epochs' seeded
// shuffles depend on the set of examples only, not on the order in which a
// concurrent sampler happened to write them: the same traces and seed give
// the same run.
func canonicalOrder(exs []Example) {
	type keyed struct {
		h  uint64
		ex Example
	}
	ks := make([]keyed, len(exs))
	for i, ex := range exs {
		f := fnv.New64a()
		var b [4]byte
		for _, id := range ex.IDs {
			binary.LittleEndian.PutUint32(b[:], uint32(id))
			f.Write(b[:])
		}
		ks[i] = keyed{f.Sum64(), ex}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		return slices.Compare(a.ex.IDs, b.ex.IDs)
	})
	for i := range ks {
		exs[i] = ks[i].ex
	}
}
