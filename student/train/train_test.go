package train

import (
	"math"
	"testing"

	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
)

// Reference values from torch.optim.AdamW(lr=0.1, betas=(0.9,0.999),
// eps=1e-8, weight_decay=0.01) on w=[1,-2], grads [0.5,-1] then [0.1,0.2]
// (torch 1.13, computed with /usr/bin/python3).
func TestAdamWMatchesTorch(t *testing.T) {
	w := model.Named{Name: "w", Tensor: &model.Tensor{Shape: []int{1, 2}, Data: []float32{1, -2}}}
	g := model.Named{Name: "w", Tensor: &model.Tensor{Shape: []int{1, 2}, Data: []float32{0.5, -1}}}
	o := NewAdamW([]model.Named{w}, 0.9, 0.999, 1e-8, 0.01)
	o.Update([]model.Named{w}, []model.Named{g}, 0.1)
	g.Tensor.Data = []float32{0.1, 0.2}
	o.Update([]model.Named{w}, []model.Named{g}, 0.1)
	want := []float64{0.81779695, -1.84499943}
	for i := range want {
		if math.Abs(float64(w.Tensor.Data[i])-want[i]) > 1e-5 {
			t.Errorf("w[%d] = %.8f, torch gives %.8f", i, w.Tensor.Data[i], want[i])
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Kind: "cosine", Peak: 1, Warmup: 10, Total: 110, MinRatio: 0.1}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.1}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1}} {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("cosine LR(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	s.Kind = "linear"
	if got := s.LR(60); math.Abs(got-0.55) > 1e-9 {
		t.Errorf("linear LR(60) = %g", got)
	}
	s.Kind = "constant"
	if got := s.LR(100); got != 1 {
		t.Errorf("constant LR(100) = %g", got)
	}
}

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
