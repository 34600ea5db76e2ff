package report

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distill-dev/distill/record"
)

// Manifest is what the report reads of a generation manifest
// (sampler's manifest.json, one per shard of an array job).
type Manifest struct {
	File    string        `json:"-"`
	Teacher string        `json:"teacher"`
	Model   string        `json:"model"`
	Prompts string        `json:"prompts"`
	Shard   string        `json:"shard"`
	Samples int           `json:"samples"`
	Params  record.Params `json:"params"`
	Seconds float64       `json:"seconds"`
	Stopped string        `json:"stopped"`
	Counts  struct {
		Planned   int64 `json:"planned"`
		Written   int64 `json:"written"`
		Succeeded int64 `json:"succeeded"`
		Failed    int64 `json:"failed"`
		Remaining int64 `json:"remaining"`
		Requests  int64 `json:"requests"`
		Retries   int64 `json:"retries"`
	} `json:"counts"`
	Tokens struct {
		Prompt     int64 `json:"prompt"`
		Completion int64 `json:"completion"`
		Reasoning  int64 `json:"reasoning"`
	} `json:"tokens"`
	Cost           float64          `json:"cost"`
	LatencyMS      map[string]int64 `json:"latency_ms"`
	FailuresByKind map[string]int64 `json:"failures_by_kind"`
	PerSecond      struct {
		Completions float64 `json:"completions"`
		Tokens      float64 `json:"tokens"`
	} `json:"per_second"`
}

// TraceFiles are the raw trace journals.
type TraceFiles struct {
	Files int
	Bytes int64 // on disk (compressed when .zst)
}

func (r *Run) loadGenerate() {
	dir := filepath.Join(r.Dir, RawDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		r.missing("generate: no %s/ directory", RawDir)
		return
	}
	if err != nil {
		r.problem(err)
		return
	}
	var manifests []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
		case strings.HasPrefix(name, "manifest") && strings.HasSuffix(name, ".json"):
			manifests = append(manifests, name)
		case strings.HasPrefix(name, "traces-") && (strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".jsonl.zst")):
			r.Traces.Files++
			if fi, err := e.Info(); err == nil {
				r.Traces.Bytes += fi.Size()
			}
		}
	}
	sort.Strings(manifests)
	for _, name := range manifests {
		m := &Manifest{File: name}
		if err := readJSON(filepath.Join(dir, name), m); err != nil {
			r.problem(err)
			continue
		}
		r.Generate = append(r.Generate, m)
	}
	if len(manifests) == 0 {
		r.missing("generate: no manifest.json in %s/ (generation did not finish a run)", RawDir)
	}
}
