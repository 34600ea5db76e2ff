// Package reward holds the rule-based reward functions of GRPO (accuracy
// through dataset/verify, format, language consistency, length) and the
// registry that names them. The Go GRPO (student/rl), `distill eval` and
// `distill reward-server` all judge completions through it, so every engine
// gets the same rewards.
//
// Of ours it may import only `dataset/verify` and `record`.
package reward

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/distill-dev/distill/record"
)

// Sample is one sampled completion, as the reward functions see it.
type Sample struct {
	Prompt       record.Prompt
	Content      string // the decoded completion (with "<think>\n" restored when the template opened it)
	FinishReason string // "stop" or "length"
	Tokens       int    // completion tokens, stop token included (0: unknown)
	MaxTokens    int    // the generation limit (0: unknown)
}

// Func scores one completion. Functions are plain and stateless so that the
// registry can be shared by concurrent runs.
type Func func(s *Sample) float64

// ErrUnknown is returned for a reward name nobody registered.
var ErrUnknown = errors.New("unknown reward")

var (
	mu    sync.RWMutex
	funcs = map[string]Func{}
)

// Register makes f available under name, replacing any earlier one.
func Register(name string, f Func) {
	mu.Lock()
	defer mu.Unlock()
	funcs[name] = f
}

// Lookup returns the reward registered under name.
func Lookup(name string) (Func, error) {
	mu.RLock()
	defer mu.RUnlock()
	if f, ok := funcs[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("reward %q: %w (have %s)", name, ErrUnknown, strings.Join(namesLocked(), ", "))
}

// Names lists the registered rewards, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
