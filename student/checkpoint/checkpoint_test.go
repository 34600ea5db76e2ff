package checkpoint

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/safetensors"
)

func tinyWeights(t *testing.T, preset string, seed uint64) *model.Weights {
	t.Helper()
	cfg, err := model.LookupPreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	// Shrink to keep the test fast; the shapes stay those of the family.
	cfg.VocabSize, cfg.NumHiddenLayers = 64, 2
	if cfg.HiddenSize > 256 {
		cfg.HiddenSize, cfg.IntermediateSize, cfg.NumAttentionHeads, cfg.NumKeyValueHeads = 64, 96, 4, 2
	}
	w := model.NewWeights(cfg)
	w.Init(seed)
	// Biases and norms start at 0 and 1: perturb them so a mix-up shows.
	for _, p := range w.Params() {
		if len(p.Tensor.Shape) == 1 {
			for i := range p.Tensor.Data {
				p.Tensor.Data[i] += float32(i%7) * 0.01
			}
		}
	}
	return w
}

func equalWeights(t *testing.T, got, want *model.Weights, tol float64) {
	t.Helper()
	gp, wp := got.Params(), want.Params()
	if len(gp) != len(wp) {
		t.Fatalf("%d params, want %d", len(gp), len(wp))
	}
	for i := range wp {
		if gp[i].Name != wp[i].Name || !slices.Equal(gp[i].Tensor.Shape, wp[i].Tensor.Shape) {
			t.Fatalf("param %d: %s %v, want %s %v", i, gp[i].Name, gp[i].Tensor.Shape, wp[i].Name, wp[i].Tensor.Shape)
		}
		for j, x := range wp[i].Tensor.Data {
			y := gp[i].Tensor.Data[j]
			if math.Abs(float64(y-x)) > tol*math.Abs(float64(x)) {
				t.Fatalf("%s[%d] = %g, want %g", wp[i].Name, j, y, x)
			}
		}
	}
}

func TestSaveLoad(t *testing.T) {
	tok := []byte(`{"version":"1.0","model":{"type":"BPE"}}`)
	for _, tc := range []struct {
		preset string
		opts   []SaveOption
		dtype  string
		tol    float64
	}{
		{"qwen-tiny", nil, "float32", 0},
		{"llama-tiny", nil, "float32", 0},
		{"qwen-tiny", []SaveOption{BF16()}, "bfloat16", 1.0 / 256},
		{"llama-8b", nil, "float32", 0}, // untied head, llama3 rope scaling, no bias
	} {
		t.Run(tc.preset+"/"+tc.dtype, func(t *testing.T) {
			w := tinyWeights(t, tc.preset, 1)
			dir := filepath.Join(t.TempDir(), "ckpt")
			gen := GenerationConfig{EOSTokenID: model.TokenIDs{3, 4}, DoSample: true, Temperature: 0.6, TopP: 0.95}
			if err := Save(dir, w, tok, gen, tc.opts...); err != nil {
				t.Fatal(err)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			equalWeights(t, got, w, tc.tol)
			if got.Config.TorchDtype != tc.dtype {
				t.Errorf("torch_dtype %q, want %q", got.Config.TorchDtype, tc.dtype)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, TokenizerName)); string(b) != string(tok) {
				t.Errorf("tokenizer.json = %q", b)
			}
			var g map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, GenerationConfigName))
			if err := json.Unmarshal(b, &g); err != nil || g["temperature"] != 0.6 || g["do_sample"] != true || len(g["eos_token_id"].([]any)) != 2 {
				t.Errorf("generation_config.json = %s (%v)", b, err)
			}
			if g2, err := LoadGenerationConfig(dir); err != nil || g2.TopP != 0.95 || !slices.Equal(g2.EOSTokenID, gen.EOSTokenID) {
				t.Errorf("LoadGenerationConfig = %+v, %v", g2, err)
			}
			f, err := safetensors.Open(filepath.Join(dir, safetensors.SingleName))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Metadata()["format"] != "pt" {
				t.Error(`metadata lacks "format": "pt", which transformers requires`)
			}
			hasHead := slices.Contains(f.Names(), "lm_head.weight")
			if hasHead == w.Config.TieWordEmbeddings {
				t.Errorf("lm_head.weight present = %v with tie_word_embeddings = %v", hasHead, w.Config.TieWordEmbeddings)
			}
		})
	}
}

// TestLoadTorchCheckpoint loads the checkpoints scripts/torch_reference.py
// wrote (an independent writer), saves them and loads them back unchanged.
func TestLoadTorchCheckpoint(t *testing.T) {
	for _, name := range []string{"qwen2-tiny", "llama3-tiny", "qwen2-tiny-bf16"} {
		t.Run(name, func(t *testing.T) {
			w, err := Load(filepath.Join("..", "model", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.CheckFinite(); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), name)
			if err := Save(dir, w, nil, GenerationConfig{}); err != nil {
				t.Fatal(err)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			equalWeights(t, got, w, 0)
		})
	}
}

func TestSaveReplaces(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ckpt")
	w1, w2 := tinyWeights(t, "qwen-tiny", 1), tinyWeights(t, "qwen-tiny", 2)
	if err := Save(dir, w1, nil, GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, w2, nil, GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	equalWeights(t, got, w2, 0)
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("parent holds %v, want only ckpt (temporary directories left behind)", names)
	}
	if _, err := os.Stat(filepath.Join(dir, TokenizerName)); err == nil {
		t.Error("tokenizer.json written without a tokenizer")
	}
	if g, err := LoadGenerationConfig(t.TempDir()); err != nil || g.Temperature != 0 {
		t.Errorf("no generation_config.json: %+v, %v", g, err)
	}

	other := filepath.Join(root, "data")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("keep me"), 0o644)
	err = Save(other, w1, nil, GenerationConfig{})
	if err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Errorf("saving over a non-checkpoint dir: err %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "notes.txt")); string(b) != "keep me" {
		t.Error("the non-checkpoint directory was changed")
	}
}

// TestLoadRejects writes checkpoints that disagree with their config.
func TestLoadRejects(t *testing.T) {
	w := tinyWeights(t, "qwen-tiny", 1)
	base := func(t *testing.T) (string, []safetensors.NamedTensor) {
		dir := t.TempDir()
		if err := w.Config.Save(filepath.Join(dir, ConfigName)); err != nil {
			t.Fatal(err)
		}
		var ts []safetensors.NamedTensor
		for _, p := range w.Params() {
			ts = append(ts, safetensors.NamedTensor{Name: p.Name, Shape: p.Tensor.Shape, Data: p.Tensor.Data})
		}
		return dir, ts
	}
	for _, tc := range []struct {
		name   string
		change func([]safetensors.NamedTensor) []safetensors.NamedTensor
		want   string
	}{
		{"missing", func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
			return slices.DeleteFunc(ts, func(t safetensors.NamedTensor) bool { return t.Name == "model.layers.1.mlp.up_proj.weight" })
		}, "missing model.layers.1.mlp.up_proj.weight"},
		{"unexpected", func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
			return append(ts, safetensors.NamedTensor{Name: "model.layers.2.mlp.up_proj.weight", Shape: []int{1}, Data: []float32{1}})
		}, "unexpected model.layers.2.mlp.up_proj.weight"},
		{"shape", func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
			ts[0].Shape = []int{ts[0].Shape[1], ts[0].Shape[0]}
			return ts
		}, "wrong shape model.embed_tokens.weight [256 64] (config wants [64 256])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ts := base(t)
			if err := safetensors.Write(filepath.Join(dir, safetensors.SingleName), tc.change(ts), nil); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("err %v, want ErrMismatch naming %s and %q", err, dir, tc.want)
			}
		})
	}
	t.Run("tied head and inv_freq ignored", func(t *testing.T) {
		dir, ts := base(t)
		ts = append(ts,
			safetensors.NamedTensor{Name: "lm_head.weight", Shape: w.Embed.Shape, Data: w.Embed.Data},
			safetensors.NamedTensor{Name: "model.layers.0.self_attn.rotary_emb.inv_freq", Shape: []int{16}, Data: make([]float32, 16)})
		if err := safetensors.Write(filepath.Join(dir, safetensors.SingleName), ts, nil); err != nil {
			t.Fatal(err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		equalWeights(t, got, w, 0)
	})
	t.Run("sharded", func(t *testing.T) {
		dir, ts := base(t)
		half := len(ts) / 2
		wm := map[string]string{}
		for i, part := range [][]safetensors.NamedTensor{ts[:half], ts[half:]} {
			shard := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
			if err := safetensors.Write(filepath.Join(dir, shard), part, map[string]string{"format": "pt"}); err != nil {
				t.Fatal(err)
			}
			for _, t := range part {
				wm[t.Name] = shard
			}
		}
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": wm})
		os.WriteFile(filepath.Join(dir, safetensors.IndexName), b, 0o644)
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		equalWeights(t, got, w, 0)
	})
	t.Run("bad config", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ConfigName), []byte(`{"model_type":"gpt2"}`), 0o644)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "config.json") {
			t.Errorf("err %v, want one naming config.json", err)
		}
	})
}

func TestGenerationDefaultsFromConfig(t *testing.T) {
	w := tinyWeights(t, "qwen-1.5b", 1) // config eos/bos 151643
	dir := filepath.Join(t.TempDir(), "c")
	if err := Save(dir, w, nil, GenerationConfig{Temperature: 0.6}); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGenerationConfig(dir)
	if err != nil || !slices.Equal(g.EOSTokenID, model.TokenIDs{151643}) || !slices.Equal(g.BOSTokenID, model.TokenIDs{151643}) {
		t.Errorf("generation config %+v, %v: want the config's token ids", g, err)
	}
}

// TestSaveFailureKeepsOld makes Save fail halfway (a tensor whose data does
// not match its shape fails in the safetensors writer, after config.json and
// tokenizer.json are written): the old checkpoint must stay as it was and no
// temporary directory may remain.
func TestSaveFailureKeepsOld(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ckpt")
	w := tinyWeights(t, "qwen-tiny", 1)
	if err := Save(dir, w, []byte(`{"old":true}`), GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	bad := tinyWeights(t, "qwen-tiny", 2)
	bad.Norm.Data = bad.Norm.Data[:3]
	if err := Save(dir, bad, []byte(`{"new":true}`), GenerationConfig{}); err == nil || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Fatalf("err %v, want one naming model.norm.weight", err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	equalWeights(t, got, w, 0)
	if b, _ := os.ReadFile(filepath.Join(dir, TokenizerName)); string(b) != `{"old":true}` {
		t.Errorf("tokenizer.json = %s, want the old one", b)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only ckpt", len(ents))
	}
}
