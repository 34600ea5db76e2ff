package dataset

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func runFilter(t *testing.T, cfg Config, inputs ...string) (*Stats, string) {
	t.Helper()
	out := t.TempDir()
	st, err := Run(context.Background(), Options{Inputs: inputs, OutDir: out, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return st, out
}

// readRows reads every row of the shards of split in dir.
func readRows[T any](t *testing.T, dir, split string) []T {
	t.Helper()
	paths, err := ListShards(dir, split)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, p := range paths {
		rows, err := parquet.ReadFile[T](p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

func mk(id string, sample int, reasoning, content string, f func(*record.Trace)) record.Trace {
	tr := record.Trace{PromptID: id, Sample: sample, Prompt: "Question " + id + ": what is 12 + 30?", Reference: "42",
		Task: "builtin:arith", Source: "unit", Teacher: "test", Reasoning: reasoning, Content: content, FinishReason: "stop"}
	if f != nil {
		f(&tr)
	}
	return tr
}

func TestSelectionPolicies(t *testing.T) {
	var traces []record.Trace
	// Prompt a: 4 samples, 3 correct with different lengths, 1 wrong: pass rate 0.75.
	traces = append(traces,
		mk("a", 0, "First 12 + 30 is 42 and I double check it by adding again to get 42.", `\boxed{42}`, nil),
		mk("a", 1, "12 + 30 = 42", `\boxed{42}`, nil),
		mk("a", 2, "Adding the tens gives 40, then the ones 2, so 42.", `\boxed{42}`, nil),
		mk("a", 3, "12 + 30 = 43", `\boxed{43}`, nil))
	// Prompt b: always solved.
	traces = append(traces, mk("b", 0, "Easy: 12 + 30 = 42.", `\boxed{42}`, nil),
		mk("b", 1, "Sum: 12 plus 30 makes 42.", `\boxed{42}`, nil))
	// Prompt c: never solved.
	traces = append(traces, mk("c", 0, "12 + 30 = 41", `\boxed{41}`, nil))
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, traces)

	keys := func(rows []Row) string {
		var s []string
		for _, r := range rows {
			s = append(s, fmt.Sprintf("%s%d", r.PromptID, r.Sample))
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name   string
		set    func(*Config)
		want   string
		reason map[string]int64
	}{
		{"all", func(c *Config) {}, "a0 a1 a2 b0 b1", map[string]int64{ReasonWrong: 2}},
		{"shortest", func(c *Config) { c.Select.Policy = PolicyShortest }, "a1 b0",
			map[string]int64{ReasonWrong: 2, ReasonNotSelected: 3}},
		{"max_per_prompt 2", func(c *Config) { c.Select.Policy, c.Select.K = PolicyMaxPerPrompt, 2 }, "a1 a2 b0 b1",
			map[string]int64{ReasonWrong: 2, ReasonNotSelected: 1}},
		{"band", func(c *Config) { c.Select.PassRateMin, c.Select.PassRateMax = 0.2, 0.8 }, "a0 a1 a2",
			map[string]int64{ReasonWrong: 2, ReasonPassRate: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.set(&cfg)
			st, out := runFilter(t, cfg, in)
			if got := keys(readRows[Row](t, out, "train")); got != tt.want {
				t.Errorf("train = %q, want %q", got, tt.want)
			}
			for r, n := range tt.reason {
				if st.Reasons[r] != n {
					t.Errorf("rejected as %s: %d, want %d (all: %v)", r, st.Reasons[r], n, st.Reasons)
				}
			}
			rejects := readRows[RejectRow](t, out, "rejects")
			if int64(len(rejects)) != st.Rejected || int64(len(rejects))+st.Kept != int64(len(traces)) {
				t.Errorf("%d reject rows, stats say %d rejected and %d kept of %d", len(rejects), st.Rejected, st.Kept, len(traces))
			}
			if st.PassRates.Prompts != 3 || st.PassRates.AlwaysSolved != 1 || st.PassRates.NeverSolved != 1 {
				t.Errorf("pass rates %+v", st.PassRates)
			}
		})
	}
}

// Prompts and sources that alternate from one trace to the next are
// counted as well as runs of one prompt and one source are.
func TestInterleavedPromptsAndSources(t *testing.T) {
	src := func(s string) func(*record.Trace) { return func(r *record.Trace) { r.Source = s } }
	traces := []record.Trace{
		mk("a", 0, "12 + 30 = 42", `\boxed{42}`, src("s1")),
		mk("b", 0, "12 + 30 = 41", `\boxed{41}`, src("s2")),
		mk("a", 1, "12 + 30 = 43", `\boxed{43}`, src("s1")),
		mk("b", 1, "Adding the tens gives 40, then 1.", `\boxed{41}`, src("s1")),
		mk("a", 2, "Adding the tens gives 40, then the ones 2, so 42.", `\boxed{42}`, src("s2")),
		mk("c", 0, "Easy: 12 + 30 = 42.", `\boxed{42}`, src("s2")),
		mk("a", 3, "Sum: 12 plus 30 makes 42.", `\boxed{42}`, src("s2")),
	}
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, traces)
	for _, tc := range []struct {
		name     string
		min, max float64
		kept     string
		s1, s2   int64 // rows kept per source
		inBand   int64
	}{
		{"one pass", 0, 1, "a0 a2 c0 a3", 1, 3, 3},
		{"band, two passes", 0.2, 0.8, "a0 a2 a3", 1, 2, 1}, // keeps a (3 of 4) only
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Select.PassRateMin, cfg.Select.PassRateMax = tc.min, tc.max
			st, out := runFilter(t, cfg, in)
			var kept []string
			for _, r := range readRows[Row](t, out, "train") {
				kept = append(kept, fmt.Sprint(r.PromptID, r.Sample))
			}
			if got := strings.Join(kept, " "); got != tc.kept {
				t.Errorf("kept %q, want %q", got, tc.kept)
			}
			for _, want := range []struct {
				source                string
				traces, correct, kept int64
			}{{"s1", 3, 1, tc.s1}, {"s2", 4, 3, tc.s2}} {
				got := st.Sources[want.source]
				if got == nil || got.Traces != want.traces || got.Correct != want.correct || got.Kept != want.kept {
					t.Errorf("source %s: %+v, want %d traces, %d correct, %d kept", want.source, got, want.traces, want.correct, want.kept)
				}
			}
			if p := st.PassRates; p.Prompts != 3 || p.NeverSolved != 1 || p.AlwaysSolved != 1 || p.InBand != tc.inBand {
				t.Errorf("pass rates %+v", p)
			}
		})
	}
}

func TestTestSplitByPrompt(t *testing.T) {
	var traces []record.Trace
	for i := 0; i < 200; i++ {
		for s := 0; s < 2; s++ {
			traces = append(traces, mk(fmt.Sprint("p", i), s, fmt.Sprintf("Sample %d: 12 + 30 = 42.", s), `\boxed{42}`, nil))
		}
	}
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, traces)
	cfg := DefaultConfig()
	cfg.Select.TestFraction = 0.2
	cfg.Dedup.Near = false
	st, out := runFilter(t, cfg, in)
	train, test := readRows[Row](t, out, "train"), readRows[Row](t, out, "test")
	if st.Train != int64(len(train)) || st.Test != int64(len(test)) || len(train)+len(test) != 400 {
		t.Fatalf("train %d test %d, stats %d/%d", len(train), len(test), st.Train, st.Test)
	}
	if len(test) < 40 || len(test) > 120 {
		t.Errorf("test split has %d of 400 rows for a fraction of 0.2", len(test))
	}
	inTest := map[string]bool{}
	for _, r := range test {
		inTest[r.PromptID] = true
	}
	for _, r := range train {
		if inTest[r.PromptID] {
			t.Fatalf("prompt %s is in both splits", r.PromptID)
		}
	}
}

func TestDedupAndDecontamination(t *testing.T) {
	base := "First I add the tens of both numbers which gives forty and then I add the ones which gives two so the total is forty two and I check it once more by counting up from twelve in steps of ten which ends at forty two as well"
	gsm := `Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four.`
	traces := []record.Trace{
		mk("a", 0, base, `\boxed{42}`, nil),
		mk("a", 1, base, `\boxed{42}`, nil),                                         // exact duplicate
		mk("a", 2, "  "+strings.ReplaceAll(base, " ", "\n")+" ", `\boxed{42}`, nil), // same after whitespace
		mk("a", 3, strings.Replace(base, "as well", "too", 1), `\boxed{42}`, nil),   // near duplicate
		mk("b", 0, "A different line of thought: 30 + 12 = 42.", `\boxed{42}`, nil),
		mk("c", 0, "So 16 - 3 - 4 = 9 and 9 * 2 = 18.", `\boxed{18}`, func(r *record.Trace) { r.Prompt = gsm; r.Reference = "18" }),
		mk("d", 0, "Restating: "+gsm+" So 18.", `\boxed{18}`, func(r *record.Trace) { r.Prompt = "Eggs?"; r.Reference = "18" }),
	}
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, traces)
	cfg := DefaultConfig()
	cfg.Decontam.Files = []string{repotest.Data(t, "gsm8k_test.jsonl"), repotest.Data(t, "math500_test.jsonl")}
	st, out := runFilter(t, cfg, in)
	want := map[string]int64{ReasonExactDup: 2, ReasonNearDup: 1, ReasonContaminated: 2}
	for r, n := range want {
		if st.Reasons[r] != n {
			t.Errorf("%s: %d, want %d (%v)", r, st.Reasons[r], n, st.Reasons)
		}
	}
	if st.Contamination["gsm8k_test"] != 2 {
		t.Errorf("contamination %v, want 2 from gsm8k_test", st.Contamination)
	}
	reasons := map[string]string{}
	for _, r := range readRows[RejectRow](t, out, "rejects") {
		reasons[fmt.Sprint(r.PromptID, r.Sample)] = r.RejectReason
	}
	for k, v := range map[string]string{"a1": ReasonExactDup, "a2": ReasonExactDup, "a3": ReasonNearDup,
		"c0": "contaminated:gsm8k_test", "d0": "contaminated:gsm8k_test"} {
		if reasons[k] != v {
			t.Errorf("%s rejected as %q, want %q", k, reasons[k], v)
		}
	}
	if st.Kept != 2 {
		t.Errorf("kept %d, want a0 and b0", st.Kept)
	}
	cfg.Dedup.Near = false
	if st, _ := runFilter(t, cfg, in); st.Reasons[ReasonNearDup] != 0 || st.Kept != 3 {
		t.Errorf("near dedup off: %v, kept %d", st.Reasons, st.Kept)
	}
}

// Bad input of every kind is counted with its file and line; the good rows
// around it are all kept.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := builtinTraces(t, 30, 1)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	for i, tr := range good[:10] {
		enc.Encode(tr)
		switch i {
		case 2:
			plain.WriteString(`{"prompt_id": "x", "prompt": ` + "\n") // line 4: cut JSON
		case 4:
			plain.WriteString(`{"prompt_id":"x","prompt":"bad ` + "\xff\xfe" + `"}` + "\n") // line 7
		case 6:
			plain.WriteString(`{"prompt_id":"x","content":"no prompt"}` + "\n") // line 10
		case 8:
			plain.WriteString(`{"prompt_id":"` + strings.Repeat("x", 16<<20+10) + `"}` + "\n") // line 13
		}
	}
	os.WriteFile(filepath.Join(dir, "traces-00000.jsonl"), plain.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "traces-00001.jsonl"), nil, 0o644)

	// A .zst file cut short, as after a kill: its complete lines count.
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	for _, tr := range good[10:30] {
		b, _ := json.Marshal(tr)
		zw.Write(append(b, '\n'))
		zw.Flush() // one block per line, as the sampler's frames
	}
	zw.Close()
	cut := zbuf.Bytes()[:zbuf.Len()-40]
	os.WriteFile(filepath.Join(dir, "traces-00002.jsonl.zst"), cut, 0o644)

	st, out := runFilter(t, DefaultConfig(), dir)
	want := map[string]int64{BadJSON: 1, BadUTF8: 1, BadMissing: 1, BadLineTooLong: 1, BadEmptyFile: 1, BadTruncated: 1}
	for r, n := range want {
		if st.Reasons[r] != n {
			t.Errorf("%s: %d, want %d", r, st.Reasons[r], n)
		}
	}
	where := map[string]string{}
	for _, b := range st.BadInput {
		where[b.Reason] = fmt.Sprintf("%s:%d", filepath.Base(b.File), b.Line)
	}
	for r, w := range map[string]string{BadJSON: "traces-00000.jsonl:4", BadUTF8: "traces-00000.jsonl:7",
		BadMissing: "traces-00000.jsonl:10", BadLineTooLong: "traces-00000.jsonl:13", BadEmptyFile: "traces-00001.jsonl:0"} {
		if where[r] != w {
			t.Errorf("%s reported at %s, want %s", r, where[r], w)
		}
	}
	if !strings.HasPrefix(where[BadTruncated], "traces-00002.jsonl.zst:") {
		t.Errorf("truncated zst reported at %q", where[BadTruncated])
	}
	parsed := st.Traces
	if parsed < 10+15 || parsed > 10+19 {
		t.Errorf("parsed %d traces, want the 10 plain ones and most of the 20 compressed", parsed)
	}
	rows := len(readRows[Row](t, out, "train")) + len(readRows[RejectRow](t, out, "rejects"))
	if int64(rows) != parsed {
		t.Errorf("%d rows written for %d parsed traces", rows, parsed)
	}
}

func TestRerunIsByteIdentical(t *testing.T) {
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, builtinTraces(t, 200, 3))
	cfg := DefaultConfig()
	cfg.Select.TestFraction = 0.1
	// Neither scheduling nor the way rows reach the shards (straight from
	// pass 1, or through the spill and pass 2) may change a byte.
	var a string
	for _, run := range []struct {
		workers int
		onePass bool
	}{{3, true}, {1, true}, {2, false}} {
		cfg.Output.Workers = run.workers
		out := t.TempDir()
		if _, err := runPasses(context.Background(), Options{Inputs: []string{in}, OutDir: out, Config: cfg}, run.onePass); err != nil {
			t.Fatal(err)
		}
		if a == "" {
			a = out
			continue
		}
		for _, pattern := range []string{"*.parquet", "stats.json", "README.md"} {
			files, _ := filepath.Glob(filepath.Join(a, pattern))
			if len(files) == 0 {
				t.Fatalf("no %s written", pattern)
			}
			for _, f := range files {
				x, _ := os.ReadFile(f)
				y, err := os.ReadFile(filepath.Join(out, filepath.Base(f)))
				if err != nil || !bytes.Equal(x, y) {
					t.Errorf("%s differs with %d workers, one pass %v (%v):\n%s\n%s",
						filepath.Base(f), run.workers, run.onePass, err, x, y)
				}
			}
		}
	}
	// Rerun into the same directory with smaller shards: old shards go.
	cfg.Output.ShardSizeMB = 1
	if _, err := Run(context.Background(), Options{Inputs: []string{in}, OutDir: a, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(a, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// The schema of the shards is part of the contract with datasets, TRL and
// the trainer: any change must be deliberate (go test -update).
func TestShardSchemaGolden(t *testing.T) {
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, builtinTraces(t, 20, 2))
	_, out := runFilter(t, DefaultConfig(), in)
	var got bytes.Buffer
	for _, split := range []string{"train", "rejects"} {
		paths, _ := ListShards(out, split)
		f, err := os.Open(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "# %s\n%s\n", split, pf.Schema())
		for _, col := range pf.Metadata().RowGroups[0].Columns {
			fmt.Fprintf(&got, "%s %s\n", strings.Join(col.MetaData.PathInSchema, "."), col.MetaData.Codec)
		}
		f.Close()
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		os.WriteFile(golden, got.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("schema changed (rerun with -update if deliberate):\n%s", got.String())
	}
}

// DuckDB reads the shards as users will: messages as a list of structs, and
// every count and value as we wrote them.
func TestShardsInDuckDB(t *testing.T) {
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, builtinTraces(t, 100, 2))
	cfg := DefaultConfig()
	cfg.Select.TestFraction = 0.2
	st, out := runFilter(t, cfg, in)
	train := sqlPath(filepath.Join(out, "train-*.parquet"))
	res := duckdb(t, "DESCRIBE SELECT * FROM read_parquet("+train+")")
	var schema []string
	for _, r := range res.Rows {
		schema = append(schema, fmt.Sprintf("%v %v", r["column_name"], strings.ReplaceAll(fmt.Sprint(r["column_type"]), `"`, "")))
	}
	wantSchema := "messages STRUCT(role VARCHAR, content VARCHAR)[], prompt VARCHAR, reasoning VARCHAR, answer VARCHAR, " +
		"reference VARCHAR, correct BOOLEAN, verifier VARCHAR, num_tokens BIGINT, source VARCHAR, teacher VARCHAR, " +
		"prompt_id VARCHAR, sample BIGINT"
	if got := strings.Join(schema, ", "); got != wantSchema {
		t.Fatalf("DuckDB schema:\n got %s\nwant %s", got, wantSchema)
	}
	res = duckdb(t, fmt.Sprintf(`SELECT
		(SELECT count(*) FROM read_parquet(%s)) AS train,
		(SELECT count(*) FROM read_parquet(%s)) AS test,
		(SELECT count(*) FROM read_parquet(%s)) AS rejects,
		(SELECT count(*) FROM read_parquet(%s) WHERE correct AND len(messages) = 2
			AND messages[1].role = 'user' AND messages[1].content = prompt AND messages[2].role = 'assistant'
			AND messages[2].content = '<think>' || chr(10) || reasoning || chr(10) || '</think>' || chr(10) || chr(10) || answer) AS well_formed`,
		train, sqlPath(filepath.Join(out, "test-*.parquet")), sqlPath(filepath.Join(out, "rejects-*.parquet")), train))
	row := res.Rows[0]
	got := fmt.Sprint(row["train"], " ", row["test"], " ", row["rejects"], " ", row["well_formed"])
	want := fmt.Sprint(st.Train, " ", st.Test, " ", st.Rejected, " ", st.Train)
	if got != want {
		t.Fatalf("DuckDB counts train/test/rejects/well-formed = %s, want %s", got, want)
	}
	// One row's values, compared with what the Go reader sees.
	rows := readRows[Row](t, out, "train")
	first := rows[0]
	res = duckdb(t, fmt.Sprintf("SELECT prompt_id, sample, num_tokens, verifier, messages[2].content AS reply FROM read_parquet(%s) LIMIT 1", train))
	r := res.Rows[0]
	if r["prompt_id"] != first.PromptID || fmt.Sprint(r["sample"]) != fmt.Sprint(first.Sample) ||
		fmt.Sprint(r["num_tokens"]) != fmt.Sprint(first.NumTokens) || r["verifier"] != first.Verifier || r["reply"] != first.Messages[1].Content {
		t.Fatalf("DuckDB row %v, Go row %+v", r, first)
	}
	res = duckdb(t, fmt.Sprintf("SELECT reject_reason, count(*) AS n FROM read_parquet(%s) GROUP BY 1 ORDER BY 1",
		sqlPath(filepath.Join(out, "rejects-*.parquet"))))
	for _, r := range res.Rows {
		reason := fmt.Sprint(r["reject_reason"])
		if fmt.Sprint(st.Reasons[reason]) != fmt.Sprint(r["n"]) {
			t.Errorf("rejects with %s: DuckDB %v, stats %d", reason, r["n"], st.Reasons[reason])
		}
	}
}

// A cancelled run leaves no temporary file (spill or shard) behind, in
// either pass, whether it runs in one pass or in two.
func TestCancelRemovesTemporaryFiles(t *testing.T) {
	in := filepath.Join(t.TempDir(), "traces.jsonl")
	writeJSONL(t, in, builtinTraces(t, 100, 2))
	for _, tc := range []struct {
		policy string
		pass   int
	}{{PolicyAll, 1}, {PolicyShortest, 1}, {PolicyShortest, 2}} {
		out := t.TempDir()
		cfg := DefaultConfig()
		cfg.Select.Policy = tc.policy
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Run(ctx, Options{Inputs: []string{in}, OutDir: out, Config: cfg,
			Progress: func(p int, _ int64) {
				if p == tc.pass {
					cancel()
				}
			}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s, pass %d: got %v, want context.Canceled", tc.policy, tc.pass, err)
		}
		if left, _ := filepath.Glob(filepath.Join(out, ".*")); len(left) != 0 {
			t.Errorf("%s, pass %d: temporary files left: %v", tc.policy, tc.pass, left)
		}
	}
}

// Plain chats (no reference, no chain of thought) are kept by verifier
// none: unverified, marked verifier none, still deduplicated and put
// through the quality filters the config names. Without it they are
// rejected as unverifiable.
func TestVerifierNoneKeepsChats(t *testing.T) {
	chat := func(id string, sample int, content string) record.Trace {
		return mk(id, sample, "", content, func(r *record.Trace) { r.Prompt, r.Reference, r.Task = "Say hello to "+id+".", "", "chat" })
	}
	traces := []record.Trace{
		chat("a", 0, "Hello, a! Nice to meet you."),
		chat("a", 1, "Hello, a! Nice to meet you."), // an exact duplicate
		chat("b", 0, "Hi b, how are you today?"),
		chat("c", 0, "Hey c."), // too short for length.min_tokens
	}
	in := filepath.Join(t.TempDir(), "chats.jsonl")
	writeJSONL(t, in, traces)
	for _, tc := range []struct {
		verifier string
		kept     string
		reasons  map[string]int64
	}{
		{"", "", map[string]int64{ReasonUnverifiable: 3, FilterLength: 1}},
		{VerifierNone, "a0 b0", map[string]int64{ReasonExactDup: 1, FilterLength: 1}},
	} {
		t.Run(cmp.Or(tc.verifier, "by task"), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Verifier, cfg.Format.RequireReasoning, cfg.Length.MinTokens = tc.verifier, false, 5
			st, out := runFilter(t, cfg, in)
			var kept []string
			for _, r := range readRows[Row](t, out, "train") {
				kept = append(kept, fmt.Sprint(r.PromptID, r.Sample))
				if r.Verifier != VerifierNone || r.Correct {
					t.Errorf("row %s%d: verifier %q correct %v, want none and false", r.PromptID, r.Sample, r.Verifier, r.Correct)
				}
			}
			if got := strings.Join(kept, " "); got != tc.kept {
				t.Errorf("kept %q, want %q", got, tc.kept)
			}
			for r, n := range tc.reasons {
				if st.Reasons[r] != n {
					t.Errorf("rejected as %s: %d, want %d (all: %v)", r, st.Reasons[r], n, st.Reasons)
				}
			}
		})
	}
	cfg := DefaultConfig()
	cfg.Verifier, cfg.Select.PassRateMin = VerifierNone, 0.2
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "verifier none") {
		t.Errorf("a pass-rate band with verifier none: %v, want a refusal", err)
	}
}
