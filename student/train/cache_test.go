package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/student/tokenizer"
)

// writeVaried writes n train rows in two shards (DIR and DIR/data):
// conversations of 30 to 200 bytes (byte-level tokens), some with a system
// turn, every tenth without an assistant turn (skipped) and every seventh a
// copy of an earlier one (equal examples).
func writeVaried(t testing.TB, dir string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	text := func(min, max int) string {
		b := make([]byte, min+rng.IntN(max-min))
		for i := range b {
			b[i] = "abcdefghij +=0123456789"[rng.IntN(23)]
		}
		return string(b)
	}
	var rows []dataset.Row
	for _, d := range []string{dir, filepath.Join(dir, "data")} {
		writeShard(t, d, n/2, func(i int) dataset.Row {
			var row dataset.Row
			switch {
			case i%7 == 6:
				row = rows[rng.IntN(len(rows))]
			case i%10 == 9:
				row = dataset.Row{Messages: []dataset.Message{{Role: "user", Content: text(5, 40)}}}
			default:
				msgs := []dataset.Message{{Role: "user", Content: text(5, 40)},
					{Role: "assistant", Content: dataset.R1Assistant(text(5, 120), text(1, 10))}}
				if rng.IntN(3) == 0 {
					msgs = append([]dataset.Message{{Role: "system", Content: text(5, 30)}}, msgs...)
				}
				row = dataset.Row{Messages: msgs, PromptID: fmt.Sprint(i)}
			}
			rows = append(rows, row)
			return row
		})
	}
}

// writeShard writes the train shard of n rows made by row in dir.
func writeShard(t testing.TB, dir string, n int, row func(i int) dataset.Row) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := dataset.NewShardWriter[dataset.Row](dir, "train", dataset.ShardOptions{}, func(r *dataset.Row) int { return 100 })
	for i := range n {
		if err := w.Write(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func byteLevel(t testing.TB) (*tokenizer.Tokenizer, *tokenizer.Template) {
	t.Helper()
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	return tokenizer.NewByteLevel(nil), tmpl
}

func equalRows(t *testing.T, what string, got, want [3][][]int32) {
	t.Helper()
	if len(got[0]) != len(want[0]) {
		t.Fatalf("%s: %d rows, the in-memory packer made %d", what, len(got[0]), len(want[0]))
	}
	for k, name := range []string{"tokens", "targets", "segments"} {
		for i := range got[k] {
			if !slices.Equal(got[k][i], want[k][i]) {
				t.Fatalf("%s: row %d %s\n got %v\nwant %v", what, i, name, got[k][i], want[k][i])
			}
		}
	}
}

func rows3(tok, tgt, seg [][]int32) [3][][]int32 { return [3][][]int32{tok, tgt, seg} }

// The streaming loader makes exactly the rows the in-memory one made: the
// same examples, canonical order, shuffles, packing, truncation and drops,
// and the same rows after a resume part way through an epoch.
func TestStreamingRowsMatchInMemory(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeVaried(t, data, 300, 1)
	files, err := dataset.ListShards(data, "train")
	if err != nil || len(files) < 2 {
		t.Fatalf("shards %v, %v: want several", files, err)
	}
	tok, tmpl := byteLevel(t)
	exs, skipped, err := refLoadExamples(ctx, files, tok, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	refCanonicalOrder(exs)
	o := Options{Data: Dir(data), Out: t.TempDir()}
	c, err := loadSplit(ctx, &o, tok, tmpl, mustPlan(t, o), "train")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != len(exs) || c.skipped != skipped || skipped == 0 {
		t.Fatalf("cache: %d examples, %d skipped; in memory %d, %d", c.Len(), c.skipped, len(exs), skipped)
	}
	canon := canonicalOrder(c)
	for _, p := range []Packer{{Seq: 96, Packing: true}, {Seq: 96}, {Seq: 96, Packing: true, DropLong: true},
		{Seq: 96, DropLong: true}, {Seq: 512, Packing: true}} {
		name := fmt.Sprintf("%+v", p)
		ref := &refPacker{Seq: p.Seq, Packing: p.Packing, DropLong: p.DropLong}
		want, _, _ := ref.Pack(exs)
		r := p.rows(c, canon)
		if n := countRows(r); n != len(want) || r.truncated != ref.Truncated || r.dropped != ref.Dropped {
			t.Fatalf("%s: %d rows, %d truncated, %d dropped; in memory %d, %d, %d",
				name, n, r.truncated, r.dropped, len(want), ref.Truncated, ref.Dropped)
		}
		if p.Seq == 96 && (ref.Truncated+ref.Dropped == 0) {
			t.Fatalf("%s: no example longer than the row; the test data should have some", name)
		}
		for epoch := range 3 {
			want := rows3(refRowsFor(exs, ref, 9, epoch))
			order := epochOrder(canon, 9, epoch)
			equalRows(t, fmt.Sprintf("%s epoch %d", name, epoch), rows3(collect(p.rows(c, order))), want)
			n := len(want[0])
			for _, k := range []int{1, n / 2, n - 1, n} {
				r := p.rows(c, order)
				if got := r.skip(k); got != k {
					t.Fatalf("%s epoch %d: skipped %d rows of %d", name, epoch, got, k)
				}
				equalRows(t, fmt.Sprintf("%s epoch %d from row %d", name, epoch, k), rows3(collect(r)),
					[3][][]int32{want[0][k:], want[1][k:], want[2][k:]})
			}
		}
	}
}

// logs collects what a run logs.
type logs []string

func (l *logs) logf(format string, args ...any) { *l = append(*l, fmt.Sprintf(format, args...)) }

func (l logs) has(s string) bool {
	return slices.ContainsFunc(l, func(m string) bool { return strings.Contains(m, s) })
}

// A rerun reuses the cache; a damaged cache, or one rendered from other
// data or with another tokenizer or template, is detected and rendered
// again.
func TestTokenCacheReusedOrRebuilt(t *testing.T) {
	ctx := context.Background()
	tok, tmpl := byteLevel(t)
	other := tokenizer.NewByteLevel([]string{"<|tool|>"})
	qwen, err := tokenizer.TemplateFor("qwen2.5") // ChatML with a default system turn
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path, data string) (*tokenizer.Tokenizer, *tokenizer.Template)
		why    string
	}{
		{"rerun", func(*testing.T, string, string) (*tokenizer.Tokenizer, *tokenizer.Template) { return tok, tmpl }, ""},
		{"byte flipped", func(t *testing.T, path, _ string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			b, _ := os.ReadFile(path)
			b[cacheHeaderSize+101] ^= 0x10
			writeFile(t, path, b)
			return tok, tmpl
		}, "checksum mismatch"},
		{"header damaged", func(t *testing.T, path, _ string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			b, _ := os.ReadFile(path)
			b[96]++ // the skipped count, outside any size check
			writeFile(t, path, b)
			return tok, tmpl
		}, "checksum mismatch"},
		{"truncated", func(t *testing.T, path, _ string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			st, _ := os.Stat(path)
			os.Truncate(path, st.Size()-7)
			return tok, tmpl
		}, "truncated"},
		{"shorter than the header", func(t *testing.T, path, _ string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			os.Truncate(path, 50)
			return tok, tmpl
		}, "shorter than the header"},
		{"not a cache", func(t *testing.T, path, _ string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			writeFile(t, path, []byte(strings.Repeat("PAR1", 100)))
			return tok, tmpl
		}, "not a token cache"},
		{"data changed", func(t *testing.T, _, data string) (*tokenizer.Tokenizer, *tokenizer.Template) {
			for _, f := range must(dataset.ListShards(data, "train")) {
				os.Remove(f)
			}
			writeVaried(t, data, 90, 2)
			return tok, tmpl
		}, "the data shards changed"},
		{"tokenizer changed", func(*testing.T, string, string) (*tokenizer.Tokenizer, *tokenizer.Template) { return other, tmpl },
			"the tokenizer or the chat template changed"},
		{"template changed", func(*testing.T, string, string) (*tokenizer.Tokenizer, *tokenizer.Template) { return tok, qwen },
			"the tokenizer or the chat template changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			writeVaried(t, data, 80, 1)
			var l logs
			o := Options{Data: Dir(data), Out: t.TempDir(), Logf: l.logf}
			files := must(dataset.ListShards(data, "train"))
			c, err := loadSplit(ctx, &o, tok, tmpl, mustPlan(t, o), "train")
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if !l.has("rendered in") {
				t.Fatalf("first run logged %q, want the rendering", l)
			}
			path := filepath.Join(o.Out, "cache", "train.tokens")
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}

			tok, tmpl := tc.change(t, path, data)
			files = must(dataset.ListShards(data, "train"))
			key, err := newCacheKey(mustPlan(t, o), "train", tok, tmpl)
			if err != nil {
				t.Fatal(err)
			}
			_, err = openCache(ctx, path, key)
			if tc.why == "" && err != nil || tc.why != "" && (!errors.Is(err, errInvalidCache) || !strings.Contains(err.Error(), tc.why)) {
				t.Fatalf("opening the cache: %v, want %q", err, tc.why)
			}
			l = nil
			c, err = loadSplit(ctx, &o, tok, tmpl, mustPlan(t, o), "train")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			after, _ := os.Stat(path)
			if tc.why == "" {
				if !l.has("rendered by an earlier run") || l.has("rendered in") || !os.SameFile(before, after) {
					t.Fatalf("rerun logged %q and replaced the file (%v): want the cache reused", l, !os.SameFile(before, after))
				}
			} else if !l.has(tc.why) || !l.has("rendering the shards again") || !l.has("rendered in") {
				t.Fatalf("logged %q, want the reason (%s) and a new rendering", l, tc.why)
			}
			// Whatever happened, the cache holds what the shards say now.
			exs, _, err := refLoadExamples(ctx, files, tok, tmpl)
			if err != nil {
				t.Fatal(err)
			}
			p := Packer{Seq: 64, Packing: true}
			equalRows(t, "rows", rows3(collect(p.rows(c, nil))), rows3((&refPacker{Seq: 64, Packing: true}).Pack(exs)))
			if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
				t.Errorf("cache directory holds %d files, want only %s", len(ents), filepath.Base(path))
			}
		})
	}
}

// Rendering reports its progress, and a cancelled one stops without
// leaving a cache or its temporary file behind.
func TestTokenCacheRenderingCancelled(t *testing.T) {
	saved := progressEvery
	progressEvery = 0 // a report after every example
	defer func() { progressEvery = saved }()
	data := t.TempDir()
	writeVaried(t, data, 300, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l logs
	o := Options{Data: Dir(data), Out: t.TempDir(), Logf: func(format string, args ...any) {
		l.logf(format, args...)
		if len(l) == 20 {
			cancel()
		}
	}}
	tok, tmpl := byteLevel(t)
	_, err := loadSplit(ctx, &o, tok, tmpl, mustPlan(t, o), "train")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(l) < 20 || !strings.HasSuffix(l[19], "/s)") || !strings.Contains(l[19], "20 examples rendered") {
		t.Fatalf("logged %q, want progress with a rate", l)
	}
	ents, err := os.ReadDir(filepath.Join(o.Out, "cache"))
	if err != nil || len(ents) != 0 {
		t.Fatalf("cache directory after the cancel: %v, %v; want it empty", ents, err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// mustPlan is the plan of o's mixture.
func mustPlan(t testing.TB, o Options) *Plan {
	t.Helper()
	p, err := PlanMixture(o.Data, o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
