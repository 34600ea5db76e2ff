package train

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
)

// textRow is a language-modelling row as Hugging Face text datasets (and
// `distill corpus`) have it: a text column alone.
type textRow struct {
	Text string `parquet:"text"`
}

// Text rows are trained on whole, the tokenizer's EOS appended unless the
// text ends with it, as TRL's SFTTrainer does a text dataset: every token is the target of the one
// before it, within the example. The rows are worked out by hand from the
// byte-level ids of the characters.
func TestTextRowsTrainEveryToken(t *testing.T) {
	tok, tmpl := byteLevel(t)
	eos, ok := tok.EOS()
	if !ok {
		t.Fatal("the byte-level tokenizer has no EOS")
	}
	id := func(s string) int32 {
		ids := tok.Encode(s)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens, want one", s, len(ids))
		}
		return ids[0]
	}
	a, b, c, start := id("a"), id("b"), id("c"), id("<|im_start|>")
	for _, tc := range []struct {
		name          string
		texts         []string
		p             Packer
		tok, tgt, seg []int32
	}{
		{"one row", []string{"ab"}, Packer{Seq: 5},
			[]int32{a, b, eos, 0, 0}, []int32{b, eos, -1, -1, -1}, []int32{0, 0, 0, -1, -1}},
		{"packed: no target crosses examples", []string{"ab", "c"}, Packer{Seq: 6, Packing: true},
			[]int32{a, b, eos, c, eos, 0}, []int32{b, eos, -1, eos, -1, -1}, []int32{0, 0, 0, 1, 1, -1}},
		{"special tokens are single ids", []string{"<|im_start|>c"}, Packer{Seq: 4},
			[]int32{start, c, eos, 0}, []int32{c, eos, -1, -1}, []int32{0, 0, 0, -1}},
		{"ending with EOS already", []string{"ab<|endoftext|>"}, Packer{Seq: 4},
			[]int32{a, b, eos, 0}, []int32{b, eos, -1, -1}, []int32{0, 0, 0, -1}},
		{"truncated", []string{"abc"}, Packer{Seq: 3},
			[]int32{a, b, c}, []int32{b, c, -1}, []int32{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			w := dataset.NewShardWriter[textRow](data, "train", dataset.ShardOptions{}, func(r *textRow) int { return len(r.Text) })
			for _, s := range tc.texts {
				if err := w.Write(textRow{s}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
			o := Options{Data: Dir(data), Out: t.TempDir()}
			cache, err := loadSplit(context.Background(), &o, tok, tmpl, mustPlan(t, o), "train")
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close()
			n := tc.p.Seq
			gotTok, gotTgt, gotSeg := make([]int32, n), make([]int32, n), make([]int32, n)
			r := tc.p.rows(cache, nil)
			if !r.next(gotTok, gotTgt, gotSeg) {
				t.Fatal("no row")
			}
			if !slices.Equal(gotTok, tc.tok) || !slices.Equal(gotTgt, tc.tgt) || !slices.Equal(gotSeg, tc.seg) {
				t.Errorf("row: tokens %v targets %v segments %v\nwant    %v         %v          %v", gotTok, gotTgt, gotSeg, tc.tok, tc.tgt, tc.seg)
			}
			if r.next(gotTok, gotTgt, gotSeg) {
				t.Errorf("a second row: %v", gotTok)
			}
		})
	}
}

// A Parquet file with neither a messages nor a text column is refused,
// naming the file.
func TestTrainRefusesShardWithoutMessagesOrText(t *testing.T) {
	type other struct {
		Prompt string `parquet:"prompt"`
	}
	data := t.TempDir()
	w := dataset.NewShardWriter[other](data, "train", dataset.ShardOptions{}, func(r *other) int { return 8 })
	if err := w.Write(other{"x"}); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	tok, tmpl := byteLevel(t)
	o := Options{Data: Dir(data), Out: t.TempDir()}
	_, err = loadSplit(context.Background(), &o, tok, tmpl, mustPlan(t, o), "train")
	if err == nil || !strings.Contains(err.Error(), files[0]) || !strings.Contains(err.Error(), "no messages or text column") {
		t.Fatalf("err = %v, want one naming %s and the missing columns", err, files[0])
	}
}
