package report

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/distill-dev/distill/student/eval"
)

// EvalStage is eval/STAGE/results.json.
type EvalStage struct {
	Stage string `json:"-"`
	eval.Results
}

// Sources are the prompt sources of the results, sorted.
func (e *EvalStage) Sources() []string {
	var out []string
	for s := range e.BySource {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (r *Run) loadEvals() {
	dir := filepath.Join(r.Dir, EvalDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		r.problem(err)
	}
	// The pipeline's stages in their order, then any other evaluation
	// someone ran into eval/ by hand.
	stages := slices.Clone(EvalStages)
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(stages, e.Name()) {
			stages = append(stages, e.Name())
		}
	}
	for _, stage := range stages {
		res := &EvalStage{Stage: stage}
		switch err := readJSON(filepath.Join(dir, stage, "results.json"), res); {
		case errors.Is(err, os.ErrNotExist):
			if slices.Contains(EvalStages, stage) {
				r.missing("eval (%s): no %s/%s/results.json", stage, EvalDir, stage)
			}
		case err != nil:
			r.problem(err)
		default:
			r.Evals = append(r.Evals, res)
		}
	}
}
