package train

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student/tokenizer"
)

// The in-memory loader the token cache replaced, as it was: every example
// rendered into the heap, every epoch's rows built up front. The streaming
// loader is checked against it row for row, and measured against it in
// BenchmarkLoaderMemory.

// Example is one rendered conversation: token ids and which of them are the
// assistant's (the only ones the loss counts).
type Example struct {
	IDs  []int32
	Mask []bool
}

func refLoadExamples(ctx context.Context, files []string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template) (exs []Example, skipped int, err error) {
	for _, f := range files {
		err := dataset.ReadMessages(ctx, f, func(r dataset.MessagesRow) error {
			ids, mask, ok, err := render(r, tok, tmpl)
			if ok {
				exs = append(exs, Example{IDs: ids, Mask: mask})
			} else if err == nil {
				skipped++
			}
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f, err)
		}
	}
	return exs, skipped, nil
}

type refPacker struct {
	Seq       int
	Packing   bool
	DropLong  bool
	Truncated int
	Dropped   int
}

func refTarget(ex Example, i int) int32 {
	if i+1 < len(ex.IDs) && ex.Mask[i+1] {
		return ex.IDs[i+1]
	}
	return -1
}

func (p *refPacker) Pack(examples []Example) (tokens, targets, segments [][]int32) {
	var tok, tgt, seg []int32
	flush := func() {
		if len(tok) == 0 {
			return
		}
		for len(tok) < p.Seq {
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
			tgt = append(tgt, refTarget(ex, i))
			seg = append(seg, segID)
		}
		segID++
	}
	flush()
	return tokens, targets, segments
}

func refCanonicalOrder(exs []Example) {
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

func refRowsFor(exs []Example, p *refPacker, seed uint64, epoch int) (tok, tgt, seg [][]int32) {
	order := make([]Example, len(exs))
	copy(order, exs)
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	q := *p
	return q.Pack(order)
}

// cacheOf writes exs, in this order, to a token cache and opens it.
func cacheOf(t testing.TB, exs []Example) *tokenCache {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.tokens")
	w, err := createCache(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if err := w.add(ex.IDs, ex.Mask); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.commit(cacheKey{}, 0); err != nil {
		t.Fatal(err)
	}
	c, err := openCache(context.Background(), path, cacheKey{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collect takes all the rows left in r, in the in-memory packer's layout.
func collect(r *packedRows) (tok, tgt, seg [][]int32) {
	for {
		a, b, c := make([]int32, r.p.Seq), make([]int32, r.p.Seq), make([]int32, r.p.Seq)
		if !r.next(a, b, c) {
			return tok, tgt, seg
		}
		tok, tgt, seg = append(tok, a), append(tgt, b), append(seg, c)
	}
}

// countRows is the number of rows left in r.
func countRows(r *packedRows) int { return r.skip(math.MaxInt) }
