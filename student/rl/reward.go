// Package rl improves a student with GRPO (DeepSeekMath, DeepSeek-R1):
// groups of completions sampled from the current policy, rule-based rewards
// normalised within each group into advantages, and the clipped ratio
// objective with a KL penalty to the frozen starting model, aggregated over
// all completion tokens of a batch.
package rl

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
	Tokens       int    // completion tokens, stop token included
	MaxTokens    int    // the generation limit (--max-new-tokens)
}

// RewardFunc scores one completion. Functions are plain and stateless so
// that the registry can be shared by concurrent runs.
type RewardFunc func(s *Sample) float64

// ErrUnknownReward is returned for a reward name nobody registered.
var ErrUnknownReward = errors.New("unknown reward")

var (
	rewardMu sync.RWMutex
	rewards  = map[string]RewardFunc{}
)

// RegisterReward makes f available under name, replacing any earlier one.
func RegisterReward(name string, f RewardFunc) {
	rewardMu.Lock()
	defer rewardMu.Unlock()
	rewards[name] = f
}

// LookupReward returns the reward registered under name.
func LookupReward(name string) (RewardFunc, error) {
	rewardMu.RLock()
	defer rewardMu.RUnlock()
	if f, ok := rewards[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("reward %q: %w (have %s)", name, ErrUnknownReward, strings.Join(rewardNamesLocked(), ", "))
}

// RewardNames lists the registered rewards, sorted.
func RewardNames() []string {
	rewardMu.RLock()
	defer rewardMu.RUnlock()
	return rewardNamesLocked()
}

func rewardNamesLocked() []string {
	names := make([]string, 0, len(rewards))
	for n := range rewards {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// weighted is a reward in use with its weight.
type weighted struct {
	name   string
	f      RewardFunc
	weight float64
}

// resolveRewards looks up the configured rewards, in name order so that
// metrics and sums are deterministic. Zero weights are dropped.
func resolveRewards(ws map[string]float64) ([]weighted, error) {
	var out []weighted
	for name, w := range ws {
		f, err := LookupReward(name)
		if err != nil {
			return nil, fmt.Errorf("rewards: %w", err)
		}
		if w != 0 {
			out = append(out, weighted{name, f, w})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("rewards: no reward with a non-zero weight")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
