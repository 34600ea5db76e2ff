package tokenizer

import "sort"

// PreTokenizerFamily names the split pattern of the pre-tokenizer when it is
// one of the known families: "qwen2" (digits one at a time), "llama3"
// (digits in threes) or "gpt2" (ByteLevel's own regex); "" for any other
// pattern or none. Other runtimes (llama.cpp) pick their pre-tokenizer by
// such a name instead of reading the regex.
func (t *Tokenizer) PreTokenizerFamily() string {
	switch t.pre.pattern {
	case patternQwen2:
		return "qwen2"
	case patternLlama3:
		return "llama3"
	case patternGPT2:
		return "gpt2"
	}
	return ""
}

// Merges returns the merge rules in rank order as pairs of tokens in their
// tokenizer.json form ("Ġ", "t"). A pair listed twice in the file appears
// once, at its first rank, since only that one is ever applied.
func (t *Tokenizer) Merges() [][2]string {
	type ranked struct {
		rank int32
		pair [2]string
	}
	rs := make([]ranked, 0, len(t.merges))
	for k, m := range t.merges {
		a, b := int32(uint32(k>>32)), int32(uint32(k))
		rs = append(rs, ranked{m.rank, [2]string{t.tokens[a], t.tokens[b]}})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].rank < rs[j].rank })
	out := make([][2]string, len(rs))
	for i, r := range rs {
		out[i] = r.pair
	}
	return out
}
