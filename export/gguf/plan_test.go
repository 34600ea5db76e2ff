package gguf

import (
	"strings"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/model"
)

// TestGGUFSizeMatchesFile checks that Size, which `distill models` shows,
// counts the tensors a written file holds: the file is Size plus its
// metadata and alignment padding.
func TestGGUFSizeMatchesFile(t *testing.T) {
	st, err := student.Open(repotest.Data(t, "students/arith-nano"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, ft := range []FileType{AllF32, MostlyF16, MostlyQ8_0, MostlyQ4_0, MostlyQ4_KM} {
		size, err := Size(st.Weights.Config, ft)
		if err != nil {
			t.Fatal(err)
		}
		_, res := exportTo(t, st, dir, ft)
		// 261 tokens, the chat template and 26 tensor headers and paddings.
		if over := res.Bytes - size; over < 0 || over > 16<<10 {
			t.Errorf("%s: file %d bytes, Size %d", ft, res.Bytes, size)
		}
	}
}

// TestGGUFQ4KMMix spells out llama.cpp's Q4_K_M choices on a Qwen2.5-1.5B
// shape (28 layers): Q6_K for the tied embedding (as the output) and for
// attn_v and ffn_down in the first eighth of the layers (0–2), the last
// (24–27, from 7·28/8 = 24) and every third in between from 5.
func TestGGUFQ4KMMix(t *testing.T) {
	cfg := model.Presets["qwen-1.5b"].Config
	ss, err := plan(&cfg, MostlyQ4_KM)
	if err != nil {
		t.Fatal(err)
	}
	six := map[int]bool{0: true, 1: true, 2: true, 5: true, 8: true, 11: true, 14: true, 17: true, 20: true, 23: true, 24: true, 25: true, 26: true, 27: true}
	for _, s := range ss {
		want := Q4_K
		switch {
		case len(s.shape) == 1:
			want = F32
		case s.name == "token_embd.weight":
			want = Q6_K
		case (strings.HasSuffix(s.name, ".attn_v.weight") || strings.HasSuffix(s.name, ".ffn_down.weight")) && six[s.layer]:
			want = Q6_K
		}
		if s.typ != want {
			t.Errorf("%s: %v, want %v", s.name, s.typ, want)
		}
	}
}
