package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// IndexName is the file that maps tensor names to shards in a sharded
// checkpoint; SingleName is the unsharded file.
const (
	IndexName  = "model.safetensors.index.json"
	SingleName = "model.safetensors"
)

// Dir is the set of safetensors files of a checkpoint directory, read as one.
type Dir struct {
	files  []*File
	byName map[string]*File
	names  []string
}

// OpenDir opens a checkpoint's weights: the shards listed by
// model.safetensors.index.json when present, model.safetensors otherwise.
// Each tensor must live in exactly the shard the index names.
func OpenDir(dir string) (*Dir, error) {
	idxPath := filepath.Join(dir, IndexName)
	b, err := os.ReadFile(idxPath)
	if errors.Is(err, fs.ErrNotExist) {
		f, err := Open(filepath.Join(dir, SingleName))
		if err != nil {
			return nil, err
		}
		d := &Dir{files: []*File{f}, byName: map[string]*File{}, names: f.Names()}
		for _, n := range d.names {
			d.byName[n] = f
		}
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", idxPath)
	}
	d := &Dir{byName: map[string]*File{}}
	shards := map[string]*File{}
	for _, shard := range sortedValues(idx.WeightMap) {
		// Shard names come from the file: keep them inside dir.
		if shard == "" || filepath.Base(shard) != shard || strings.HasPrefix(shard, ".") {
			d.Close()
			return nil, fmt.Errorf("%s: shard name %q is not a plain file name", idxPath, shard)
		}
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			d.Close()
			return nil, err
		}
		shards[shard] = f
		d.files = append(d.files, f)
	}
	for name, shard := range idx.WeightMap {
		f := shards[shard]
		if _, ok := f.h.tensors[name]; !ok {
			d.Close()
			return nil, fmt.Errorf("%s: tensor %q is not in shard %s, where the index puts it", idxPath, name, shard)
		}
		d.byName[name] = f
	}
	for _, f := range d.files {
		for _, n := range f.h.names {
			if d.byName[n] != f {
				d.Close()
				return nil, fmt.Errorf("%s: tensor %q in %s is not mapped to that shard by the index", idxPath, n, f.path)
			}
		}
	}
	for n := range d.byName {
		d.names = append(d.names, n)
	}
	sort.Strings(d.names)
	return d, nil
}

func sortedValues(m map[string]string) []string {
	var vs []string
	seen := map[string]bool{}
	for _, v := range m {
		if !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	sort.Strings(vs)
	return vs
}

// Names lists all tensors.
func (d *Dir) Names() []string { return slices.Clone(d.names) }

// Files are the opened files, in shard order.
func (d *Dir) Files() []*File { return slices.Clone(d.files) }

func (d *Dir) file(name string) (*File, error) {
	f, ok := d.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return f, nil
}

// Info returns a tensor's dtype and shape.
func (d *Dir) Info(name string) (string, []int, error) {
	f, err := d.file(name)
	if err != nil {
		return "", nil, err
	}
	return f.Info(name)
}

// Float32 reads a tensor as float32.
func (d *Dir) Float32(name string) ([]float32, []int, error) {
	f, err := d.file(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Float32(name)
}

// ReadFloat32 reads a tensor into dst.
func (d *Dir) ReadFloat32(name string, dst []float32) error {
	f, err := d.file(name)
	if err != nil {
		return err
	}
	return f.ReadFloat32(name, dst)
}

// Close closes every file.
func (d *Dir) Close() error {
	var errs []error
	for _, f := range d.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
