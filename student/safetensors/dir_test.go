package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeShards(t *testing.T, dir, index string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(Write(filepath.Join(dir, "model-00001-of-00002.safetensors"), []NamedTensor{
		{Name: "a", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "b", Shape: []int{1}, Data: []float32{3}, Dtype: "BF16"},
	}, map[string]string{"format": "pt"}))
	must(Write(filepath.Join(dir, "model-00002-of-00002.safetensors"), []NamedTensor{
		{Name: "c", Shape: []int{1, 1}, Data: []float32{4}},
	}, map[string]string{"format": "pt"}))
	must(os.WriteFile(filepath.Join(dir, IndexName), []byte(index), 0o644))
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, `{"metadata":{"total_size":16},"weight_map":{
		"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",
		"c":"model-00002-of-00002.safetensors"}}`)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := strings.Join(d.Names(), ","); got != "a,b,c" {
		t.Errorf("names %s", got)
	}
	for name, want := range map[string]float32{"a": 1, "b": 3, "c": 4} {
		got, _, err := d.Float32(name)
		if err != nil || got[0] != want {
			t.Errorf("%s = %v, %v; want %g", name, got, err, want)
		}
	}
	if dt, shape, err := d.Info("c"); err != nil || dt != "F32" || len(shape) != 2 {
		t.Errorf("Info(c) = %s %v %v", dt, shape, err)
	}
}

func TestOpenDirRejects(t *testing.T) {
	for _, tc := range []struct{ name, index, want string }{
		{"wrong shard", `{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`, `tensor "a" is not in shard model-00002-of-00002.safetensors`},
		{"unmapped", `{"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`, `tensor "b"`},
		{"escape", `{"weight_map":{"a":"../x.safetensors"}}`, "not a plain file name"},
		{"missing shard", `{"weight_map":{"a":"model-00003-of-00002.safetensors"}}`, "no such file"},
		{"empty", `{"weight_map":{}}`, "empty weight_map"},
		{"bad json", `{"weight_map":[]}`, IndexName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeShards(t, dir, tc.index)
			d, err := OpenDir(dir)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q, want %q", err, tc.want)
			}
		})
	}
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), SingleName) {
		t.Errorf("empty dir: err %v, want one naming %s", err, SingleName)
	}
}
