package engine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"strings"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/student/train"
)

// ErrUnmapped refuses an option the engine has no key for: it is never
// dropped silently.
var ErrUnmapped = fmt.Errorf("has no TRL equivalent")

// SFT is the TRL job of a `distill train` run with the options o (before
// defaults are filled: an empty Template means none was asked for). Every
// option the Go trainer takes is mapped to TRL's key of the same meaning
// or, where TRL has none, refused when set.
func SFT(o train.Options, res Resources) (*Job, error) {
	if len(o.Data) == 0 || o.Out == "" {
		return nil, fmt.Errorf("--data and --out are required")
	}
	d := train.Defaults
	switch {
	case o.DropLong:
		return nil, fmt.Errorf("--drop-long %w (TRL truncates long examples; filter them with distill filter --max-tokens)", ErrUnmapped)
	}
	peft, err := peftKeys(o.LoRARank, o.LoRAAlpha, o.LoRATargets)
	if err != nil {
		return nil, err
	}
	modelPath, tmpl, err := resolveStudent(o.Student, o.Init, o.Template)
	if err != nil {
		return nil, err
	}
	if cfg, err := studentConfig(modelPath, o.Student); err == nil {
		if err := o.ApplyContext(cfg, modelPath); err != nil {
			return nil, err
		}
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	mixture, data, tests, err := jobMixture(o.Data, cmp.Or(o.Seed, d.Seed))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(out, "job")
	cpu := res.GPUsPerNode == 0
	c := baseConfig(modelPath, out, dir, cpu, o.Resume)
	for k, v := range map[string]any{
		"data_mixture": mixture,
		// The loss on the assistant turns, as the Go trainer's mask.
		"chat_template_path":  filepath.Join(dir, TrainingTemplateFile),
		"assistant_only_loss": true,
		"max_length":          o.SeqLen,
		"packing":             o.Packing,
		// bfd packing is padding-free: each example attends only to itself,
		// as the Go trainer's packed rows do.
		"packing_strategy":            "bfd",
		"num_train_epochs":            o.Epochs,
		"max_steps":                   cmp.Or(o.MaxSteps, -1),
		"learning_rate":               o.LR,
		"warmup_steps":                o.WarmupSteps,
		"per_device_train_batch_size": o.MicroBatch,
		"per_device_eval_batch_size":  o.MicroBatch,
		"gradient_accumulation_steps": o.GradAccum,
		"weight_decay":                o.WeightDecay,
		"max_grad_norm":               o.MaxGradNorm,
		"seed":                        int64(o.Seed),
		"gradient_checkpointing":      o.GradientCheckpointing,
		"max_position_embeddings":     o.MaxPositionEmbeddings,
		"rope_theta":                  o.RopeTheta,
		"save_steps":                  o.SaveEvery,
		"save_total_limit":            cmp.Or(o.KeepCheckpoints, d.KeepCheckpoints),
		"eval_strategy":               "no",
	} {
		c[k] = v
	}
	if err := setSchedule(c, o.Schedule, o.MinLRRatio); err != nil {
		return nil, err
	}
	if o.Packing && !cpu {
		// A packed batch is one flattened sequence of micro_batch ×
		// seq_len tokens. SDPA attends over it with a dense mask, twice
		// the model's own FLOPs at 4×4096 tokens (0.40× plain Trainer's
		// throughput on an H200); FlexAttention skips the blocks across
		// examples. One padded length keeps it from recompiling.
		c["attn_implementation"] = "flex_attention"
		c["pad_to_multiple_of"] = o.MicroBatch * o.SeqLen
	}
	if o.EvalEvery > 0 && tests {
		c["eval_strategy"] = "steps"
		c["eval_steps"] = o.EvalEvery
	}
	maps.Copy(c, peft)
	return &Job{Kind: "sft", Dir: dir, Out: out, Data: data, Config: c, Template: tmpl, Res: res}, nil
}

// jobMixture is the mixture as the job reads it (DistillArguments.data_mixture):
// JSON of the seed and the sources, their directories absolute, from which
// distill_engine.load_shards keeps the rows the Go trainer keeps. It also
// returns the directories, and whether any holds test shards.
func jobMixture(m train.Mixture, seed uint64) (string, []string, bool, error) {
	sources := make(train.Mixture, len(m))
	dirs := make([]string, len(m))
	tests := false
	for i, s := range m {
		dir, err := filepath.Abs(s.Path)
		if err != nil {
			return "", nil, false, err
		}
		found, err := filepath.Glob(filepath.Join(dir, "test-*.parquet"))
		if err != nil {
			return "", nil, false, err
		}
		tests = tests || len(found) > 0
		s.Path, sources[i], dirs[i] = dir, s, dir
	}
	b, err := json.Marshal(map[string]any{"seed": seed, "sources": sources})
	return string(b), dirs, tests, err
}

// peftKeys are TRL's PEFT keys (ModelConfig) for --lora-rank, --lora-alpha
// and --lora-targets; none for rank 0.
func peftKeys(rank int, alpha float64, targetList string) (map[string]any, error) {
	targets, err := lora.ParseTargets(targetList)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--lora-targets: %w", err)
	case rank <= 0:
		return nil, nil
	case alpha != math.Trunc(alpha):
		return nil, fmt.Errorf("--lora-alpha %g %w (PEFT through TRL takes a whole number)", alpha, ErrUnmapped)
	}
	return map[string]any{
		"use_peft":            true,
		"lora_r":              rank,
		"lora_alpha":          int(cmp.Or(alpha, 2*float64(rank))),
		"lora_dropout":        0.0, // the Go trainer's adapters have none
		"lora_target_modules": targetModules(targets),
	}, nil
}

// targetModules is PEFT's target_modules for a parsed --lora-targets.
func targetModules(targets []string) any {
	if len(targets) == len(lora.Modules) {
		return "all-linear"
	}
	return targets
}

// resolveStudent gives the model the engine loads (an absolute checkpoint
// directory, or a hub id) and the chat template to train with: the
// checkpoint's own, or the one --template names, or the one of the model's
// family. Presets stand for the bases the R1 report distils into.
func resolveStudent(name, init, tmplName string) (string, *tokenizer.Template, error) {
	src := init
	if src == "" {
		src = name
	}
	if src == "" {
		return "", nil, fmt.Errorf("--student: a preset, a hub id or an HF checkpoint directory is required")
	}
	if checkpoint.IsCheckpoint(src) {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", nil, err
		}
		if tmplName != "" {
			t, err := tokenizer.TemplateFor(tmplName)
			return abs, t, err
		}
		t, err := student.TemplateOf(abs)
		return abs, t, err
	}
	hubID := src
	if p, ok := model.Presets[src]; ok {
		if p.Published == "" {
			return "", nil, fmt.Errorf("--student %s: a CPU preset with no published base; give an HF checkpoint directory (distill train --engine go writes one)", src)
		}
		hubID = p.Published
	} else if !strings.Contains(src, "/") {
		return "", nil, fmt.Errorf("--student %q: not a preset (distill models lists them), a checkpoint directory or a hub id (org/name)", src)
	}
	t, err := tokenizer.TemplateFor(cmp.Or(tmplName, hubID))
	if err != nil {
		return "", nil, fmt.Errorf("--template: %w", err)
	}
	return hubID, t, nil
}

// studentConfig is the configuration of the model the job loads when it is
// known here: a checkpoint directory's, or a preset's (a Hub id's is not).
func studentConfig(modelPath, name string) (*model.Config, error) {
	if checkpoint.IsCheckpoint(modelPath) {
		return checkpoint.LoadConfig(modelPath)
	}
	return model.LookupPreset(name)
}
