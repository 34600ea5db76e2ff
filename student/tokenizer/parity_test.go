package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
)

// runReference pipes one JSON value per line through
// scripts/node/tokenize_ref.mjs and returns its output lines.
func runReference(t *testing.T, family string, args []string, inputs []any) []json.RawMessage {
	t.Helper()
	dir := nodeDir(t)
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, v := range inputs {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), "node", append([]string{filepath.Join(dir, "tokenize_ref.mjs"), family}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if len(msg) > 2000 { // node prints the minified source line of a throw
			msg = "..." + msg[len(msg)-2000:]
		}
		t.Fatalf("node tokenize_ref.mjs %s: %v\n%s", family, err, msg)
	}
	var lines []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		lines = append(lines, json.RawMessage(append([]byte(nil), sc.Bytes()...)))
	}
	if len(lines) != len(inputs) {
		t.Fatalf("reference gave %d lines for %d inputs", len(lines), len(inputs))
	}
	return lines
}

// TestEncodeParity checks ids against @lenml/tokenizers (transformers.js) on
// GSM8K and MATH-500 text, edge cases and random strings, for both real
// tokenizer files, and that decoding gives the (normalized) text back.
func TestEncodeParity(t *testing.T) {
	corpus := parityStrings(t)
	if len(corpus) < 1000 {
		t.Fatalf("corpus has %d strings, want at least 1000", len(corpus))
	}
	for _, fam := range families {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			tok := realTokenizer(t, fam)
			inputs := make([]any, len(corpus))
			for i, s := range corpus {
				inputs[i] = s
			}
			ref := runReference(t, fam, nil, inputs)
			bad := 0
			for i, s := range corpus {
				var want []int32
				if err := json.Unmarshal(ref[i], &want); err != nil {
					t.Fatalf("reference line %d: %v", i+1, err)
				}
				got := tok.Encode(s)
				if !equalIDs(got, want) {
					bad++
					if bad <= 5 {
						t.Errorf("Encode(%q)\n got %v\nwant %v", s, got, want)
					}
				}
				if back, norm := tok.Decode(got), tok.norm.apply(s); back != norm {
					t.Errorf("Decode(Encode(%q)) = %q", s, back)
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d strings differ", bad, len(corpus))
			}
			t.Logf("%d strings, %d ids checked", len(corpus), countIDs(tok, corpus))
		})
	}
}

// TestDecodeParity decodes random id sequences, which split UTF-8
// sequences, and checks the text including U+FFFD replacements.
func TestDecodeParity(t *testing.T) {
	for _, fam := range families {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			tok := realTokenizer(t, fam)
			r := rand.New(rand.NewPCG(7, 7))
			var inputs []any
			var seqs [][]int32
			for i := 0; i < 300; i++ {
				seq := make([]int32, r.IntN(12)+1)
				for k := range seq {
					if r.IntN(2) == 0 {
						seq[k] = int32(r.IntN(256)) // byte tokens: many partial sequences
					} else {
						seq[k] = int32(r.IntN(tok.VocabSize()))
					}
				}
				seqs = append(seqs, seq)
				inputs = append(inputs, seq)
			}
			ref := runReference(t, fam, []string{"--decode"}, inputs)
			for i, seq := range seqs {
				var want string
				if err := json.Unmarshal(ref[i], &want); err != nil {
					t.Fatal(err)
				}
				if got := tok.Decode(seq); got != want {
					t.Errorf("Decode(%v) = %q, want %q", seq, got, want)
				}
			}
		})
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func countIDs(tok *Tokenizer, corpus []string) int {
	n := 0
	for _, s := range corpus {
		n += len(tok.Encode(s))
	}
	return n
}
