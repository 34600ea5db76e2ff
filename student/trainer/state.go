package trainer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/student/model"
	"github.com/distill-dev/distill/student/safetensors"
)

// State is what a checkpoint needs beyond the weights to resume exactly:
// the update step, the data position and the optimiser's moments.
type State struct {
	Step     int     `json:"step"`      // updates done
	Epoch    int     `json:"epoch"`     // epoch of the next row
	Row      int     `json:"row"`       // next row within the epoch
	Tokens   int64   `json:"tokens"`    // tokens processed
	Seed     uint64  `json:"seed"`      // data order seed; a resume with another seed is refused
	LastLoss float64 `json:"last_loss"` // loss of the last update
	// Seconds of training up to this state, over every run that resumed
	// it: --max-time bounds this sum, so an interrupted run does not get
	// its whole budget again.
	Seconds float64 `json:"seconds"`
}

const (
	stateFile     = "trainer_state.json"
	optimizerFile = "optimizer.safetensors"
)

// saveState writes the state and the optimiser's moments into dir.
func saveState(dir string, st State, opt *adamW, params []model.Named) error {
	var ts []safetensors.NamedTensor
	for i, p := range params {
		ts = append(ts,
			safetensors.NamedTensor{Name: p.Name + ".exp_avg", Shape: p.Tensor.Shape, Data: opt.M[i]},
			safetensors.NamedTensor{Name: p.Name + ".exp_avg_sq", Shape: p.Tensor.Shape, Data: opt.V[i]})
	}
	meta := map[string]string{"step": fmt.Sprint(opt.Step)}
	if err := safetensors.Write(filepath.Join(dir, optimizerFile), ts, meta); err != nil {
		return err
	}
	// Written last: a checkpoint counts only once its state file exists
	// whole, which after a power cut means once it reached the disk.
	return atomicfile.WriteJSON(filepath.Join(dir, stateFile), st)
}

// loadState reads what saveState wrote into opt (its moments, in params'
// order) and returns the state.
func loadState(dir string, opt *adamW, params []model.Named) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	f, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return st, err
	}
	defer f.Close()
	for i, p := range params {
		for _, mv := range []struct {
			suffix string
			dst    []float32
		}{{".exp_avg", opt.M[i]}, {".exp_avg_sq", opt.V[i]}} {
			data, _, err := f.Float32(p.Name + mv.suffix)
			if err != nil {
				return st, fmt.Errorf("%s: %w", filepath.Join(dir, optimizerFile), err)
			}
			if len(data) != len(mv.dst) {
				return st, fmt.Errorf("%s: %s has %d values, want %d", optimizerFile, p.Name+mv.suffix, len(data), len(mv.dst))
			}
			copy(mv.dst, data)
		}
	}
	opt.Step = int64(st.Step)
	return st, nil
}

// CheckpointDirs lists the complete checkpoints OUT/checkpoints/step-*,
// oldest first.
func CheckpointDirs(out string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(out, "checkpoints"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			if _, err := os.Stat(filepath.Join(out, "checkpoints", e.Name(), stateFile)); err == nil {
				dirs = append(dirs, filepath.Join(out, "checkpoints", e.Name()))
			}
		}
	}
	sort.Strings(dirs) // step-%08d sorts by step
	return dirs, nil
}
