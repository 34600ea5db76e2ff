// Package repotest finds files inside the repository for tests: the data sets
// under testdata/ and the tools `make setup` installs. Tests never read
// outside the checkout, so a bare clone plus `make setup` is all they need.
//
// It imports nothing of ours.
package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the repository root: the nearest directory above the test's
// working directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Data is the path of a data set file under the repository's testdata/.
func Data(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return p
}

// Path is a path relative to the repository root that must exist.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (run `make setup`)", rel, err)
	}
	return p
}

// Python is the interpreter of the venv `make setup` creates (python/.venv),
// or $DISTILL_PYTHON. The checks that use it never skip: a missing venv is a
// failure that names the target installing it.
func Python(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DISTILL_PYTHON"); p != "" {
		return p
	}
	p := filepath.Join(Root(t), "python", ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("python/.venv missing: run `make setup` (%v)", err)
	}
	return p
}
