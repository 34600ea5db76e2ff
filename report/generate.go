package report

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distill-dev/distill/sampler"
)

// Manifest is a generation manifest (one per shard of an array job) and
// the file it was read from.
type Manifest struct {
	File string `json:"-"`
	sampler.Manifest
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
