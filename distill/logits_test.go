package distill

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestLogitsErrors(t *testing.T) {
	tests := []struct {
		name, model, in, want string
	}{
		{"not json", logitsFixture, "[1,2]\n{oops}\n", "stdin line 2: want a JSON array"},
		{"strings", logitsFixture, "[\"a\"]\n", "stdin line 1: want a JSON array"},
		{"out of range", logitsFixture, "[1]\n[3,128]\n", "stdin line 2: token 128 at position 1 is outside the vocabulary [0, 128)"},
		{"negative", logitsFixture, "[-1]\n", "stdin line 1: token -1"},
		{"empty array", logitsFixture, "[]\n", "stdin line 1: empty token sequence"},
		{"too long", logitsFixture, "[" + strings.Repeat("1,", 128) + "1]\n", "stdin line 1: context longer than max_position_embeddings"},
		{"no model", filepath.Join(t.TempDir(), "missing"), "[1]\n", "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := runLogits(t.Context(), LogitsOptions{Model: tt.model, In: strings.NewReader(tt.in), Out: &out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
