package trainer

// Options are the loop's options that SFT (train.Options) and GRPO
// (rl.Options) share. Both embed them inline, so one declaration gives both
// commands the field, its config key and its flag.
type Options struct {
	LR          float64 `yaml:"lr" flag:"lr" usage:"peak learning rate (GRPO wants it far below SFT's)"`
	Schedule    string  `yaml:"schedule" flag:"schedule" usage:"cosine, linear or constant (after the warmup)"`
	WarmupSteps int     `yaml:"warmup_steps" flag:"warmup-steps"`
	MinLRRatio  float64 `yaml:"min_lr_ratio" flag:"min-lr-ratio" usage:"final learning rate of cosine and linear as a fraction of the peak"`
	WeightDecay float64 `yaml:"weight_decay" flag:"weight-decay"`
	MaxGradNorm float64 `yaml:"max_grad_norm" flag:"max-grad-norm" usage:"clip the global gradient norm (0: off)"`

	SaveEvery       int  `yaml:"save_every" flag:"save-every" usage:"updates between checkpoints"`
	KeepCheckpoints int  `yaml:"keep_checkpoints"`
	Resume          bool `yaml:"resume" flag:"resume" usage:"continue from the last checkpoint in --out"`

	// LoRARank > 0 trains low-rank adapters of that rank on the frozen
	// starting model instead of every weight; LoRAAlpha scales them
	// (alpha/rank; default 2·rank); LoRATargets names the projections
	// ("all-linear", the default, or e.g. "q_proj,v_proj").
	LoRARank    int     `yaml:"lora_rank" flag:"lora-rank" usage:"train LoRA adapters of this rank on the frozen starting model (0: every weight; GRPO's KL reference stays that model); OUT gets the merged model and OUT/adapter the PEFT adapter"`
	LoRAAlpha   float64 `yaml:"lora_alpha" flag:"lora-alpha" usage:"LoRA scale numerator: adapters are scaled by alpha/rank (default 2×rank)"`
	LoRATargets string  `yaml:"lora_targets" flag:"lora-targets" usage:"projections to adapt: all-linear (the default), or a list such as q_proj,v_proj"`
	// GradientCheckpointing keeps only each layer's output through the
	// forward pass and recomputes the rest for the backward pass: activation
	// memory of one layer instead of all, for about a third more compute,
	// with bit-identical losses.
	GradientCheckpointing bool `yaml:"gradient_checkpointing" flag:"gradient-checkpointing" usage:"keep only each layer's output and recompute the rest in the backward pass: far less activation memory, about a third more compute, the same losses"`
}

// FillLoRA checks the LoRA options and sets the default alpha (2·rank).
func (o *Options) FillLoRA() error {
	l := o.Config("", 0).LoRA
	if err := l.Fill(); err != nil {
		return err
	}
	o.LoRAAlpha = l.Alpha
	return nil
}

// Config is the loop's configuration of these options for a run whose
// schedule lasts total updates and whose adapters (with LoRA) adapt the
// checkpoint or preset base; the caller fills in the rest.
func (o *Options) Config(base string, total int) Config {
	return Config{
		GradientCheckpointing: o.GradientCheckpointing,
		LoRA:                  LoRA{Rank: o.LoRARank, Alpha: o.LoRAAlpha, Targets: o.LoRATargets, Base: base},
		WeightDecay:           o.WeightDecay,
		MaxGradNorm:           o.MaxGradNorm,
		Schedule:              Schedule{Kind: o.Schedule, Peak: o.LR, Warmup: o.WarmupSteps, Total: total, MinRatio: o.MinLRRatio},
		SaveEvery:             o.SaveEvery,
		KeepCheckpoints:       o.KeepCheckpoints,
	}
}
