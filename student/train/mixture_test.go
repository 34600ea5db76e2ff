package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/dataset"
)

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Source
		err  string
	}{
		{"data", Source{Path: "data"}, ""},
		{"runs/x/data:0.25", Source{Path: "runs/x/data", Weight: 0.25}, ""},
		{"chat:1:200000", Source{Path: "chat", Weight: 1, MaxRows: 200000}, ""},
		{"a:b", Source{Path: "a:b"}, ""}, // a colon in the name
		{"c:/x:0.5", Source{Path: "c:/x", Weight: 0.5}, ""},
		{"data:0", Source{}, "weight 0 keeps no row"},
		{"data:1.5", Source{}, "not a fraction"},
		{"data:-0.5", Source{}, "not a fraction"},
		{"data:NaN", Source{}, "not a fraction"},
		{"data:0.5:lots", Source{}, "not a whole number"},
		{"data:0.5:-3", Source{}, "max_rows -3 is negative"},
	} {
		got, err := ParseSource(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		case tc.err == "" && got.String() != tc.in:
			t.Errorf("%q: String() %q, want it back", tc.in, got.String())
		}
	}
}

func TestMixtureYAML(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Mixture
		err        string
	}{
		{"one directory", "data: runs/x/data", Dir("runs/x/data"), ""},
		{"list", "data:\n  - path: a\n  - {path: b, weight: 0.5, max_rows: 10}", Mixture{{Path: "a"}, {Path: "b", Weight: 0.5, MaxRows: 10}}, ""},
		{"typo", "data: [{path: a, wieght: 0.5}]", nil, `unknown key "wieght"`},
		{"bad weight", "data: [{path: a, weight: 2}]", nil, "not a fraction"},
		{"no path", "data: [{weight: 0.5}]", nil, "without a path"},
		{"a map", "data: {path: a}", nil, "a directory or a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Data Mixture `yaml:"data"`
			}
			err := yaml.Unmarshal([]byte(tc.yaml), &got)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("err %v, want %q", err, tc.err)
			case tc.err == "" && (err != nil || !slices.Equal(got.Data, tc.want)):
				t.Errorf("%+v, %v; want %+v", got.Data, err, tc.want)
			}
		})
	}
}

// keepRows keeps exactly int(n × weight) rows, capped, chosen by the seed
// alone: the same seed the same rows, another seed others.
func TestKeepRows(t *testing.T) {
	for _, tc := range []struct {
		n       int
		weight  float64
		maxRows int
		want    int // -1: all (nil)
	}{
		{100, 0, 0, -1}, {100, 1, 0, -1}, {100, 0.25, 0, 25}, {7, 0.5, 0, 3}, {1000, 0.333, 0, 333},
		{100, 0, 30, 30}, {100, 0.5, 30, 30}, {100, 0.2, 30, 20}, {100, 0, 100, -1}, {100, 0, 500, -1}, {3, 0.1, 0, 0},
	} {
		got := keepRows(tc.n, tc.weight, tc.maxRows, 42)
		if tc.want < 0 {
			if got != nil {
				t.Errorf("n %d weight %g max %d: kept %d rows, want all (nil)", tc.n, tc.weight, tc.maxRows, len(got))
			}
			continue
		}
		if got == nil || len(got) != tc.want {
			t.Errorf("n %d weight %g max %d: kept %v, want %d rows", tc.n, tc.weight, tc.maxRows, got, tc.want)
			continue
		}
		if len(got) > 0 && (!slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) || got[0] < 0 || got[len(got)-1] >= tc.n) {
			t.Errorf("n %d: %v is not ascending distinct row indices", tc.n, got)
		}
	}
	a, b, c := keepRows(1000, 0.1, 0, 1), keepRows(1000, 0.1, 0, 1), keepRows(1000, 0.1, 0, 2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("seed 1 twice: %v and %v; seed 2: %v", a[:5], b[:5], c[:5])
	}
	// The first of the permutation: a smaller share is part of a larger one.
	if small := keepRows(1000, 0.05, 0, 1); len(small) != 50 || slices.ContainsFunc(small, func(i int) bool { return !slices.Contains(a, i) }) {
		t.Errorf("weight 0.05 keeps rows weight 0.1 does not")
	}
	// The values distill_engine.keep_rows computes (test_engine's twin).
	if got := keepRows(10, 0.3, 0, 42); !slices.Equal(got, []int{1, 4, 6}) {
		t.Errorf("keepRows(10, 0.3, 0, 42) = %v", got)
	}
}

// writeSource writes a dataset directory of nTrain train rows (a shard
// of each half, in DIR/data and DIR) and nTest test rows, each conversation naming its source
// and row.
func writeSource(t *testing.T, dir, name string, nTrain, nTest int) {
	t.Helper()
	row := func(split string, off int) func(i int) dataset.Row {
		return func(i int) dataset.Row {
			return dataset.Row{Messages: []dataset.Message{{Role: "user", Content: fmt.Sprintf("%s %s %d", name, split, off+i)},
				{Role: "assistant", Content: dataset.R1Assistant("ok", fmt.Sprint(off+i))}}}
		}
	}
	// ListShards's order: DIR/data/ before DIR/train-….
	writeShard(t, filepath.Join(dir, "data"), nTrain/2, row("train", 0))
	writeShard(t, dir, nTrain-nTrain/2, row("train", nTrain/2))
	w := dataset.NewShardWriter[dataset.Row](dir, "test", dataset.ShardOptions{}, func(r *dataset.Row) int { return 100 })
	for i := range nTest {
		if err := w.Write(row("test", 0)(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A mixture trains on exactly the rows its sources keep (the kept train
// rows of each, every test row), records the counts in data_mixture.json,
// and its token cache is another when the mixture is.
func TestMixtureRows(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reasoning, chat := filepath.Join(root, "reasoning"), filepath.Join(root, "chat")
	writeSource(t, reasoning, "reasoning", 90, 4)
	writeSource(t, chat, "chat", 60, 3)
	tok, tmpl := byteLevel(t)
	o := Options{Data: Mixture{{Path: reasoning}, {Path: chat, Weight: 0.5, MaxRows: 20}}, Out: t.TempDir(), Seed: 7, Logf: func(string, ...any) {}}
	plan := mustPlan(t, o)
	if err := plan.Record(o.Out, o.logf); err != nil {
		t.Fatal(err)
	}
	var recorded Plan
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join(o.Out, "data_mixture.json"))), &recorded); err != nil {
		t.Fatal(err)
	}
	counts := func(p *Plan) (out [][3]int) {
		for _, s := range p.Sources {
			out = append(out, [3]int{s.Rows, s.Kept, s.TestRows})
		}
		return out
	}
	if want := [][3]int{{90, 90, 4}, {60, 20, 3}}; !slices.Equal(counts(plan), want) || !slices.Equal(counts(&recorded), want) {
		t.Fatalf("rows, kept, test rows: planned %v, recorded %v; want %v", counts(plan), counts(&recorded), want)
	}
	// The rows each split's cache holds, as the user turns name them.
	users := func(split string) []string {
		c, err := loadSplit(ctx, &o, tok, tmpl, plan, split)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var out []string
		for i := range c.Len() {
			ex := c.example(i)
			var b []byte
			for k := range len(ex) / 4 {
				id, _ := tokenAt(ex, k)
				b = append(b, tok.Decode([]int32{id})...)
			}
			s := string(b)
			s = s[strings.Index(s, "user\n")+5:]
			out = append(out, s[:strings.Index(s, "<|im_end|>")])
		}
		return out
	}
	var want []string
	for i := range 90 {
		want = append(want, fmt.Sprint("reasoning train ", i))
	}
	for _, i := range keepRows(60, 0.5, 20, 7) {
		want = append(want, fmt.Sprint("chat train ", i))
	}
	if got := users("train"); !slices.Equal(got, want) {
		t.Errorf("train rows:\n%q\nwant\n%q", got, want)
	}
	if got := users("test"); len(got) != 7 || got[0] != "reasoning test 0" || got[6] != "chat test 2" {
		t.Errorf("test rows %q, want the 4 of reasoning then the 3 of chat", got)
	}

	key := func(m Mixture, seed uint64) cacheKey {
		k, err := newCacheKey(mustPlan(t, Options{Data: m, Seed: seed}), "train", tok, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(o.Data, 7)
	for _, tc := range []struct {
		name string
		m    Mixture
		seed uint64
		same bool
	}{
		{"the same", o.Data, 7, true},
		{"another seed", o.Data, 8, false},
		{"another weight", Mixture{{Path: reasoning}, {Path: chat, Weight: 0.25, MaxRows: 20}}, 7, false},
		{"another cap", Mixture{{Path: reasoning}, {Path: chat, Weight: 0.5, MaxRows: 10}}, 7, false},
		{"a source less", Dir(reasoning), 7, false},
		{"the sources swapped", Mixture{{Path: chat, Weight: 0.5, MaxRows: 20}, {Path: reasoning}}, 7, false},
	} {
		if got := key(tc.m, tc.seed); (got == base) != tc.same {
			t.Errorf("%s: key equal %v, want %v", tc.name, got == base, tc.same)
		}
	}
	// A whole source's key does not depend on the seed, which chooses
	// nothing there.
	if key(Dir(reasoning), 1) != key(Dir(reasoning), 2) {
		t.Errorf("a lone whole source's cache key changes with the seed")
	}
}
