package engine

import (
	"fmt"
	"path/filepath"
)

// baseConfig holds the keys every job's config.yaml shares: where the
// model comes from and goes, its dtype, and how TRL logs, saves and runs
// (dir is OUT/job, out is OUT).
func baseConfig(modelPath, out, dir string, cpu, resume bool) map[string]any {
	return map[string]any{
		// distill's keys (DistillArguments)
		"final_dir":          out,
		"chat_template_file": filepath.Join(dir, TemplateFile),
		"resume":             resume,
		// ModelConfig
		"model_name_or_path":  modelPath,
		"dtype":               map[bool]string{true: "float32", false: "bfloat16"}[cpu],
		"attn_implementation": "sdpa",
		// TrainingArguments
		"output_dir":    filepath.Join(out, "checkpoints"),
		"save_strategy": "steps",
		"logging_steps": 1,
		"report_to":     "none",
		"bf16":          !cpu,
		"use_cpu":       cpu,
	}
}

// setSchedule maps the Go trainers' learning-rate schedule (linear warmup,
// then cosine or linear decay to minRatio × the peak, or constant) to
// transformers' scheduler. Its linear schedule ends at zero, so a linear
// decay to a floor is refused.
func setSchedule(c map[string]any, kind string, minRatio float64) error {
	switch kind {
	case "cosine":
		c["lr_scheduler_type"] = "cosine_with_min_lr"
		c["lr_scheduler_kwargs"] = map[string]any{"min_lr_rate": minRatio}
	case "linear":
		if minRatio != 0 {
			return fmt.Errorf("--schedule linear with --min-lr-ratio %g %w (TRL's linear schedule ends at 0: use --min-lr-ratio 0 or --schedule cosine)", minRatio, ErrUnmapped)
		}
		c["lr_scheduler_type"] = "linear"
	case "constant":
		c["lr_scheduler_type"] = "constant_with_warmup"
	default:
		return fmt.Errorf("--schedule %q: want cosine, linear or constant", kind)
	}
	return nil
}
