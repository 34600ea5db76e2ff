package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func testRow(i int) Row {
	return Row{
		Messages: []Message{
			{Role: "user", Content: fmt.Sprintf("What is %d + 1?", i)},
			{Role: "assistant", Content: R1Assistant(fmt.Sprintf("%d + 1 = %d", i, i+1), fmt.Sprintf("\\boxed{%d}", i+1))},
		},
		Prompt: fmt.Sprintf("What is %d + 1?", i), Reasoning: fmt.Sprintf("%d + 1 = %d", i, i+1),
		Answer: fmt.Sprintf("\\boxed{%d}", i+1), Reference: fmt.Sprint(i + 1), Correct: true,
		Verifier: "math", NumTokens: int64(10 + i%7), Source: "test", Teacher: "builtin",
		PromptID: fmt.Sprintf("p%04d", i), Sample: int64(i % 3),
	}
}

func rowSize(r *Row) int { return r.size() }

func TestShardWriterRotatesAndReadsBack(t *testing.T) {
	dir := t.TempDir()
	w := NewShardWriter[Row](dir, "train", ShardOptions{ShardBytes: 4 << 10, RowGroupRows: 50}, rowSize)
	const n = 1000
	for i := 0; i < n; i++ {
		if err := w.Write(testRow(i)); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("want several shards at 4 KiB each, got %d", len(paths))
	}
	want := filepath.Join(dir, fmt.Sprintf("train-00000-of-%05d.parquet", len(paths)))
	if paths[0] != want {
		t.Fatalf("first shard %s, want %s", paths[0], want)
	}
	listed, err := ListShards(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(listed) != fmt.Sprint(paths) {
		t.Fatalf("ListShards = %v, want %v", listed, paths)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
	i := 0
	for _, p := range paths {
		err := ReadMessages(context.Background(), p, func(r MessagesRow) error {
			want := testRow(i)
			if len(r.Messages) != 2 || r.Messages[0] != want.Messages[0] || r.Messages[1] != want.Messages[1] {
				return fmt.Errorf("row %d: got %+v", i, r.Messages)
			}
			i++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if i != n {
		t.Fatalf("read %d rows, want %d", i, n)
	}

	res := duckdb(t, fmt.Sprintf("SELECT count(*) AS n, min(sample) AS s, any_value(messages) AS m FROM read_parquet(%s)",
		sqlPath(filepath.Join(dir, "train-*.parquet"))))
	if got := fmt.Sprint(res.Rows[0]["n"]); got != fmt.Sprint(n) {
		t.Fatalf("duckdb count = %s, want %d", got, n)
	}
	if res.Columns[2].Type != "STRUCT(role VARCHAR, content VARCHAR)[]" {
		t.Fatalf("duckdb sees messages as %s", res.Columns[2].Type)
	}
}

func TestShardWriterEmptyWritesOneShard(t *testing.T) {
	dir := t.TempDir()
	w := NewShardWriter[Row](dir, "test", ShardOptions{}, rowSize)
	paths, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || filepath.Base(paths[0]) != "test-00000-of-00001.parquet" {
		t.Fatalf("got %v", paths)
	}
	n := 0
	if err := ReadMessages(context.Background(), paths[0], func(MessagesRow) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("read %d rows from an empty shard", n)
	}
}

// Files from other tools: DuckDB writes messages with the struct fields in
// another order and other columns around them, as HF datasets files may.
func TestReadMessagesForeignFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "train-00000-of-00001.parquet")
	duckdb(t, fmt.Sprintf(`COPY (SELECT i AS id, [{'content': 'q' || i, 'role': 'user'}, {'content': 'a' || i, 'role': 'assistant'}] AS messages
		FROM range(3) t(i)) TO %s (FORMAT parquet, COMPRESSION zstd)`, sqlPath(p)))
	var got []string
	err := ReadMessages(context.Background(), p, func(r MessagesRow) error {
		for _, m := range r.Messages {
			got = append(got, m.Role+":"+m.Content)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[user:q0 assistant:a0 user:q1 assistant:a1 user:q2 assistant:a2]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	noMsg := filepath.Join(dir, "other.parquet")
	duckdb(t, fmt.Sprintf(`COPY (SELECT 1 AS x) TO %s (FORMAT parquet)`, sqlPath(noMsg)))
	if err := ReadMessages(context.Background(), noMsg, func(MessagesRow) error { return nil }); err == nil {
		t.Fatal("want an error for a file without messages")
	}
	if err := os.WriteFile(noMsg, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReadMessages(context.Background(), noMsg, func(MessagesRow) error { return nil }); err == nil {
		t.Fatal("want an error for a file that is not Parquet")
	}
}
