package tokenizer

import (
	"testing"
	"unicode/utf8"
)

// The scanner must cut exactly where regexp2 running the pattern from
// tokenizer.json cuts.
func TestScannerMatchesRegex(t *testing.T) {
	corpus := append(append([]string(nil), edgeCases...), randomStrings(3000, 9)...)
	corpus = append(corpus, datasetStrings(t, "math500_test.jsonl", 100, "problem", "solution")...)
	for _, tc := range []struct {
		pattern string
		sc      scanner
	}{{patternQwen2, scanner{maxDigits: 1}}, {patternLlama3, scanner{maxDigits: 3}}} {
		re, err := newRegexSplitter(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range corpus {
			checkSplit(t, tc.sc, re, s)
		}
	}
}

func checkSplit(t *testing.T, sc scanner, re *regexSplitter, s string) {
	t.Helper()
	got, want := sc.split(s, nil), re.split(s, nil)
	if len(got) != len(want) {
		t.Fatalf("maxDigits=%d split(%q):\n got %q\nwant %q", sc.maxDigits, s, pieces(s, got), pieces(s, want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("maxDigits=%d split(%q):\n got %q\nwant %q", sc.maxDigits, s, pieces(s, got), pieces(s, want))
		}
	}
}

func pieces(s string, r [][2]int) []string {
	out := make([]string, len(r))
	for i, p := range r {
		out[i] = s[p[0]:p[1]]
	}
	return out
}

func FuzzScanner(f *testing.F) {
	for _, s := range edgeCases {
		f.Add(s)
	}
	qwen, err := newRegexSplitter(patternQwen2)
	if err != nil {
		f.Fatal(err)
	}
	llama, err := newRegexSplitter(patternLlama3)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip() // text reaches the splitter as valid UTF-8 only
		}
		checkSplit(t, scanner{maxDigits: 1}, qwen, s)
		checkSplit(t, scanner{maxDigits: 3}, llama, s)
	})
}
