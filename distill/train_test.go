package distill

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/engine"
	"github.com/distill-dev/distill/student/train"
	"go.yaml.in/yaml/v3"
)

// A run on data without test shards says it has no held-out set instead of
// reporting "held-out loss NaN (NaN before)".
func TestTrainSummary(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, last   float64
		want, notWant string
	}{
		{"no test split", math.NaN(), math.NaN(), "no held-out set", "NaN"},
		{"test split", 2.5, 1.25, "held-out loss 1.2500 (2.5000 before)", "no held-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trainSummary(&train.Result{Steps: 3, Loss: 1, FirstEvalLoss: tc.first, EvalLoss: tc.last}, "OUT")
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.notWant) {
				t.Errorf("summary %q: want %q, not %q", got, tc.want, tc.notWant)
			}
		})
	}
}

// --data repeats: each value is a source of the mixture, in order, and
// replaces the config's data; the job writes them all.
func TestTrainDataFlags(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "train.yaml")
	writeFile(t, cfg, "data: [{path: /nowhere}]\n")
	err := NewApp().Run([]string{"distill", "train", "--config", cfg, "--student", "qwen-7b", "--data", a, "--data", b + ":0.5:10",
		"--out", out, "--engine", "trl", "--gpus-per-node", "0", "--dry-run"})
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Mixture string `yaml:"data_mixture"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "job", engine.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &job); err != nil {
		t.Fatal(err)
	}
	var mix struct {
		Seed    uint64
		Sources train.Mixture
	}
	if err := json.Unmarshal([]byte(job.Mixture), &mix); err != nil {
		t.Fatalf("data_mixture %q: %v", job.Mixture, err)
	}
	if want := (train.Mixture{{Path: a}, {Path: b, Weight: 0.5, MaxRows: 10}}); !slices.Equal(mix.Sources, want) || mix.Seed != train.Defaults.Seed {
		t.Errorf("data_mixture %+v, want seed %d and %+v", mix, train.Defaults.Seed, want)
	}
	err = NewApp().Run([]string{"distill", "train", "--student", "qwen-7b", "--data", a + ":1.5", "--out", out})
	if err == nil || !strings.Contains(err.Error(), "not a fraction") {
		t.Errorf("--data DIR:1.5: %v, want a refusal", err)
	}
}
