package tokenizer

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

// nodeDir is scripts/node, whose node_modules `make setup` installs.
func nodeDir(t testing.TB) string {
	t.Helper()
	d := repotest.Path(t, "scripts/node")
	if _, err := os.Stat(filepath.Join(d, "node_modules", "@lenml", "tokenizers")); err != nil {
		t.Fatalf("reference tokenizers missing in %s/node_modules: run `make setup`", d)
	}
	return d
}

var families = []string{"qwen3", "llama3"}

var (
	loadOnce sync.Map // family → *loaded
)

type loaded struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// realTokenizer loads the tokenizer.json shipped in @lenml/tokenizer-<family>,
// once per test binary.
func realTokenizer(t testing.TB, family string) *Tokenizer {
	t.Helper()
	path := filepath.Join(nodeDir(t), "node_modules", "@lenml", "tokenizer-"+family, "models", "tokenizer.json")
	v, _ := loadOnce.LoadOrStore(family, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() { l.tok, l.err = Load(path) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.tok
}

// datasetStrings returns text fields of the first n records of a JSONL file
// under the repository's testdata/.
func datasetStrings(t testing.TB, file string, n int, fields ...string) []string {
	t.Helper()
	f, err := os.Open(repotest.Data(t, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan() && line <= n; line++ {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s:%d: %v", file, line, err)
		}
		for _, k := range fields {
			if s, ok := rec[k].(string); ok {
				out = append(out, s)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no %v fields", file, fields)
	}
	return out
}

// edgeCases are strings chosen to exercise each branch of the split
// patterns, NFC, added tokens and the byte-level mapping.
var edgeCases = []string{
	"", " ", "  ", "\n", "\n\n\n", "\r\n", " \r\n \n", "\t", "\t\t x", "a\n", "a \n", "a  \n\n  b",
	"Hello world", "Hello  world", "Hello   world   ", "   leading", "trailing   ", "x" + strings.Repeat(" ", 100) + "y",
	strings.Repeat(" ", 257), strings.Repeat("\n", 40), strings.Repeat(" \n", 30), strings.Repeat("\t \u3000", 20) + "z",
	"It's", "it'S", "I'LL", "we've", "they'RE", "'s'", "''s", "don't", "I'm", "he'd", "'ll be", "O'Neil's", "rock'n'roll",
	"123", "1234567", "3.14159", "1,000,000", "-42", "x1y2z3", "1st 2nd 3rd", "٣٤٥ ١٢", "½ ¾ ² ³", "Ⅻ ⅷ", "①②③",
	"$1,234.56", "(a+b)^2 = a^2 + 2ab + b^2", "\\frac{1}{2}", "\\boxed{42}", "$\\sqrt{x}$", "f(x) := x**2 // 3",
	"#### 18", "<<16-3-4=9>>9", "...", "?!", " ...hello", "--- ---", "a.b.c", "e.g.", "hello,world", "@user #tag",
	"你好世界", "我爱北京天安门。", "日本語のテキスト", "한국어 텍스트", "中文 English 混合 text",
	"🤗", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "a🤗b", " 🤗 ", "🤗🤗🤗", "emoji at end 😀",
	"café", "cafe\u0301", "e\u0301\u0301", "\u1100\u1161\u11a8", "Å Å", "ﬁ ligature", "Ǆ ǅ ǆ",
	"Привет, мир!", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Γειά σου Κόσμε", "שלום עולם",
	"\u00a0nbsp\u00a0", "\u2009thin\u2009space", "zero\u200bwidth", "\u3000ideographic", "\u2028line\u2029para",
	"\x00\x01\x7f", "tab\there", "bell\a", "\u0085next line", "mixed \t\n\r\n whitespace \n\t ",
	"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<|im_start|>user\nhi<|im_end|>\n",
	"<think>\nreasoning\n</think>\n\nanswer", "<|im_start|", "<think", "<<think>>", "<|im_start|><|im_start|>",
	" <|im_end|> ", "x<|endoftext|>y", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
	"<|reserved_special_token_5|>", "<|begin_of_text|><|begin_of_text|>", "<s></s><unk>",
	"<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>", "def f(x):\n    return x + 1\n\n\nprint(f(2))",
	"{\"json\": [1, 2, 3], \"ok\": true}", "https://example.com/path?q=1&r=2#frag", "C:\\Windows\\System32",
	strings.Repeat("a", 1000), strings.Repeat("ab", 500), strings.Repeat("=", 200), strings.Repeat("🤗", 50),
	strings.Repeat("\\frac", 60), "supercalifragilisticexpialidocious" + strings.Repeat("ness", 20),
	"ALLCAPS WORDS HERE", "camelCaseIdentifier snake_case_name kebab-case-name", "x_1 + y_2 = z_{12}",
}

// randomStrings draws strings from a mixed alphabet so that every class
// boundary of the split patterns is crossed many times.
func randomStrings(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	alphabet := []string{
		"a", "b", "Z", "é", "ß", "中", "文", "ö", "Я", "ا", "क", "ि", "0", "7", "٣", "½", "²",
		" ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000",
		".", ",", "!", "?", "'", "'s", "'t", "'LL", "\"", "$", "\\", "(", ")", "{", "}", "-", "+", "=", "#",
		"🤗", "👍🏽", "\u0301", "\u200d", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|eot_id|>", "<|begin_of_text|>", "<|",
		"the", " the", "ing", "123", "4567", "hello", " world", "\n\n",
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for k := r.IntN(40) + 1; k > 0; k-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		out[i] = b.String()
	}
	return out
}

// parityStrings is the corpus the ids are checked on: dataset text, the
// edge cases and random strings.
func parityStrings(t testing.TB) []string {
	t.Helper()
	var out []string
	out = append(out, datasetStrings(t, "gsm8k_test.jsonl", 300, "question", "answer")...)
	out = append(out, datasetStrings(t, "math500_test.jsonl", 150, "problem", "solution")...)
	out = append(out, edgeCases...)
	out = append(out, randomStrings(400, 42)...)
	return out
}
