package lora

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/safetensors"
)

// File names of a PEFT adapter directory.
const (
	ConfigFile  = "adapter_config.json"
	WeightsFile = "adapter_model.safetensors"
)

// peftConfig is the part of PEFT's LoraConfig that describes what was
// trained here; PEFT fills the fields it does not find with its defaults.
type peftConfig struct {
	PeftType      string   `json:"peft_type"`
	TaskType      string   `json:"task_type"`
	BaseModel     string   `json:"base_model_name_or_path"`
	R             int      `json:"r"`
	LoraAlpha     float64  `json:"lora_alpha"`
	LoraDropout   float64  `json:"lora_dropout"`
	TargetModules []string `json:"target_modules"`
	Bias          string   `json:"bias"`
	FanInFanOut   bool     `json:"fan_in_fan_out"`
	UseRSLoRA     bool     `json:"use_rslora"`
	UseDoRA       bool     `json:"use_dora"`
	InferenceMode bool     `json:"inference_mode"`
}

// Save writes a as a PEFT adapter directory. Each file is written under a
// temporary name and renamed into place.
func Save(dir string, a *Adapters) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []safetensors.NamedTensor
	for _, p := range a.Params() {
		ts = append(ts, safetensors.NamedTensor{Name: p.Name, Shape: p.Tensor.Shape, Data: p.Tensor.Data})
	}
	if err := safetensors.Write(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(dir, ConfigFile), peftConfig{PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModel: a.Base,
		R: a.Rank, LoraAlpha: a.Alpha, TargetModules: a.Targets, Bias: "none", InferenceMode: true})
}

// BaseOf reads the base model an adapter directory names.
func BaseOf(dir string) (string, error) {
	pc, err := readConfig(dir)
	if err != nil {
		return "", err
	}
	if pc.BaseModel == "" {
		return "", fmt.Errorf("%s: no base_model_name_or_path", filepath.Join(dir, ConfigFile))
	}
	return pc.BaseModel, nil
}

func readConfig(dir string) (*peftConfig, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pc peftConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &pc, nil
}

// Load reads a PEFT adapter directory for a model of config cfg. It refuses
// what this trainer cannot apply exactly (DoRA, rsLoRA, adapted biases,
// fan_in_fan_out layouts) and adapters whose shapes do not fit cfg.
func Load(dir string, cfg *model.Config) (*Adapters, error) {
	pc, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	where := filepath.Join(dir, ConfigFile)
	switch {
	case pc.PeftType != "LORA":
		return nil, fmt.Errorf("%s: peft_type %q, want LORA", where, pc.PeftType)
	case pc.UseDoRA || pc.UseRSLoRA || pc.FanInFanOut || (pc.Bias != "" && pc.Bias != "none"):
		return nil, fmt.Errorf("%s: DoRA, rsLoRA, fan_in_fan_out and trained biases are not supported", where)
	}
	targets := slices.Clone(pc.TargetModules)
	slices.SortFunc(targets, func(x, y string) int { return slices.Index(Modules, x) - slices.Index(Modules, y) })
	a, err := New(cfg, pc.R, pc.LoraAlpha, targets)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	a.Base = pc.BaseModel
	f, err := safetensors.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := a.Params()
	if n := len(f.Names()); n != len(want) {
		return nil, fmt.Errorf("%s: %d tensors, want %d for rank %d on %v over %d layers", f.Path(), n, len(want), a.Rank, a.Targets, cfg.NumHiddenLayers)
	}
	for _, p := range want {
		_, shape, err := f.Info(p.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path(), err)
		}
		if !slices.Equal(shape, p.Tensor.Shape) {
			return nil, fmt.Errorf("%s: %s has shape %v, want %v", f.Path(), p.Name, shape, p.Tensor.Shape)
		}
		if err := f.ReadFloat32(p.Name, p.Tensor.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path(), err)
		}
	}
	return a, nil
}
