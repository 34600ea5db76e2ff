package trainer

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate at an update step: linear warmup to the
// peak, then a cosine or linear decay to MinRatio×peak at Total, or constant.
type Schedule struct {
	Kind     string // cosine, linear, constant
	Peak     float64
	Warmup   int
	Total    int
	MinRatio float64
}

// ParseScheduleKind checks a --schedule value.
func ParseScheduleKind(s string) error {
	switch s {
	case "cosine", "linear", "constant":
		return nil
	}
	return fmt.Errorf("--schedule %q: want cosine, linear or constant", s)
}

// LR is the rate for update step (0-based).
func (s Schedule) LR(step int) float64 {
	if s.Warmup > 0 && step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	if s.Kind == "constant" || s.Total <= s.Warmup {
		return s.Peak
	}
	p := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	p = math.Min(1, math.Max(0, p))
	var f float64
	switch s.Kind {
	case "linear":
		f = 1 - p
	default:
		f = 0.5 * (1 + math.Cos(math.Pi*p))
	}
	return s.Peak * (s.MinRatio + (1-s.MinRatio)*f)
}
