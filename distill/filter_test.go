package distill

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
)

func filterTestTraces(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	for i, r := range []struct{ id, reasoning, content, finish string }{
		{"p1", "12 + 30 = 42", `\boxed{42}`, "stop"},
		{"p2", "10 + 5 = 15", `\boxed{16}`, "stop"},
		{"p3", "7 + 1 =", "", "length"},
	} {
		line, _ := json.Marshal(map[string]any{"prompt_id": r.id, "sample": 0, "prompt": "Question " + r.id,
			"reference": []string{"42", "15", "8"}[i], "task": "builtin:arith", "source": "unit",
			"reasoning": r.reasoning, "content": r.content, "finish_reason": r.finish})
		b.Write(append(line, '\n'))
	}
	b.WriteString("{not json\n")
	if err := os.WriteFile(filepath.Join(dir, "traces-00000.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunFilter(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	filterTestTraces(t, in)
	opts := DefaultFilterOptions()
	opts.In, opts.Out, opts.Quiet = []string{in}, out, true
	if err := runFilter(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var st dataset.Stats
	data, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Kept != 1 || st.Reasons["wrong"] != 1 || st.Reasons["truncated"] != 1 || st.Reasons["malformed_json"] != 1 {
		t.Fatalf("kept %d, reasons %v", st.Kept, st.Reasons)
	}
	shards, err := dataset.ListShards(out, "train")
	if err != nil || len(shards) != 1 {
		t.Fatalf("train shards %v (%v)", shards, err)
	}
	if _, err := os.Stat(filepath.Join(out, "README.md")); err != nil {
		t.Fatal(err)
	}
}

// The recipes in configs/ must load and validate.
func TestFilterConfigs(t *testing.T) {
	files, _ := filepath.Glob("../configs/filter-*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs/filter-*.yaml")
	}
	for _, f := range files {
		opts := DefaultFilterOptions()
		if err := loadConfig(f, &opts); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := opts.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestFilterCLI(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	filterTestTraces(t, in)
	cfg := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(cfg, []byte("select:\n  policy: shortest\nlength:\n  max_tokens: 100\n"), 0o644)
	err := NewApp().Run([]string{"distill", "filter", "--config", cfg, "--in", in, "--out", out, "-q", "--filters", "format,length", "--keep-wrong"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(out, "stats.json"))
	var st dataset.Stats
	json.Unmarshal(data, &st)
	// truncated filter not chosen: p3 has no answer, so format drops it; p2 kept despite being wrong.
	if st.Kept != 2 || st.Reasons["format"] != 1 || st.Config.Select.Policy != "shortest" || st.Config.Length.MaxTokens != 100 {
		t.Fatalf("kept %d, reasons %v, config %+v", st.Kept, st.Reasons, st.Config.Select)
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"distill", "filter", "--out", out}, "--in is required"},
		{[]string{"distill", "filter", "--in", in, "--out", out, "--filters", "format,nope"}, "unknown filter"},
		{[]string{"distill", "filter", "--in", in, "--out", out, "--policy", "best"}, "select.policy"},
		{[]string{"distill", "filter", "--in", in, "--out", out, "--verifier", "nope"}, "--verifier"},
		{[]string{"distill", "filter", "--in", filepath.Join(in, "missing"), "--out", out}, "missing"},
	}
	for _, b := range bad {
		err := NewApp().Run(b.args)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%v: error %v, want one mentioning %q", b.args[2:], err, b.want)
		}
	}
}
