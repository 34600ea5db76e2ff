package dataset

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

type duckColumn struct{ Name, Type string }

type duckResult struct {
	Columns []duckColumn
	Rows    []map[string]any
}

// duckdb runs SQL in DuckDB through scripts/node/duckdb_query.mjs: the real
// DuckDB that users of our shards run, not a reimplementation.
func duckdb(t *testing.T, stmts ...string) duckResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: make setup needs it (npm ci in scripts/node) for the DuckDB checks")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "scripts", "node", "duckdb_query.mjs")
	cmd := exec.Command(node, append([]string{script}, stmts...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v: %s", err, stderr.String())
	}
	var res duckResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("duckdb output: %v", err)
	}
	for i := range res.Columns {
		res.Columns[i].Type = strings.ReplaceAll(res.Columns[i].Type, `"`, "")
	}
	return res
}

// sqlPath quotes a path for a DuckDB string literal.
func sqlPath(p string) string { return "'" + strings.ReplaceAll(p, "'", "''") + "'" }
