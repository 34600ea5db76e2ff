// Package report reads a run directory, as `distill run` writes it or as the
// stages run alone fill it, and writes report.html with PNG plots and the
// stats of every stage. It only reads files, so it must not be imported by
// the stage packages; it uses their exported record types.
//
// Of ours it may import only `dataset`, `internal/atomicfile`,
// `internal/tokens`, `sampler`, `student/eval` and `student/train`.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Stage directories of a run, relative to RUN_DIR.
const (
	RawDir  = "raw"
	DataDir = "data"
	SFTDir  = "sft"
	EvalDir = "eval"
)

// RLStages are the GRPO runs of the pipeline: after SFT, and from scratch.
var RLStages = []string{"rl", "rl-only"}

// EvalStages are the subjects `distill run` evaluates, in the order of the
// R1 report's comparison.
var EvalStages = []string{"teacher", "base", "sft", "rl", "rl-only"}

// Run is everything the report shows. A nil or empty field is a stage that
// has not run (or not into this directory); Missing says which, in words.
type Run struct {
	Dir      string
	Record   *Record      // run.json
	Results  string       // results.md
	Generate []*Manifest  // one per shard manifest in raw/
	Traces   TraceFiles   // raw/traces-*
	Data     *DataStats   // data/stats.json and the shards
	SFT      *SFTRun      // sft/metrics.jsonl
	RL       []*RLRun     // rl/ and rl-only/ metrics.jsonl, in RLStages order
	Evals    []*EvalStage // eval/*/results.json, EvalStages first
	Loaded   time.Time    // when Load read the directory

	// Missing names the stages (or their files) that are not in Dir.
	Missing []string
	// Problems are files that exist but could not be read in full (a torn
	// last line of a log of a run that was killed, a malformed JSON file):
	// the report shows what it could read and says what it skipped.
	Problems []string
}

func (r *Run) missing(format string, args ...any) {
	r.Missing = append(r.Missing, fmt.Sprintf(format, args...))
}

func (r *Run) problem(err error) {
	r.Problems = append(r.Problems, err.Error())
}

// Record is run.json: what `distill run` ran, how long, with which settings.
type Record struct {
	Config  string                 `json:"config"`
	Started time.Time              `json:"started"`
	Stages  map[string]StageRecord `json:"stages"`
	Order   []string               `json:"order"`
}

// StageRecord is one stage of run.json.
type StageRecord struct {
	Done bool `json:"done"`
	// Seconds the stage ran, summed over the attempts an interruption
	// split it into.
	Seconds float64 `json:"seconds"`
	Command string  `json:"command"`
}

// ErrNotRunDir is returned when RUN_DIR is not a directory.
var ErrNotRunDir = errors.New("not a run directory")

// Load reads what there is of the run in dir. Only a dir that cannot be
// read is an error; missing stages and unreadable files are noted in the
// Run.
func Load(ctx context.Context, dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: %s: %w", dir, ErrNotRunDir)
	}
	r := &Run{Dir: dir, Loaded: time.Now().UTC()}
	r.loadRecord()
	r.loadGenerate()
	if err := r.loadData(ctx); err != nil {
		return nil, err
	}
	r.loadSFT()
	r.loadRL()
	r.loadEvals()
	return r, nil
}

func (r *Run) loadRecord() {
	p := filepath.Join(r.Dir, "run.json")
	var rec Record
	switch err := readJSON(p, &rec); {
	case errors.Is(err, os.ErrNotExist):
		r.missing("run.json: the stages were not run by distill run (no timings or commands)")
	case err != nil:
		r.problem(err)
	default:
		r.Record = &rec
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, "results.md"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.missing("results.md: no summary table (distill run writes it at the end)")
	case err != nil:
		r.problem(err)
	default:
		r.Results = string(b)
	}
}

// readJSON decodes the JSON file at path into v; errors name the file.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
