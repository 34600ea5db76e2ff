package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/distill-dev/distill/student/lora"
)

// ErrNonFinite stops a run whose loss became NaN or Inf.
var ErrNonFinite = errors.New("loss is not finite")

// Method is a training method the loop drives, one update step at a time.
type Method[M any] interface {
	// Step computes one update step: it advances s's data position and
	// token count, fills the graph's gradients and calls u.Apply for each
	// optimiser update it makes (SFT one, GRPO one per iteration, or none
	// when no group carries a signal). It returns the step's metrics. A
	// step stopped by ctx returns ctx.Err() and leaves s as it found it.
	Step(ctx context.Context, s *State, u *Update) (M, error)
	// Finish completes the metrics of a finished step with the loop's count
	// p (and whatever the method measures after the update, such as a
	// held-out loss); the loop writes what it returns to metrics.jsonl.
	Finish(m M, p Progress) (M, error)
}

// Progress is the loop's count after an update step.
type Progress struct {
	Step      int     // update steps done
	Epoch     int     // of the next row
	Tokens    int64   // processed so far
	TokensSec float64 // of this run
	Elapsed   float64 // seconds of this run
}

// Update applies a step's gradients to the trainable parameters.
type Update struct {
	LR   float64 // the schedule's learning rate for this step
	t    *Trainer
	loss float64
}

// Update starts an update step at learning rate lr.
func (t *Trainer) Update(lr float64) *Update { return &Update{LR: lr, t: t} }

// Apply refuses a non-finite loss with ErrNonFinite, else clips the
// gradients to the configured norm and makes one AdamW update at u.LR. It
// returns the gradient norm before clipping.
func (u *Update) Apply(loss float64) (gradNorm float64, err error) {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("%w (%v)", ErrNonFinite, loss)
	}
	u.loss = loss
	norm := clipGradNorm(u.t.grads, u.t.cfg.MaxGradNorm)
	u.t.opt.Update(u.t.params, u.t.grads, u.LR)
	return norm, nil
}

// Summary is what Run did.
type Summary struct {
	Steps      int    // update steps of this run (a resumed run's earlier ones excluded)
	Checkpoint string // the final checkpoint, published into OUT; "" when no step was ever done
}

// Run trains until the schedule's total steps are done, ctx is cancelled or
// MaxTime has passed, logging each step to OUT/metrics.jsonl (onStep, if not
// nil, sees it too) and checkpointing every SaveEvery steps, keeping the
// newest KeepCheckpoints. It then checkpoints the final (or interrupted)
// state and publishes the model into OUT: with LoRA the merged model, and
// the adapter in OUT/adapter. It returns ctx.Err() after a clean stop.
func Run[M any](ctx context.Context, t *Trainer, m Method[M], onStep func(m M, total int)) (Summary, error) {
	c := &t.cfg
	s := &t.State
	var sum Summary
	total := c.Schedule.Total
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return sum, err
	}
	ml, err := OpenMetrics[M](filepath.Join(c.Out, "metrics.jsonl"), s.Step)
	if err != nil {
		return sum, err
	}
	defer ml.Close()
	start := time.Now()
	tokensAtStart, secondsAtStart := s.Tokens, s.Seconds
	lastGood := t.resumeDir
	for s.Step < total {
		if ctx.Err() != nil {
			break
		}
		if c.MaxTime > 0 && secondsAtStart+time.Since(start).Seconds() >= c.MaxTime.Seconds() {
			c.logf("--max-time %s reached after %d updates", c.MaxTime, s.Step)
			break
		}
		u := t.Update(c.Schedule.LR(s.Step))
		met, err := m.Step(ctx, s, u)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				break
			}
			if errors.Is(err, ErrNonFinite) {
				where := "no checkpoint was written yet"
				if lastGood != "" {
					where = "the last good checkpoint is " + lastGood
				}
				return sum, fmt.Errorf("update %d: %w; %s; try a lower --lr", s.Step+1, err, where)
			}
			return sum, err
		}
		s.Step++
		s.LastLoss = u.loss
		sum.Steps++
		el := time.Since(start).Seconds()
		s.Seconds = secondsAtStart + el
		met, err = m.Finish(met, Progress{Step: s.Step, Epoch: s.Epoch, Tokens: s.Tokens,
			TokensSec: float64(s.Tokens-tokensAtStart) / math.Max(el, 1e-9), Elapsed: el})
		if err != nil {
			return sum, err
		}
		if err := ml.Write(met); err != nil {
			return sum, err
		}
		if onStep != nil {
			onStep(met, total)
		}
		if c.SaveEvery > 0 && s.Step%c.SaveEvery == 0 && s.Step < total {
			if lastGood, err = t.save(); err != nil {
				return sum, err
			}
		}
	}
	if s.Step == 0 {
		return sum, ctx.Err()
	}
	// The final (or interrupted) state: a resumable checkpoint, and the
	// model itself in OUT, where eval, rl and transformers look for it.
	if sum.Steps > 0 {
		if lastGood, err = t.save(); err != nil {
			return sum, err
		}
	}
	sum.Checkpoint = lastGood
	if t.Adapters != nil {
		err = publishLoRA(t.Student, t.Adapters, c.Gen, lastGood, c.Out)
	} else {
		err = publish(lastGood, c.Out)
	}
	if err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

// save writes a resumable checkpoint, the model (or, with LoRA, only the
// adapters), the optimiser and the state, and removes the oldest beyond
// KeepCheckpoints.
func (t *Trainer) save() (string, error) {
	c := &t.cfg
	dir := filepath.Join(c.Out, "checkpoints", fmt.Sprintf("step-%08d", t.State.Step))
	var err error
	if t.Adapters != nil {
		err = lora.Save(dir, t.Adapters)
	} else {
		err = t.Student.Save(dir, c.Gen)
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := saveState(dir, t.State, t.opt, t.params); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	dirs, err := CheckpointDirs(c.Out)
	if err != nil {
		return "", err
	}
	for len(dirs) > c.KeepCheckpoints {
		if err := os.RemoveAll(dirs[0]); err != nil {
			return "", err
		}
		dirs = dirs[1:]
	}
	return dir, nil
}
