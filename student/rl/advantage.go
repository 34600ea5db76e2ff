package rl

import (
	"fmt"
	"math"
)

// Reward scaling modes (--scale-rewards).
const (
	ScaleGroup = "group" // (r - mean) / std within the group (GRPO)
	ScaleNone  = "none"  // r - mean only (Dr. GRPO: no difficulty bias from std)
)

// ParseScale checks a --scale-rewards value.
func ParseScale(s string) error {
	switch s {
	case ScaleGroup, ScaleNone:
		return nil
	}
	return fmt.Errorf("--scale-rewards %q: want group or none", s)
}

// stdEps keeps a group whose rewards barely differ from blowing up (TRL's 1e-4).
const stdEps = 1e-4

// Advantages normalises the rewards of one group (the G completions of a
// prompt): mean-centred, and divided by the sample standard deviation
// (unbiased, as torch.std in TRL) when scale is ScaleGroup. A group whose
// rewards are all equal gets zero advantages: it carries no signal.
func Advantages(rewards []float64, scale string) []float64 {
	n := float64(len(rewards))
	adv := make([]float64, len(rewards))
	if len(rewards) == 0 {
		return adv
	}
	var mean float64
	for _, r := range rewards {
		mean += r
	}
	mean /= n
	for i, r := range rewards {
		adv[i] = r - mean
	}
	if scale == ScaleGroup {
		std := groupStd(rewards, mean)
		for i := range adv {
			adv[i] /= std + stdEps
		}
	}
	return adv
}

// groupStd is the unbiased standard deviation (0 for fewer than 2 values).
func groupStd(x []float64, mean float64) float64 {
	if len(x) < 2 {
		return 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}
