// Package python holds the Python distill hands to existing engines (the
// TRL jobs, and the reward shim they and verl call) and the pinned versions
// of what it needs, embedded so that the binary writes self-contained jobs.
//
// It imports nothing of ours.
package python

import "embed"

// Files are the engine scripts, the reward shim and the lock of their
// versions, by their paths in this directory.
//
//go:embed engine/*.py distill_reward.py requirements.lock
var Files embed.FS

// EngineScripts lists the files (paths in Files) a job of kind ("sft" or
// "grpo") runs.
func EngineScripts(kind string) []string {
	files := []string{"engine/" + kind + ".py", "engine/distill_engine.py"}
	if kind == "grpo" {
		files = append(files, "distill_reward.py")
	}
	return files
}
