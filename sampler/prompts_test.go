package sampler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/record"
	"github.com/parquet-go/parquet-go"
)

func collect(t *testing.T, p Prompts) []record.Prompt {
	t.Helper()
	var out []record.Prompt
	if err := p.Each(context.Background(), func(pr record.Prompt) error { out = append(out, pr); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJSONLPrompts(t *testing.T) {
	dir := t.TempDir()
	custom := filepath.Join(dir, "own.jsonl")
	os.WriteFile(custom, []byte(`{"qid": 7, "text": "What is 1 + 1?", "gold": "2", "task": "choice"}`+"\n\n"+`{"qid": 8, "text": "What is 2 + 2?", "gold": 4}`+"\n"), 0o644)
	tests := []struct {
		name   string
		path   string
		fields Fields
		want   []record.Prompt // checked on ID, Answer, Source, Task, Level and a problem prefix
	}{
		{"gsm8k", "testdata/gsm8k.jsonl", Fields{}, []record.Prompt{
			{ID: "gsm8k.jsonl:1", Problem: "Janet’s ducks", Answer: "18", Source: "gsm8k", Task: "gsm8k"},
			{ID: "gsm8k.jsonl:2", Problem: "A robe takes", Answer: "3", Source: "gsm8k", Task: "gsm8k"},
			{ID: "gsm8k.jsonl:3", Problem: "Josh decides", Answer: "70000", Source: "gsm8k", Task: "gsm8k"},
		}},
		{"math500", "testdata/math500.jsonl", Fields{}, []record.Prompt{
			{ID: "test/precalculus/807.json", Problem: "Convert the point", Answer: `\left( 3, \frac{\pi}{2} \right)`, Source: "math500", Task: "math", Level: "2"},
			{ID: "test/intermediate_algebra/1994.json", Problem: "Define", Answer: "p - q", Source: "math500", Task: "math", Level: "5"},
			{ID: "test/algebra/2584.json", Problem: "If $f(x)", Answer: `\frac{14}{3}`, Source: "math500", Task: "math", Level: "3"},
		}},
		{"mapped", custom, Fields{ID: "qid", Prompt: "text", Answer: "gold"}, []record.Prompt{
			{ID: "7", Problem: "What is 1 + 1?", Answer: "2", Source: "own", Task: "choice"},
			{ID: "8", Problem: "What is 2 + 2?", Answer: "4", Source: "own", Task: "math"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, &JSONLPrompts{Path: tt.path, Fields: tt.fields})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d prompts, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.ID != w.ID || g.Answer != w.Answer || g.Source != w.Source || g.Task != w.Task || g.Level != w.Level || !strings.HasPrefix(g.Problem, w.Problem) {
					t.Errorf("prompt %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestJSONLPromptsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, content, want string }{
		{"not json", "{\"problem\": \"a\"}\nnot json\n", "bad.jsonl:2: not a JSON object"},
		{"no prompt", "{\"foo\": \"a\"}\n", "bad.jsonl:1: no prompt text"},
		{"object field", "{\"problem\": {\"a\": 1}}\n", `field "problem"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.jsonl")
			os.WriteFile(p, []byte(tt.content), 0o644)
			err := (&JSONLPrompts{Path: p}).Each(context.Background(), func(record.Prompt) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParquetPrompts(t *testing.T) {
	type row struct {
		UniqueID string `parquet:"unique_id"`
		Problem  string `parquet:"problem"`
		Answer   string `parquet:"answer"`
		Level    int64  `parquet:"level"`
	}
	path := filepath.Join(t.TempDir(), "math.parquet")
	rows := []row{{"a/1", "What is 2 + 3?", "5", 1}, {"a/2", "What is 7 × 6?", "42", 2}}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	got := collect(t, &ParquetPrompts{Path: path})
	if len(got) != 2 || got[0].ID != "a/1" || got[1].Problem != "What is 7 × 6?" || got[1].Answer != "42" || got[0].Source != "math" {
		t.Fatalf("got %+v", got)
	}
	got = collect(t, &ParquetPrompts{Path: path, Fields: Fields{ID: "level"}})
	if got[1].ID != "2" {
		t.Fatalf("id from an int column = %q, want 2", got[1].ID)
	}
}

func TestSuitePrompts(t *testing.T) {
	p, err := OpenSuitePrompts("builtin:arith", 50, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, b := collect(t, p), collect(t, p)
	if len(a) != 50 {
		t.Fatalf("got %d prompts", len(a))
	}
	ids := map[string]bool{}
	for i := range a {
		if ids[a[i].ID] {
			t.Fatalf("id %s repeats, but the suite claims unique ids", a[i].ID)
		}
		ids[a[i].ID] = true
		if a[i] != b[i] || a[i].ID == "" || a[i].Answer == "" {
			t.Fatalf("prompt %d not stable or incomplete: %+v vs %+v", i, a[i], b[i])
		}
	}
	if _, err := OpenSuitePrompts("builtin:nope", 5, 0); err == nil {
		t.Fatal("unknown suite accepted")
	}
}

func TestTemplates(t *testing.T) {
	tests := []struct {
		name   string
		custom map[string]string
		want   string
		err    string
	}{
		{"", nil, "What is 1 + 1?\nPlease reason step by step, and put your final answer within \\boxed{}.", ""},
		{"r1", nil, "What is 1 + 1?\nPlease reason step by step, and put your final answer within \\boxed{}.", ""},
		{"r1-zero", nil, "A conversation between User and Assistant.", ""},
		{"mine", map[string]string{"mine": "Q: {problem}\nA:"}, "Q: What is 1 + 1?\nA:", ""},
		{"r1", map[string]string{"r1": "{problem} please"}, "What is 1 + 1? please", ""},
		{"bad", map[string]string{"bad": "no placeholder"}, "", "no {problem} placeholder"},
		{"nope", nil, "", `unknown template "nope"`},
	}
	for _, tt := range tests {
		tmpl, err := ResolveTemplate(tt.name, tt.custom)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := tmpl.Render("What is 1 + 1?"); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%q: rendered %q, want prefix %q", tt.name, got, tt.want)
		}
	}
	z, _ := ResolveTemplate("r1-zero", nil)
	if got := z.Render("X"); !strings.HasSuffix(got, "User: X. Assistant:") {
		t.Errorf("r1-zero ends %q", got)
	}
}
