package dataset

import (
	"math/bits"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Scripts the language filter tells apart. Greek is not among them: α, β, π
// are mathematics in any language.
type script uint8

const (
	scriptNone script = iota
	scriptLatin
	scriptHan // Chinese characters, also used in Japanese
	scriptKana
	scriptHangul
	scriptCyrillic
	scriptArabic
	scriptHebrew
	scriptDevanagari
	scriptThai
	numScripts
)

var scriptTables = [numScripts]*unicode.RangeTable{
	scriptLatin: unicode.Latin, scriptHan: unicode.Han, scriptKana: unicode.Hiragana,
	scriptHangul: unicode.Hangul, scriptCyrillic: unicode.Cyrillic, scriptArabic: unicode.Arabic,
	scriptHebrew: unicode.Hebrew, scriptDevanagari: unicode.Devanagari, scriptThai: unicode.Thai,
}

func scriptOf(r rune) script {
	if r < utf8.RuneSelf {
		if r|0x20 >= 'a' && r|0x20 <= 'z' {
			return scriptLatin
		}
		return scriptNone
	}
	if r < lowRunes {
		return lowScripts()[r]
	}
	return scriptOfTables(r)
}

// lowRunes start the table of scripts (lowScripts): Latin-1, and the
// punctuation, arrows and operators of mathematics (×, −, →, ≤) that a chain
// of thought is full of and that would each cost ten table searches.
const lowRunes = 0x2400

var lowScripts = sync.OnceValue(func() *[lowRunes]script {
	var t [lowRunes]script
	for r := range rune(lowRunes) {
		t[r] = scriptOfTables(r)
	}
	return &t
})

func scriptOfTables(r rune) script {
	if r < utf8.RuneSelf {
		if r|0x20 >= 'a' && r|0x20 <= 'z' {
			return scriptLatin
		}
		return scriptNone
	}
	if unicode.Is(unicode.Katakana, r) {
		return scriptKana
	}
	for s := scriptLatin; s < numScripts; s++ {
		if unicode.Is(scriptTables[s], r) {
			return s
		}
	}
	return scriptNone
}

// scriptCounts counts the letters of s per script. LaTeX command names
// (\frac, \boxed) are markup, not language, and are not counted.
func scriptCounts(s string) (n [numScripts]int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Eight ASCII bytes without a backslash at once: a byte is a
			// letter when, lower-cased, it is in 'a'..'z'.
			w := s[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			bs := x ^ '\\'*ones
			if x&highs == 0 && (bs-ones)&^bs&highs == 0 {
				y := x | 0x20*ones
				atLeastA, pastZ := y+(0x80-'a')*ones, y+(0x80-'z'-1)*ones
				n[scriptLatin] += bits.OnesCount64(atLeastA &^ pastZ & highs)
				i += 8
				continue
			}
		}
		c := s[i]
		if c == '\\' {
			i++
			for i < len(s) && s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z' {
				i++
			}
			continue
		}
		if c < utf8.RuneSelf {
			if c|0x20 >= 'a' && c|0x20 <= 'z' {
				n[scriptLatin]++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n[scriptOf(r)]++
		i += size
	}
	return n
}

// mainScript is the script with the most letters, Latin when there are none
// (a prompt of only numbers and symbols is answered in English).
func mainScript(n [numScripts]int) script {
	best := scriptLatin
	for s := scriptLatin; s < numScripts; s++ {
		if n[s] > n[best] {
			best = s
		}
	}
	return best
}

// foreignShare is the share of the letters of text in scripts other than
// main.
func foreignShare(text string, main script) float64 {
	n := scriptCounts(text)
	total, foreign := 0, 0
	for s := scriptLatin; s < numScripts; s++ {
		total += n[s]
		if s != main {
			foreign += n[s]
		}
	}
	if total == 0 {
		return 0
	}
	return float64(foreign) / float64(total)
}

// FNV-1a, 64 bits: stable across runs and platforms (unlike maphash), which
// byte-identical reruns need.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix64(h)
}

// mix64 is SplitMix64's finaliser: it spreads FNV's weak low bits.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

// wordHashes appends the hashes of the words of s to dst. A word is a run of
// letters or digits, lower-cased (ASCII) so that case and punctuation do not
// hide a duplicate or a benchmark overlap; any other non-space rune is a word
// of its own, so that "3+4=7" still has structure.
func wordHashes(dst []uint64, s string) []uint64 {
	h, in := uint64(fnvOffset), false
	for i := 0; i < len(s); {
		c := s[i]
		size := 1
		var r rune = rune(c)
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			h ^= uint64(c)
			h *= fnvPrime
			in = true
		case c >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			for k := 0; k < size; k++ {
				h ^= uint64(s[i+k])
				h *= fnvPrime
			}
			in = true
		default:
			if in {
				dst = append(dst, mix64(h))
				h, in = fnvOffset, false
			}
			if !(c == ' ' || c == '\n' || c == '\t' || c == '\r' || (c >= utf8.RuneSelf && unicode.IsSpace(r))) &&
				c != '\\' && c != '$' && c != '{' && c != '}' {
				// Punctuation and operators are words; LaTeX markup is not,
				// so that $x$ and x read alike.
				dst = append(dst, mix64(uint64(r)+0x9e3779b97f4a7c15))
			}
		}
		i += size
	}
	if in {
		dst = append(dst, mix64(h))
	}
	return dst
}

// ngramHashes appends the hashes of the n-grams of words (all of words as
// one when there are fewer than n) to dst.
func ngramHashes(dst, words []uint64, n int) []uint64 {
	if len(words) == 0 {
		return dst
	}
	if len(words) < n {
		n = len(words)
	}
	for i := 0; i+n <= len(words); i++ {
		h := uint64(n)
		for _, w := range words[i : i+n] {
			h = mix64(h ^ w)
		}
		dst = append(dst, h)
	}
	return dst
}
