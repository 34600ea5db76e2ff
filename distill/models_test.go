package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var modelsUpdate = flag.Bool("update-models", false, "rewrite testdata/models.txt")

func TestModelsTable(t *testing.T) {
	var out bytes.Buffer
	if err := runModels(context.Background(), ModelsOptions{Batch: 1, SeqLen: 2048, Out: &out}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "models.txt")
	if *modelsUpdate {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("table differs from %s (rerun with -update-models if intended):\n%s", golden, out.String())
	}
	// The rows the published model cards fix: parameters, fp32, bf16, the
	// GGUF sizes, full FT.
	for _, row := range []string{
		"qwen-7b      7.62B      28    3584   28/4   30.5 GB   15.2 GB   8.1 GB    4.7 GB  121.8 GB",
		"llama-8b     8.03B      32    4096   32/8   32.1 GB   16.1 GB   8.5 GB    4.9 GB  128.5 GB",
		"qwen-1.5b    1.54B      28    1536   12/2    6.2 GB    3.1 GB   1.6 GB  980.1 MB   24.7 GB",
	} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("table lacks %q", row)
		}
	}
}

func TestModelsJSON(t *testing.T) {
	var out bytes.Buffer
	if err := runModels(context.Background(), ModelsOptions{JSON: true, Batch: 2, SeqLen: 512, Out: &out}); err != nil {
		t.Fatal(err)
	}
	var rows []modelsRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	byName := map[string]modelsRow{}
	for _, r := range rows {
		byName[r.Name] = r
		if r.FP32Bytes != 4*r.Params || r.BF16Bytes != 2*r.Params || r.FullFTBytes != 16*r.Params {
			t.Errorf("%s: memory columns do not follow from %d params: %+v", r.Name, r.Params, r)
		}
		if r.TrainBytes <= r.FullFTBytes || r.TrainBatch != 2 || r.TrainSeqLen != 512 {
			t.Errorf("%s: training estimate %d for %d×%d, full FT states %d", r.Name, r.TrainBytes, r.TrainBatch, r.TrainSeqLen, r.FullFTBytes)
		}
	}
	for name, params := range map[string]int64{"qwen-7b": 7_615_616_512, "llama-8b": 8_030_261_248, "llama-70b": 70_553_706_496} {
		if byName[name].Params != params {
			t.Errorf("%s: %d params, want %d", name, byName[name].Params, params)
		}
	}
	// Published GGUF files of these bases (bartowski's quantisations on
	// Hugging Face, sizes as the site shows them, in GB) hold the same
	// tensors plus a few MB of metadata.
	for _, p := range []struct {
		name     string
		q8, q4km float64
	}{{"qwen-7b", 8.10, 4.68}, {"llama-8b", 8.54, 4.92}, {"qwen-1.5b", 1.65, 0.986}} {
		r := byName[p.name]
		for _, c := range []struct {
			kind      string
			got, file float64
		}{{"q8_0", float64(r.Q8_0Bytes) / 1e9, p.q8}, {"q4_k_m", float64(r.Q4KMBytes) / 1e9, p.q4km}} {
			if c.got > c.file || c.got < 0.99*c.file {
				t.Errorf("%s %s: %.3f GB of tensors, the published file has %.3f GB", p.name, c.kind, c.got, c.file)
			}
		}
	}
	if len(rows) < 9 || byName["qwen-tiny"].Published != "" || byName["qwen-7b"].Published != "Qwen/Qwen2.5-Math-7B" {
		t.Errorf("rows: %+v", rows)
	}
}

func TestModelsRejectsBadFlags(t *testing.T) {
	err := runModels(context.Background(), ModelsOptions{Batch: 1, SeqLen: 0, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "--seq-len") {
		t.Errorf("err %v", err)
	}
}
