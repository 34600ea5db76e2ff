package distill

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/checkpoint"
)

const logitsFixture = "../student/model/testdata/qwen2-tiny"

func TestLogitsMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(logitsFixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Cases []struct {
			Tokens     []int32   `json:"tokens"`
			LastLogits []float32 `json:"last_logits"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i, c := range exp.Cases {
		ids, _ := json.Marshal(c.Tokens)
		in.Write(ids)
		if i == 1 {
			in.WriteString("\n   \n") // blank lines are skipped
		}
		if i < len(exp.Cases)-1 {
			in.WriteByte('\n') // the last line has no newline
		}
	}
	var out strings.Builder
	if err := runLogits(t.Context(), LogitsOptions{Model: logitsFixture, In: strings.NewReader(in.String()), Out: &out}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		var got []float32
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("output line %d: %v", n+1, err)
		}
		want := exp.Cases[n].LastLogits
		if len(got) != len(want) {
			t.Fatalf("output line %d: %d logits, want %d", n+1, len(got), len(want))
		}
		var md, mr float64
		for i := range want {
			md = math.Max(md, math.Abs(float64(got[i]-want[i])))
			mr = math.Max(mr, math.Abs(float64(want[i])))
		}
		if md/mr > 1e-4 {
			t.Errorf("output line %d: relative error %.2g", n+1, md/mr)
		}
	}
	if n != len(exp.Cases) {
		t.Errorf("%d output lines, want %d", n, len(exp.Cases))
	}
}

// --greedy's tokens are the argmax of the uncached logits of the sequence
// so far, step after step: the KV-cached decoder agrees with the forward
// pass `distill logits` prints (HF's generate is compared in hf_test.go).
func TestLogitsGreedy(t *testing.T) {
	w, err := checkpoint.Load(logitsFixture)
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int32{{48}, {3, 17, 99, 5, 64, 2}}
	var in strings.Builder
	for _, p := range prompts {
		b, _ := json.Marshal(p)
		in.Write(append(b, '\n'))
	}
	const n = 12
	var out strings.Builder
	if err := runLogits(t.Context(), LogitsOptions{Model: logitsFixture, Greedy: n, In: strings.NewReader(in.String()), Out: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(prompts) {
		t.Fatalf("%d output lines, want %d", len(lines), len(prompts))
	}
	for i, p := range prompts {
		var got []int32
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(got) != n {
			t.Fatalf("line %d: %d tokens, want %d", i+1, len(got), n)
		}
		seq := append([]int32(nil), p...)
		for k, tok := range got {
			lg := w.Logits(seq)
			if want := int32(slices.Index(lg, slices.Max(lg))); tok != want {
				t.Fatalf("line %d step %d: greedy token %d, argmax of the logits %d", i+1, k, tok, want)
			}
			seq = append(seq, tok)
		}
	}
}

func TestLogitsErrors(t *testing.T) {
	tests := []struct {
		name, model, in, want string
		greedy                int
	}{
		{"not json", logitsFixture, "[1,2]\n{oops}\n", "stdin line 2: want a JSON array", 0},
		{"strings", logitsFixture, "[\"a\"]\n", "stdin line 1: want a JSON array", 0},
		{"out of range", logitsFixture, "[1]\n[3,128]\n", "stdin line 2: token 128 at position 1 is outside the vocabulary [0, 128)", 0},
		{"negative", logitsFixture, "[-1]\n", "stdin line 1: token -1", 0},
		{"empty array", logitsFixture, "[]\n", "stdin line 1: empty token sequence", 0},
		{"too long", logitsFixture, "[" + strings.Repeat("1,", 128) + "1]\n", "stdin line 1: context longer than max_position_embeddings", 0},
		{"no model", filepath.Join(t.TempDir(), "missing"), "[1]\n", "config.json", 0},
		{"negative greedy", logitsFixture, "[1]\n", "--greedy must not be negative", -1},
		{"greedy out of range", logitsFixture, "[1]\n[128]\n", "stdin line 2: token 128", 4},
		{"greedy too long", logitsFixture, "[" + strings.Repeat("1,", 127) + "1]\n", "stdin line 1: generate: prompt 0: context longer than max_position_embeddings", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := runLogits(t.Context(), LogitsOptions{Model: tt.model, Greedy: tt.greedy, In: strings.NewReader(tt.in), Out: &out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
