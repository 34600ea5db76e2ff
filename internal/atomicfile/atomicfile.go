// Package atomicfile puts files in place so that a crash or a power cut
// leaves either the old file or the new one whole, never an empty or a torn
// one: the data reaches the disk before the rename, and the rename before
// the caller goes on.
//
// It imports nothing of ours.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a temporary file beside the path it will replace. Commit puts it
// in place; Abort, safe to defer, removes it unless committed.
type File struct {
	*os.File
	path string
	done bool
}

// Create opens a new temporary file in path's directory, hidden and with a
// unique name so that two writers of one path never share it.
func Create(path string, perm fs.FileMode) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPattern(path))
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file private; the final file gets perm.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// TempPattern is the os.CreateTemp pattern of path's temporary files, for
// callers that clear what a killed writer left behind.
func TempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-*"
}

// Commit syncs the file, closes it and renames it over the path, then syncs
// the directory so that the rename itself survives a power cut.
func (f *File) Commit() error {
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile replaces path with data, durably.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// Rename puts tmp, a file or a directory written by other means (a hard
// link, a checkpoint directory), in place of path: it syncs tmp first, since
// nothing says its writer did, and path's directory after.
func Rename(tmp, path string) error {
	if err := syncPath(tmp); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	if err := replace(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// SyncDir makes the entries created or renamed in dir durable.
func SyncDir(dir string) error {
	if err := syncPath(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func replace(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncPath(filepath.Dir(path))
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// WriteJSON replaces path with v as indented JSON and a final newline, the
// form of every JSON file distill writes.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'), 0o644)
}
