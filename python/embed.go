// Package python embeds the Python files distill writes into the jobs it
// hands to other engines (TRL, verl), so the binary carries them.
package python

import "embed"

// Files are the embedded Python files, by their names in this directory.
//
//go:embed distill_reward.py
var Files embed.FS
