package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFile(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789"), 1000)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		open func(*os.File, int64) ([]byte, func() error, error)
		size int64
	}{
		{"map", File, int64(len(want))},
		{"map prefix", File, 15},
		{"read", read, int64(len(want))},
		{"read prefix", read, 15},
	}
	for _, tt := range tests {
		b, unmap, err := tt.open(f, tt.size)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !bytes.Equal(b, want[:tt.size]) {
			t.Errorf("%s: got %d bytes, not the file's first %d", tt.name, len(b), tt.size)
		}
		if err := unmap(); err != nil {
			t.Errorf("%s: unmap: %v", tt.name, err)
		}
	}
	if _, _, err := read(f, int64(len(want))+1); err == nil {
		t.Error("read past the end: no error")
	}
}
