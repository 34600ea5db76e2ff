package checkpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

// TestReadByPython has python/checks/hf_read.py, an independent reader
// written from transformers' loading rules, read checkpoints Save wrote. It
// runs with python/.venv (make setup) and fails without it.
func TestReadByPython(t *testing.T) {
	cases := []struct {
		preset string
		opts   []SaveOption
	}{
		{"qwen-tiny", nil},                 // tied, q/k/v bias, F32
		{"llama-8b", []SaveOption{BF16()}}, // untied, no bias, BF16
	}
	root := t.TempDir()
	args := []string{repotest.Path(t, "python/checks/hf_read.py")}
	for _, tc := range cases {
		dir := filepath.Join(root, tc.preset)
		if err := Save(dir, tinyWeights(t, tc.preset, 3), nil, GenerationConfig{}, tc.opts...); err != nil {
			t.Fatal(err)
		}
		args = append(args, dir)
	}
	cmd := exec.Command(repotest.Python(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hf_read.py: %v\n%s", err, stderr.Bytes())
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
