package tokenizer

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// The heap merge used for long pieces and the quadratic scan used for short
// ones must agree on every piece.
func TestBPEHeapMatchesScan(t *testing.T) {
	tok := realTokenizer(t, "llama3")
	r := rand.New(rand.NewPCG(5, 5))
	words := []string{"the", " the", "ing", "  ", "\n", "aa", "ab", "=", "12", "ü", "🤗", "er", "re", "s"}
	for i := 0; i < 2000; i++ {
		var piece []byte
		for k := r.IntN(30) + 2; k > 0; k-- {
			piece = append(piece, words[r.IntN(len(words))]...)
		}
		ids := make([]int32, len(piece))
		for k, b := range piece {
			ids[k] = tok.byteID[b]
		}
		ids2 := append([]int32(nil), ids...)
		heap := tok.bpe(ids) // len > 16 takes the heap path
		if len(ids2) <= 16 {
			continue
		}
		scan := tok.bpeSmall(ids2)
		if !equalIDs(heap, scan) {
			t.Fatalf("piece %q: heap %v, scan %v", piece, heap, scan)
		}
	}
}

// Encode is safe for concurrent use (the piece cache is shared).
func TestEncodeConcurrent(t *testing.T) {
	tok := realTokenizer(t, "qwen3")
	corpus := randomStrings(300, 11)
	want := make([][]int32, len(corpus))
	for i, s := range corpus {
		want[i] = tok.Encode(s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range corpus {
				i := (k*7 + g*13) % len(corpus)
				if got := tok.Encode(corpus[i]); !equalIDs(got, want[i]) {
					t.Errorf("goroutine %d: Encode(%q) = %v, want %v", g, corpus[i], got, want[i])
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
