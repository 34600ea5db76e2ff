// Package python holds the Python distill hands to existing engines (the
// TRL jobs and the reward shim they call) and the pinned versions of what
// it needs, embedded so that the binary writes self-contained jobs.
package python

import "embed"

// Files are the engine scripts and the lock of their versions.
//
//go:embed engine/*.py requirements.lock
var Files embed.FS

// EngineScripts lists the files (paths in Files) a job of kind ("sft" or
// "grpo") runs.
func EngineScripts(kind string) []string {
	return []string{"engine/" + kind + ".py", "engine/distill_engine.py"}
}
