package train

import "github.com/distill-dev/distill/student/model"

// The checkpoint plumbing of the SFT trainer, exported for the other
// trainers of a student (GRPO in student/rl) so that every checkpoint
// directory has one layout: model files, trainer_state.json and
// optimizer.safetensors under OUT/checkpoints/step-N, the model published
// into OUT.

// SaveState writes the trainer state and the optimiser moments into the
// checkpoint directory dir (the state file last, renamed into place).
func SaveState(dir string, st State, opt *AdamW, params []model.Named) error {
	return saveState(dir, st, opt, params)
}

// LoadState reads what SaveState wrote into opt and returns the state.
func LoadState(dir string, opt *AdamW, params []model.Named) (State, error) {
	return loadState(dir, opt, params)
}

// CheckpointDirs lists the complete checkpoints OUT/checkpoints/step-*,
// oldest first.
func CheckpointDirs(out string) ([]string, error) { return checkpointDirs(out) }

// Publish copies a checkpoint's model files into out, each renamed into
// place, leaving the trainer's state behind.
func Publish(ckpt, out string) error { return publish(ckpt, out) }

// TruncateMetrics drops the lines of a metrics.jsonl whose "step" is past
// step (all of them for step 0), so that a resumed run does not log an
// update twice.
func TruncateMetrics(path string, step int) error { return truncateMetrics(path, step) }
