package dataset

import "github.com/distill-dev/distill/dataset/verify"

// textMemo carries what was computed from a trace's texts alone (prompt,
// chain of thought, answer) to the next traces of the same worker: the
// samples of a prompt are often the same text (60% of the builtin
// teacher's traces are exact duplicates, mostly of a sibling), and then
// nothing needs computing again. Each value is a function of those strings
// and of the run's config, which does not change, so a value remembered is
// the value computing would give. A worker keeps the texts of its last
// four distinct traces (textMemos).
type textMemo struct {
	prompt, reasoning, answer string
	has                       uint8 // memo* bits: the values set below
	repeat                    float64
	mixed                     bool
	exact                     uint64
	words                     []uint64 // word hashes of the chain of thought
	bands                     []uint64 // MinHash band keys of chain of thought and answer
	// The verdict also depends on the reference and the verifier: it is
	// kept with them, and used only when they match.
	verdict            verify.Verdict
	reference, checker string
}

const (
	memoRepeat = 1 << iota
	memoMixed
	memoExact
	memoBands
	memoVerdict
	memoWords
)

type textMemos struct {
	recent [4]textMemo
	next   int
}

// attach gives t the memo of its texts: a recent one, or the oldest one
// emptied.
func (ms *textMemos) attach(t *Trace) {
	for i := range ms.recent {
		if m := &ms.recent[i]; t.Prompt == m.prompt && t.ThinkReasoning == m.reasoning && t.Answer == m.answer {
			t.memo = m
			return
		}
	}
	m := &ms.recent[ms.next]
	ms.next = (ms.next + 1) % len(ms.recent)
	*m = textMemo{prompt: t.Prompt, reasoning: t.ThinkReasoning, answer: t.Answer, words: m.words[:0], bands: m.bands[:0]}
	t.memo = m
}

// memoized returns the value of bit from t's memo, computing and keeping it
// the first time; a trace without a memo computes it every time.
func memoized[V any](t *Trace, bit uint8, slot func(*textMemo) *V, compute func() V) V {
	m := t.memo
	if m == nil {
		return compute()
	}
	p := slot(m)
	if m.has&bit == 0 {
		*p = compute()
		m.has |= bit
	}
	return *p
}

// repeatShare is repeatShare of the chain of thought.
func (t *Trace) repeatShare(cfg *Config) float64 {
	if t.memo == nil {
		return repeatShare(t.ThinkReasoning, cfg.Repetition.NGram, cfg.Repetition.MinNGrams)
	}
	return memoized(t, memoRepeat, func(m *textMemo) *float64 { return &m.repeat }, func() float64 {
		buf := repeatBufs.Get().(*repeatBuf)
		defer repeatBufs.Put(buf)
		return buf.repeatShare(t.memo.reasoningWords(), cfg.Repetition.NGram, cfg.Repetition.MinNGrams)
	})
}

// reasoningWords are the word hashes of the chain of thought, which the
// repetition filter and MinHash both start from.
func (m *textMemo) reasoningWords() []uint64 {
	if m.has&memoWords == 0 {
		m.words = wordHashes(m.words[:0], m.reasoning)
		m.has |= memoWords
	}
	return m.words
}

// languageMixed is the language filter's decision.
func (t *Trace) languageMixed(cfg *Config) bool {
	return memoized(t, memoMixed, func(m *textMemo) *bool { return &m.mixed }, func() bool {
		main := mainScript(scriptCounts(t.Prompt))
		return foreignShare(t.ThinkReasoning, main) > cfg.Language.MaxForeignShare ||
			foreignShare(t.Answer, main) > cfg.Language.MaxForeignShare
	})
}

// exactKey is exactKey of prompt, chain of thought and answer.
func (t *Trace) exactKey() uint64 {
	return memoized(t, memoExact, func(m *textMemo) *uint64 { return &m.exact }, func() uint64 {
		return exactKey(t.Prompt, t.ThinkReasoning, t.Answer)
	})
}

// verdict is v's verdict on t's answer against its reference.
func (t *Trace) verdict(v verify.Verifier) verify.Verdict {
	m := t.memo
	if m == nil || m.has&memoVerdict == 0 || m.reference != t.Reference || m.checker != v.Name() {
		got := v.Verify(t.Answer, t.Reference).Verdict
		if m != nil {
			m.verdict, m.reference, m.checker = got, t.Reference, v.Name()
			m.has |= memoVerdict
		}
		return got
	}
	return m.verdict
}

// bandKeys appends the MinHash band keys of the chain of thought and the
// answer to dst.
func (t *Trace) bandKeys(mh *MinHasher, dst []uint64) []uint64 {
	m := t.memo
	if m == nil {
		return mh.BandKeys(dst, t.ThinkReasoning, t.Answer)
	}
	if m.has&memoBands == 0 {
		m.bands = mh.bandKeysAfter(m.bands[:0], m.reasoningWords(), t.Answer)
		m.has |= memoBands
	}
	return append(dst, m.bands...)
}
