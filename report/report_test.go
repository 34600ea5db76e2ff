package report

import (
	"context"
	"errors"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.html")

// TestGolden renders testdata/run, a hand-made run directory with every
// stage (a remote teacher with failures, a torn SFT log, two reward
// functions, an extra evaluation, HTML in the text), and compares the page
// with the golden file.
func TestGolden(t *testing.T) {
	r, err := Load(context.Background(), filepath.Join("testdata", "run"))
	if err != nil {
		t.Fatal(err)
	}
	r.Loaded = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	out := filepath.Join(t.TempDir(), "report.html")
	plots, err := r.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("report.html differs from %s (rerun with -update and review the diff)", golden)
	}
	page := string(got)
	if len(plots) != 5 {
		t.Errorf("%d plots, want accuracy, lengths, sft_loss, rl_reward and rl_kl", len(plots))
	}
	for _, p := range plots {
		if !strings.Contains(page, `src="`+p.Name+`"`) {
			t.Errorf("page does not show %s", p.Name)
		}
		decodePNG(t, filepath.Join(filepath.Dir(out), p.Name))
	}
	for _, want := range []string{
		"builtin &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", // text is escaped
		"teacher &lt;b&gt;builtin&lt;/b&gt;",                      // results.md too
		"sft/metrics.jsonl:31: skipped",                           // the torn line is reported
		"eval (base): no eval/base/results.json",
		"rl (rl-only): no rl-only/metrics.jsonl",
		"<td>extra</td>", // an evaluation outside the pipeline's stages
		"sft by source",  // per-source table of a stage with several sources
		"failures: http_429",
		"<td>train</td><td>not started</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("page has an unescaped <script>")
	}
}

func TestMissingStages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		plots   int
		missing []string
		notes   []string
	}{
		{"empty", nil, 0,
			[]string{"run.json", "results.md", "generate: no raw/", "filter: no data/", "train (SFT): no sft/metrics.jsonl",
				"rl (rl): no rl/metrics.jsonl", "rl (rl-only)", "eval (teacher)", "eval (base)", "eval (sft)", "eval (rl)", "eval (rl-only)"},
			[]string{"No evaluation results", "No generation manifest", "No dataset", "No SFT metrics", "No GRPO metrics", "No run.json"}},
		{"stage directories without their files",
			map[string]string{"raw/traces-00000.jsonl": "", "data/README.md": "", "sft/metrics.jsonl": "", "eval/sft/samples.jsonl": ""}, 0,
			[]string{"no manifest.json in raw/", "no stats.json and no train or test shards", "sft/metrics.jsonl has no updates yet", "eval (sft)"},
			nil},
		{"GRPO without KL", map[string]string{"rl-only/metrics.jsonl": `{"step":1,"reward":{"mean":0.5}}` + "\n" + `{"step":2,"reward":{"mean":0.6}}` + "\n"}, 1,
			[]string{"rl (rl): no rl/metrics.jsonl"}, []string{"No KL logged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Load(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "report.html")
			plots, err := r.Write(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(plots) != tc.plots {
				t.Errorf("%d plots, want %d", len(plots), tc.plots)
			}
			page, _ := os.ReadFile(out)
			missing := strings.Join(r.Missing, "\n")
			for _, m := range tc.missing {
				if !strings.Contains(missing, m) {
					t.Errorf("missing stages %q lack %q", r.Missing, m)
				}
				if !strings.Contains(string(page), m) {
					t.Errorf("page does not say %q", m)
				}
			}
			for _, n := range tc.notes {
				if !strings.Contains(string(page), n) {
					t.Errorf("page lacks the note %q", n)
				}
			}
		})
	}
}

func TestLoadNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o644)
	if _, err := Load(context.Background(), f); !errors.Is(err, ErrNotRunDir) {
		t.Fatalf("error %v", err)
	}
}

func decodePNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}
