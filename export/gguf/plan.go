package gguf

import (
	"fmt"
	"sort"
	"strings"

	"github.com/distill-dev/distill/student/model"
)

// slot is one GGUF tensor of a model: its llama.cpp name, shape (Hugging
// Face order), layer (−1 outside the blocks), ggml type, and where its
// weights come from.
type slot struct {
	name  string
	shape []int
	layer int
	typ   Type
	data  func(w *model.Weights) []float32
}

// plan lists the tensors of cfg at file type ft as llama.cpp's converter
// names and lays them out, in the order llama.cpp's loader and quantiser
// visit them (by layer, then by name), with the type llama.cpp's quantiser
// gives each.
func plan(cfg *model.Config, ft FileType) ([]slot, error) {
	if _, err := archOf(cfg); err != nil {
		return nil, err
	}
	h, v, inter := cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize
	d := cfg.HeadDimension()
	q, kv := cfg.NumAttentionHeads*d, cfg.NumKeyValueHeads*d
	llama := cfg.ModelType == "llama"
	ss := []slot{
		{name: "token_embd.weight", shape: []int{v, h}, layer: -1, data: func(w *model.Weights) []float32 { return w.Embed.Data }},
		{name: "output_norm.weight", shape: []int{h}, layer: -1, data: func(w *model.Weights) []float32 { return w.Norm.Data }},
	}
	if !cfg.TieWordEmbeddings {
		ss = append(ss, slot{name: "output.weight", shape: []int{v, h}, layer: -1, data: func(w *model.Weights) []float32 { return w.LMHead.Data }})
	}
	if f := ropeFactors(cfg); f != nil {
		ss = append(ss, slot{name: "rope_freqs.weight", shape: []int{len(f)}, layer: -1, data: func(*model.Weights) []float32 { return f }})
	}
	for l := range cfg.NumHiddenLayers {
		layer := func(name string, shape []int, get func(L *model.Layer) []float32) slot {
			return slot{name: fmt.Sprintf("blk.%d.%s", l, name), shape: shape, layer: l,
				data: func(w *model.Weights) []float32 { return get(&w.Layers[l]) }}
		}
		// llama.cpp's llama architecture rotates adjacent pairs, HF's
		// rotate_half the two halves of a head: the converter reorders the
		// rows of q and k (LlamaModel.permute); qwen2 uses HF's convention.
		qRows := func(x []float32, cols int) []float32 { return x }
		kRows := qRows
		if llama {
			qRows = func(x []float32, cols int) []float32 { return permuteRows(x, cfg.NumAttentionHeads, cols) }
			kRows = func(x []float32, cols int) []float32 { return permuteRows(x, cfg.NumKeyValueHeads, cols) }
		}
		ss = append(ss,
			layer("attn_norm.weight", []int{h}, func(L *model.Layer) []float32 { return L.InputNorm.Data }),
			layer("attn_q.weight", []int{q, h}, func(L *model.Layer) []float32 { return qRows(L.Q.Data, h) }),
			layer("attn_k.weight", []int{kv, h}, func(L *model.Layer) []float32 { return kRows(L.K.Data, h) }),
			layer("attn_v.weight", []int{kv, h}, func(L *model.Layer) []float32 { return L.V.Data }),
			layer("attn_output.weight", []int{h, q}, func(L *model.Layer) []float32 { return L.O.Data }),
			layer("ffn_norm.weight", []int{h}, func(L *model.Layer) []float32 { return L.PostNorm.Data }),
			layer("ffn_gate.weight", []int{inter, h}, func(L *model.Layer) []float32 { return L.Gate.Data }),
			layer("ffn_up.weight", []int{inter, h}, func(L *model.Layer) []float32 { return L.Up.Data }),
			layer("ffn_down.weight", []int{h, inter}, func(L *model.Layer) []float32 { return L.Down.Data }),
		)
		if cfg.QKVBias() {
			ss = append(ss,
				layer("attn_q.bias", []int{q}, func(L *model.Layer) []float32 { return qRows(L.QBias.Data, 1) }),
				layer("attn_k.bias", []int{kv}, func(L *model.Layer) []float32 { return kRows(L.KBias.Data, 1) }),
				layer("attn_v.bias", []int{kv}, func(L *model.Layer) []float32 { return L.VBias.Data }),
			)
		}
	}
	sort.SliceStable(ss, func(i, j int) bool {
		if ss[i].layer != ss[j].layer {
			return ss[i].layer < ss[j].layer
		}
		return ss[i].name < ss[j].name
	})
	mix := newQuantMix(cfg, ft)
	for i := range ss {
		ss[i].typ = mix.typeOf(&ss[i])
	}
	return ss, nil
}

// permuteRows is LlamaModel.permute: within each of heads blocks of rows,
// row j·half+i moves to 2i+j, turning rotate_half pairs into adjacent ones.
func permuteRows(x []float32, heads, cols int) []float32 {
	rows := len(x) / cols
	d := rows / heads
	half := d / 2
	out := make([]float32, len(x))
	for h := range heads {
		for j := range 2 {
			for i := range half {
				src := (h*d + j*half + i) * cols
				dst := (h*d + 2*i + j) * cols
				copy(out[dst:dst+cols], x[src:src+cols])
			}
		}
	}
	return out
}

// quantMix is llama.cpp's llama_tensor_get_type for the file types we
// write, from f32 weights and without an importance matrix.
type quantMix struct {
	ft          FileType
	base        Type
	tied        bool // no output.weight: token_embd is quantised as the output
	layers      int
	bigModel    bool // llama.cpp's LLM_TYPE_70B: 80 layers with grouped-query attention
	attnVSeen   int
	ffnDownSeen int
}

func newQuantMix(cfg *model.Config, ft FileType) *quantMix {
	base := map[FileType]Type{AllF32: F32, MostlyF16: F16, MostlyQ8_0: Q8_0, MostlyQ4_0: Q4_0, MostlyQ4_KM: Q4_K}[ft]
	return &quantMix{ft: ft, base: base, tied: cfg.TieWordEmbeddings, layers: cfg.NumHiddenLayers,
		bigModel: cfg.NumHiddenLayers == 80 && cfg.NumAttentionHeads != cfg.NumKeyValueHeads}
}

// typeOf must be called in plan order: like llama.cpp, it counts the
// attn_v and ffn_down tensors it has seen to place the higher-precision
// layers.
func (m *quantMix) typeOf(s *slot) Type {
	// Vectors (norms, biases, rope factors) stay f32 in every file type, as
	// in both the converter and the quantiser.
	if len(s.shape) < 2 {
		return F32
	}
	if m.base == F32 || m.base == F16 {
		return m.base
	}
	cols := s.shape[len(s.shape)-1]
	t := m.base
	// Kept above the base type: more bits for the tensors that matter most
	// (use_more_bits: the first and last eighth of the layers, and every
	// third one in between).
	moreBits := func(i int) bool { n := m.layers; return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }
	switch {
	case s.name == "output.weight" || (m.tied && s.name == "token_embd.weight"):
		if cols%t.BlockSize() != 0 {
			t = Q8_0
		} else if t != Q8_0 {
			t = Q6_K
		}
	case s.name == "token_embd.weight":
	case strings.HasSuffix(s.name, ".attn_v.weight"):
		if m.ft == MostlyQ4_KM && moreBits(m.attnVSeen) {
			t = Q6_K
		}
		// The 70B bump; its rows (8,192) are whole Q5_K blocks, so the
		// Q5_1 fallback llama.cpp would need otherwise never arises.
		if m.bigModel && t == Q4_K && cols%256 == 0 {
			t = Q5_K
		}
		m.attnVSeen++
	case strings.HasSuffix(s.name, ".ffn_down.weight"):
		if m.ft == MostlyQ4_KM && moreBits(m.ffnDownSeen) {
			t = Q6_K
		}
		m.ffnDownSeen++
	}
	return fallback(t, cols)
}

// fallback is tensor_type_fallback: a 256-weight type on rows that are not
// a multiple of 256 becomes the 32-weight type llama.cpp substitutes, and
// rows that are not a multiple of 32 are stored as f16.
func fallback(t Type, cols int) Type {
	if cols%t.BlockSize() != 0 {
		switch t {
		case Q4_K:
			t = Q5_0
		case Q6_K:
			t = Q8_0
		}
		if cols%t.BlockSize() != 0 {
			t = F16
		}
	}
	return t
}

// Size is the bytes of a model's tensors in a GGUF of file type ft, from
// the real block sizes of each tensor's type (metadata and alignment
// padding, a few hundred KB with a large vocabulary, excluded).
func Size(cfg *model.Config, ft FileType) (int64, error) {
	ss, err := plan(cfg, ft)
	if err != nil {
		return 0, err
	}
	var n int64
	for i := range ss {
		n += (&tensor{shape: ss[i].shape, typ: ss[i].typ}).nbytes()
	}
	return n, nil
}
