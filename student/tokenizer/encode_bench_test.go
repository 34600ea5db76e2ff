package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// benchCorpus is the text the Encode benchmarks run on: the JSON strings of
// $TOKENIZER_BENCH_CORPUS (one per line; scripts/bench/tokenizer.sh passes
// the file it gives the node reference too) or else GSM8K test text.
func benchCorpus(b *testing.B) ([]string, int64) {
	var corpus []string
	if path := os.Getenv("TOKENIZER_BENCH_CORPUS"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var s string
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				b.Fatalf("%s: %v", path, err)
			}
			corpus = append(corpus, s)
		}
	} else {
		corpus = datasetStrings(b, "gsm8k_test.jsonl", 2000, "question", "answer")
	}
	var n int64
	for _, s := range corpus {
		n += int64(len(s))
	}
	return corpus, n
}

func benchmarkEncode(b *testing.B, family string) {
	tok := realTokenizer(b, family)
	corpus, n := benchCorpus(b)
	for _, s := range corpus { // warm the piece cache, as the reference does
		tok.Encode(s)
	}
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		for _, s := range corpus {
			tok.Encode(s)
		}
	}
}

func BenchmarkEncodeQwen3(b *testing.B)  { benchmarkEncode(b, "qwen3") }
func BenchmarkEncodeLlama3(b *testing.B) { benchmarkEncode(b, "llama3") }

// BenchmarkEncodeByteLevel is the from-scratch students' tokenizer.
func BenchmarkEncodeByteLevel(b *testing.B) {
	tok := NewByteLevel(nil)
	corpus, n := benchCorpus(b)
	b.SetBytes(n)
	for b.Loop() {
		for _, s := range corpus {
			tok.Encode(s)
		}
	}
}
