package rl

// Stat is a mean and standard deviation over the completions of a step.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Metric is one line of metrics.jsonl, one per update step.
type Metric struct {
	Step          int             `json:"step"`
	Epoch         int             `json:"epoch"`
	Loss          float64         `json:"loss"`
	Reward        Stat            `json:"reward"`  // the weighted sum
	Rewards       map[string]Stat `json:"rewards"` // per reward function, unweighted
	ZeroStdGroups float64         `json:"frac_reward_zero_std"`
	Skipped       int             `json:"skipped_groups"` // prompts skipped for an unverifiable reference
	GenBatches    int             `json:"gen_batches"`    // batches of prompts sampled (more than one with dynamic sampling)
	ClipFrac      float64         `json:"clip_ratio"`
	KL            float64         `json:"kl"` // mean k3 to the reference over completion tokens (0 with beta 0: no reference)
	CompLen       float64         `json:"completion_length"`
	Truncated     float64         `json:"frac_truncated"`
	LR            float64         `json:"lr"`
	GradNorm      float64         `json:"grad_norm"`
	Tokens        int64           `json:"tokens"`         // prompt+completion tokens sampled so far
	TokensSec     float64         `json:"tokens_per_sec"` // of this run: sampled and trained tokens per second
	GenSec        float64         `json:"generate_sec"`   // this step's sampling time
	TrainSec      float64         `json:"train_sec"`      // this step's reference, forward and backward time
	Elapsed       float64         `json:"elapsed_sec"`
}
