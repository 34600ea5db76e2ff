package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// A committed file replaces the old one with the asked mode, an aborted one
// leaves it alone, and neither leaves a temporary file behind.
func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half")
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("after Abort: %q, want the old content", b)
	}
	f, err = Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // deferred by callers: a no-op once committed
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "new" {
		t.Fatalf("after Commit: %q, %v", b, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only state.json", len(ents))
	}
}
