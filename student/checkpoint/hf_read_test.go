package checkpoint

import (
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReadByPython has testdata/hf_read.py, an independent reader written
// from transformers' loading rules, read checkpoints Save wrote. It needs
// /usr/bin/python3 with torch (Debian python3-torch) and is skipped without.
func TestReadByPython(t *testing.T) {
	cases := []struct {
		preset string
		opts   []SaveOption
	}{
		{"qwen-tiny", nil},                 // tied, q/k/v bias, F32
		{"llama-8b", []SaveOption{BF16()}}, // untied, no bias, BF16
	}
	root := t.TempDir()
	args := []string{"testdata/hf_read.py"}
	for _, tc := range cases {
		dir := filepath.Join(root, tc.preset)
		if err := Save(dir, tinyWeights(t, tc.preset, 3), nil, GenerationConfig{}, tc.opts...); err != nil {
			t.Fatal(err)
		}
		args = append(args, dir)
	}
	out, err := exec.Command("/usr/bin/python3", args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 77 || errors.Is(err, exec.ErrNotFound) {
		t.Skip("no /usr/bin/python3 with torch")
	}
	if err != nil {
		t.Fatalf("hf_read.py: %v\n%s", err, ee.Stderr)
	}
	var all map[string]map[string][2]float64
	if err := json.Unmarshal(out, &all); err != nil {
		t.Fatal(err)
	}
	for _, dir := range args[1:] {
		got := all[dir]
		// Compare with the saved values as Go reads them back.
		back, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		ps := back.Params()
		if len(got) != len(ps) {
			t.Errorf("%s: python read %d tensors, Go %d", dir, len(got), len(ps))
		}
		for _, p := range ps {
			g, ok := got[p.Name]
			if !ok {
				t.Errorf("%s: python did not read %s", dir, p.Name)
				continue
			}
			var sum, abs float64
			for _, x := range p.Tensor.Data {
				sum += float64(x)
				abs += math.Abs(float64(x))
			}
			if math.Abs(g[0]-sum) > 1e-9*abs+1e-12 || g[1] != float64(p.Tensor.Data[0]) {
				t.Errorf("%s: %s: python sum %g first %g, Go %g %g", dir, p.Name, g[0], g[1], sum, p.Tensor.Data[0])
			}
		}
	}
}
