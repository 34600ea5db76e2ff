package train

import (
	"testing"

	"github.com/distill-dev/distill/student/tokenizer"
)

func TestPackerSegmentsAndMask(t *testing.T) {
	a := Example{IDs: []int32{1, 2, 3, 4}, Mask: []bool{false, false, true, true}}
	b := Example{IDs: []int32{5, 6, 7}, Mask: []bool{false, true, true}}
	long := Example{IDs: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}, Mask: make([]bool, 9)}
	c := cacheOf(t, []Example{a, b, long})
	r := Packer{Seq: 8, Packing: true}.rows(c, nil)
	tok, tgt, seg := collect(r)
	if len(tok) != 2 {
		t.Fatalf("got %d rows, want 2", len(tok))
	}
	wantTok := []int32{1, 2, 3, 4, 5, 6, 7, 0}
	wantTgt := []int32{-1, 3, 4, -1, 6, 7, -1, -1}
	wantSeg := []int32{0, 0, 0, 0, 1, 1, 1, -1}
	for i := range wantTok {
		if tok[0][i] != wantTok[i] || tgt[0][i] != wantTgt[i] || seg[0][i] != wantSeg[i] {
			t.Fatalf("row 0 = %v / %v / %v, want %v / %v / %v", tok[0], tgt[0], seg[0], wantTok, wantTgt, wantSeg)
		}
	}
	if r.truncated != 1 || len(tok[1]) != 8 {
		t.Errorf("long example: truncated=%d len=%d", r.truncated, len(tok[1]))
	}
	r = Packer{Seq: 8, DropLong: true}.rows(c, nil)
	if n := countRows(r); n != 2 || r.dropped != 1 {
		t.Errorf("unpacked with drop: %d rows, %d dropped; want 2, 1", n, r.dropped)
	}
}

// The same examples in another order (as a concurrent sampler writes them)
// give the same rows.
func TestCanonicalOrderIgnoresInputOrder(t *testing.T) {
	var a, b []Example
	for i := 0; i < 50; i++ {
		ex := Example{IDs: []int32{int32(i), int32(i * 7 % 13), 5}, Mask: []bool{false, true, true}}
		a = append(a, ex)
		b = append([]Example{ex}, b...)
	}
	ca, cb := cacheOf(t, a), cacheOf(t, b)
	p := Packer{Seq: 16, Packing: true}
	ta, _, _ := collect(p.rows(ca, epochOrder(canonicalOrder(ca), 3, 1)))
	tb, _, _ := collect(p.rows(cb, epochOrder(canonicalOrder(cb), 3, 1)))
	if len(ta) != len(tb) {
		t.Fatalf("%d rows against %d", len(ta), len(tb))
	}
	for i := range ta {
		for j := range ta[i] {
			if ta[i][j] != tb[i][j] {
				t.Fatalf("row %d differs: %v against %v", i, ta[i], tb[i])
			}
		}
	}
}

// A fresh student renders chats with whichever template it is given: its
// byte-level tokenizer has that template's special tokens.
func TestNewStudentHasTemplateTokens(t *testing.T) {
	msgs := []tokenizer.Message{{Role: "user", Content: "1 + 1?"}, {Role: "assistant", Content: "2"}}
	for _, name := range tokenizer.TemplateNames() {
		t.Run(name, func(t *testing.T) {
			st, err := NewStudent(&Options{Student: "qwen-nano", Template: name, MicroBatch: 1, SeqLen: 64})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range st.Template.Tokens {
				if _, ok := st.Tok.TokenID(s); !ok {
					t.Errorf("tokenizer lacks %q", s)
				}
			}
			if _, _, err := st.Template.Render(st.Tok, msgs, false); err != nil {
				t.Error(err)
			}
			if st.Weights.Config.VocabSize != st.Tok.VocabSize() {
				t.Errorf("vocab_size %d, tokenizer %d", st.Weights.Config.VocabSize, st.Tok.VocabSize())
			}
		})
	}
}
