package lora

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/model"
)

func tiny() *model.Config {
	return &model.Config{ModelType: "qwen2", VocabSize: 32, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 1e4, TieWordEmbeddings: true}
}

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", Modules, false},
		{"all-linear", Modules, false},
		{"v_proj, q_proj,q_proj", []string{"q_proj", "v_proj"}, false},
		{"down_proj,gate_proj", []string{"gate_proj", "down_proj"}, false},
		{"lm_head", nil, true},
		{"q_proj,", nil, true},
	} {
		got, err := ParseTargets(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ParseTargets(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("ParseTargets(%q): error %v is not ErrConfig", tc.in, err)
		}
	}
}

func TestNewShapesAndNames(t *testing.T) {
	cfg := tiny()
	a, err := New(cfg, 4, 8, []string{"q_proj", "k_proj", "o_proj", "down_proj"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Scale() != 2 {
		t.Errorf("scale %v, want alpha/r = 2", a.Scale())
	}
	// d = 4, q = 16, kv = 8
	for _, tc := range []struct {
		layer  int
		module string
		a, b   []int
	}{{0, "q_proj", []int{4, 16}, []int{16, 4}}, {1, "k_proj", []int{4, 16}, []int{8, 4}},
		{1, "o_proj", []int{4, 16}, []int{16, 4}}, {0, "down_proj", []int{4, 24}, []int{16, 4}}} {
		ad := find(a, tc.layer, tc.module)
		if ad == nil || ad.Layer != tc.layer || ad.Module != tc.module || !slices.Equal(ad.A.Shape, tc.a) || !slices.Equal(ad.B.Shape, tc.b) {
			t.Errorf("Find(%d, %s) = %+v", tc.layer, tc.module, ad)
		}
	}
	if find(a, 0, "v_proj") != nil || find(a, 2, "q_proj") != nil {
		t.Error("Find returned an adapter that does not exist")
	}
	if got := Name(3, "up_proj", "B"); got != "base_model.model.model.layers.3.mlp.up_proj.lora_B.weight" {
		t.Errorf("Name = %s", got)
	}
	if got := Name(0, "k_proj", "A"); got != "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight" {
		t.Errorf("Name = %s", got)
	}
	if want := int64(2 * 4 * ((16 + 16) + (16 + 8) + (16 + 16) + (24 + 16))); a.NumParams() != want {
		t.Errorf("NumParams %d, want %d", a.NumParams(), want)
	}
	for _, bad := range []struct {
		r     int
		alpha float64
		t     []string
	}{{0, 8, Modules}, {4, 0, Modules}, {4, 8, nil}, {4, 8, []string{"embed"}}} {
		if _, err := New(cfg, bad.r, bad.alpha, bad.t); !errors.Is(err, ErrConfig) {
			t.Errorf("New(r %d, alpha %v, %v): error %v, want ErrConfig", bad.r, bad.alpha, bad.t, err)
		}
	}
}

// TestMerge checks W += (alpha/r)·B·A against a direct sum.
func TestMerge(t *testing.T) {
	cfg := tiny()
	w := model.NewWeights(cfg)
	w.Init(1)
	a, err := New(cfg, 2, 6, []string{"gate_proj"})
	if err != nil {
		t.Fatal(err)
	}
	a.Init(2)
	for i := range a.List {
		for j := range a.List[i].B.Data {
			a.List[i].B.Data[j] = float32(j%5) * 0.1
		}
	}
	ad := find(a, 1, "gate_proj")
	before := slices.Clone(w.Layers[1].Gate.Data)
	B, A := slices.Clone(ad.B.Data), slices.Clone(ad.A.Data)
	a.Merge(w)
	out, in := Shape(cfg, "gate_proj")
	for o := range out {
		for j := range in {
			want := before[o*in+j] + 3*(B[o*2]*A[j]+B[o*2+1]*A[in+j])
			if got := w.Layers[1].Gate.Data[o*in+j]; abs(got-want) > 1e-6 {
				t.Fatalf("W[%d,%d] = %g, want %g", o, j, got, want)
			}
		}
	}
	if slices.ContainsFunc(ad.B.Data, func(x float32) bool { return x != 0 }) {
		t.Error("B not zeroed after Merge")
	}
}

func abs(x float32) float32 { return max(x, -x) }

func TestSaveLoad(t *testing.T) {
	cfg := tiny()
	a, err := New(cfg, 4, 16, []string{"q_proj", "v_proj", "up_proj"})
	if err != nil {
		t.Fatal(err)
	}
	a.Init(3)
	a.List[1].B.Data[5] = 0.25
	dir := t.TempDir()
	a.Base = "Qwen/Qwen2.5-1.5B"
	if err := Save(dir, a); err != nil {
		t.Fatal(err)
	}
	var pc map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	if pc["peft_type"] != "LORA" || pc["r"] != 4.0 || pc["lora_alpha"] != 16.0 || pc["task_type"] != "CAUSAL_LM" || pc["base_model_name_or_path"] != "Qwen/Qwen2.5-1.5B" {
		t.Errorf("adapter_config.json: %s", b)
	}
	got, err := Load(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rank != 4 || got.Alpha != 16 || !slices.Equal(got.Targets, a.Targets) || got.Base != a.Base {
		t.Errorf("loaded rank %d alpha %v targets %v", got.Rank, got.Alpha, got.Targets)
	}
	for i, p := range a.Params() {
		q := got.Params()[i]
		if p.Name != q.Name || !slices.Equal(p.Tensor.Data, q.Tensor.Data) {
			t.Errorf("%s differs after Save and Load", p.Name)
		}
	}

	// An adapter for another shape, or a kind this trainer cannot apply, is refused.
	other := tiny()
	other.HiddenSize, other.IntermediateSize = 32, 48
	if _, err := Load(dir, other); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("Load into another shape: %v", err)
	}
	edit := strings.Replace(string(b), `"use_dora": false`, `"use_dora": true`, 1)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(edit), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, cfg); err == nil || !strings.Contains(err.Error(), "DoRA") {
		t.Errorf("Load of a DoRA adapter: %v", err)
	}
}

// find returns the adapter of a layer's module, or nil.
func find(a *Adapters, layer int, module string) *Adapter {
	for i := range a.List {
		if a.List[i].Layer == layer && a.List[i].Module == module {
			return &a.List[i]
		}
	}
	return nil
}
