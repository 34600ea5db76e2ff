package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// validUTF8 replaces invalid bytes by U+FFFD: HF only ever sees valid text
// (Rust &str, JS strings), and the splitters count in runes.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Encode returns the ids of text (invalid UTF-8 is read as U+FFFD). Added tokens in text (<|im_start|>,
// <think>, ...) become their ids, as HF does with split_special_tokens=False;
// no BOS/EOS is added (chat templates add what they need).
func (t *Tokenizer) Encode(text string) []int32 {
	ids, _ := t.encode(text, false)
	return ids
}

// encodeSpans also returns each token's [start, end) byte range in the
// normalized text; Render normalizes message contents first, so the ranges
// are ranges of its input.
func (t *Tokenizer) encodeSpans(text string) ([]int32, [][2]int) {
	return t.encode(text, true)
}

func (t *Tokenizer) encode(text string, wantSpans bool) ([]int32, [][2]int) {
	text = validUTF8(text)
	ids := make([]int32, 0, len(text)/3+1)
	var spans [][2]int
	var segs []segment
	if len(t.added) > 0 {
		segs = t.matcher.split(text, make([]segment, 0, 8))
	} else if text != "" {
		segs = []segment{{start: 0, end: len(text)}}
	}
	var pieces [][2]int
	var buf []int32
	for _, sg := range segs {
		if sg.added != nil {
			ids = append(ids, sg.added.id)
			if wantSpans {
				spans = append(spans, [2]int{sg.start, sg.end})
			}
			continue
		}
		s := t.norm.apply(text[sg.start:sg.end])
		base := sg.start // input offset of s[0]
		if t.pre.addPrefixSpace && s != "" && s[0] != ' ' {
			s, base = " "+s, base-1 // the added space has no input byte
		}
		if len(t.merges) == 0 && !t.ignoreMerges {
			// Without merges every byte is a token whatever the split.
			for i := 0; i < len(s); i++ {
				ids = append(ids, t.byteID[s[i]])
				if wantSpans {
					spans = append(spans, [2]int{sg.start + i, sg.start + i + 1})
				}
			}
			continue
		}
		pieces = t.pre.split.split(s, pieces[:0])
		for _, p := range pieces {
			start := len(ids)
			ids, buf = t.encodePiece(s[p[0]:p[1]], ids, buf)
			if wantSpans {
				pos := base + p[0]
				for _, id := range ids[start:] {
					n := len(t.pieces[id])
					spans = append(spans, [2]int{max(pos, sg.start), pos + n})
					pos += n
				}
			}
		}
	}
	return ids, spans
}

// encodePiece appends the BPE ids of one pre-tokenized piece.
func (t *Tokenizer) encodePiece(piece string, dst, buf []int32) ([]int32, []int32) {
	if len(piece) == 1 {
		return append(dst, t.byteID[piece[0]]), buf
	}
	cacheable := len(piece) < cacheMaxPiece
	if cacheable {
		t.cacheMu.RLock()
		hit, ok := t.cache[piece]
		t.cacheMu.RUnlock()
		if ok {
			return append(dst, hit...), buf
		}
	}
	if t.ignoreMerges {
		if id, ok := t.tokenToID[byteLevelEncode([]byte(piece))]; ok {
			return append(dst, id), buf
		}
	}
	buf = buf[:0]
	for i := 0; i < len(piece); i++ {
		buf = append(buf, t.byteID[piece[i]])
	}
	out := t.bpe(buf)
	if cacheable {
		t.cacheMu.Lock()
		if len(t.cache) >= cacheMaxEntries {
			clear(t.cache)
		}
		// Clone: the piece points into the caller's text, which the cache
		// must not keep alive.
		t.cache[strings.Clone(piece)] = append([]int32(nil), out...)
		t.cacheMu.Unlock()
	}
	return append(dst, out...), buf
}

// Decode returns the text of ids: added tokens as their content, the rest as
// bytes, with invalid UTF-8 replaced by U+FFFD as HF does. Unknown ids are
// skipped. Special tokens are kept (HF's skip_special_tokens=False).
func (t *Tokenizer) Decode(ids []int32) string {
	var raw []byte
	for _, id := range ids {
		raw = append(raw, t.TokenBytes(id)...)
	}
	return string(appendLossy(nil, raw))
}
