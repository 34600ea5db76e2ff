package sampler

import (
	"context"
	"fmt"
	"strconv"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// SuitePrompts streams the first N problems of a builtin suite; they are a
// pure function of (suite, seed, index), so nothing is stored.
type SuitePrompts struct {
	suite *teacher.Suite
	n     int
	seed  uint64
}

// OpenSuitePrompts opens a builtin suite such as "builtin:arith".
func OpenSuitePrompts(name string, n int, seed uint64) (*SuitePrompts, error) {
	if n <= 0 {
		return nil, fmt.Errorf("prompts %s: --num-prompts must be positive, got %d", name, n)
	}
	s, err := teacher.OpenSuite(name, seed)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	return &SuitePrompts{suite: s, n: n, seed: seed}, nil
}

func (p *SuitePrompts) Name() string {
	return fmt.Sprintf("%s (n=%d, seed=%d)", p.suite.Name(), p.n, p.seed)
}

// UniqueIDs is true: suite ids carry the seed and the index.
func (p *SuitePrompts) UniqueIDs() bool { return true }

func (p *SuitePrompts) Each(ctx context.Context, fn func(record.Prompt) error) error {
	for i := 0; i < p.n; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		q := p.suite.At(i)
		if err := fn(record.Prompt{ID: q.ID, Problem: q.Problem, Answer: q.Answer, Source: q.Source, Task: q.Task, Level: strconv.Itoa(q.Level)}); err != nil {
			return err
		}
	}
	return nil
}
