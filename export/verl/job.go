package verl

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/python"
	"github.com/distill-dev/distill/record"
)

// RewardFile is the reward function verl loads (custom_reward_function.path).
const RewardFile = "distill_reward.py"

// Job is a verl GRPO run, in distill rl's terms.
type Job struct {
	Model          string                      // HF checkpoint directory or hub id; "" makes run_grpo.sh ask for $MODEL
	Render         func(problem string) string // the user message of a problem
	TestFraction   float64                     // share of the prompts in test.parquet
	PromptsPerStep int                         // verl's data.train_batch_size (at most the training prompts)
	NumGenerations int                         // the group size G: verl's rollout.n
	MaxNewTokens   int
	Temperature    float64
	LR             float64
	Beta           float64            // KL penalty (0: none)
	Rewards        map[string]float64 // reward name → weight, as distill rl's --reward
	RewardAddr     string             // where run_grpo.sh starts distill reward-server
}

// ErrEmptySplit is returned when the test fraction leaves the train or the
// test split without prompts.
var ErrEmptySplit = errors.New("verl needs prompts in both")

// Result counts the prompts written.
type Result struct{ Train, Test int }

// Write writes dir/train.parquet, dir/test.parquet, dir/distill_reward.py
// and dir/run_grpo.sh.
func Write(dir string, prompts []record.Prompt, job Job) (Result, error) {
	train, test := rows(prompts, job.TestFraction, job.Render)
	res := Result{Train: len(train), Test: len(test)}
	if len(train) == 0 || len(test) == 0 {
		return res, fmt.Errorf("a test fraction of %g puts %d of %d prompts in test and %d in train: %w", job.TestFraction, len(test), len(prompts), len(train), ErrEmptySplit)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := writeParquet(filepath.Join(dir, "train.parquet"), train); err != nil {
		return res, err
	}
	if err := writeParquet(filepath.Join(dir, "test.parquet"), test); err != nil {
		return res, err
	}
	shim, err := python.Files.ReadFile(RewardFile)
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, RewardFile), shim, 0o644); err != nil {
		return res, err
	}
	var sh bytes.Buffer
	if err := writeScript(&sh, job, min(job.PromptsPerStep, len(train))); err != nil {
		return res, err
	}
	return res, os.WriteFile(filepath.Join(dir, "run_grpo.sh"), sh.Bytes(), 0o755)
}
