package sampler

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
)

// Summary is the outcome of one Run.
type Summary struct {
	Stats
	Stopped        string           // "complete", "budget", "interrupted", "error", or "batch_import" (ImportBatch)
	Journal        string           // the file this run wrote, "" if it wrote nothing
	Manifest       string           // path of the manifest
	FailuresByKind map[string]int64 // this run's failed records by kind
	LatencyMS      map[string]int64 // p50, p90, p99, max of successful requests
	Adaptive       *Adaptive        // with UntilCorrect
	Batch          *BatchImport     // of ImportBatch
}

// Remaining is how many pairs are still to do (with UntilCorrect, at most).
func (s Summary) Remaining() int64 {
	if s.Adaptive != nil {
		return s.Total - s.Done() - s.Adaptive.SamplesSaved
	}
	return s.Total - s.Done()
}

// manifestName is per shard, so the jobs of an array can share DIR.
func manifestName(s Shard) string {
	if s.Count <= 1 {
		return "manifest.json"
	}
	return fmt.Sprintf("manifest-s%05dof%05d.json", s.Index, s.Count)
}

// Manifest is manifest.json (manifest-sIofN.json for a shard): the run's
// configuration without secrets, counts, tokens, cost, latency percentiles
// and failures by kind. The report reads it back.
type Manifest struct {
	Version    int           `json:"version"`
	Config     any           `json:"config,omitempty"`
	Teacher    string        `json:"teacher"`
	Model      string        `json:"model"`
	Template   fingerprint   `json:"template"`
	Prompts    string        `json:"prompts"`
	Shard      string        `json:"shard"`
	Samples    int           `json:"samples"`
	PerRequest int           `json:"samples_per_request"`
	Params     record.Params `json:"params"`
	Budget     Budget        `json:"budget"`
	StartedAt  time.Time     `json:"started_at"`
	EndedAt    time.Time     `json:"ended_at"`
	Seconds    float64       `json:"seconds"`
	Stopped    string        `json:"stopped"`
	Journal    string        `json:"journal,omitempty"`

	Counts struct {
		Planned       int64 `json:"planned"`
		DoneBefore    int64 `json:"done_before"`
		Written       int64 `json:"written"`
		Succeeded     int64 `json:"succeeded"`
		Failed        int64 `json:"failed"`
		Remaining     int64 `json:"remaining"`
		Requests      int64 `json:"requests"`
		Retries       int64 `json:"retries"`
		Short         int64 `json:"short_answers,omitempty"` // requests answered with fewer samples than asked for
		RetriedFailed int64 `json:"retried_failed,omitempty"`
	} `json:"counts"`
	Tokens struct {
		Prompt           int64 `json:"prompt"`
		Completion       int64 `json:"completion"`
		Reasoning        int64 `json:"reasoning"`
		PromptBefore     int64 `json:"prompt_before"`
		CompletionBefore int64 `json:"completion_before"`
		BatchPrompt      int64 `json:"batch_prompt,omitempty"`
		BatchCompletion  int64 `json:"batch_completion,omitempty"`
	} `json:"tokens"`
	Cost           float64          `json:"cost"`
	LatencyMS      map[string]int64 `json:"latency_ms"`
	FailuresByKind map[string]int64 `json:"failures_by_kind"`
	// Adaptive is what --until-correct saved against fixed sampling.
	Adaptive *Adaptive `json:"adaptive,omitempty"`
	// Batch is what a batch import read and merged; its tokens are priced
	// at the batch prices (Budget), and Tokens.Batch* hold the directory's.
	Batch     *BatchImport `json:"batch_import,omitempty"`
	PerSecond struct {
		Completions float64 `json:"completions"`
		Tokens      float64 `json:"tokens"`
	} `json:"per_second"`
}

func (j *Job) summary(stopped, journal string, started time.Time) Summary {
	return Summary{
		Stats:          j.Stats(),
		Stopped:        stopped,
		Journal:        journal,
		Manifest:       filepath.Join(j.cfg.Out, manifestName(j.cfg.Shard)),
		FailuresByKind: j.c.failuresByKind(),
		LatencyMS:      j.c.latencies(),
	}
}

func (j *Job) writeManifest(s Summary) error {
	m := Manifest{
		Version: 1, Config: j.cfg.Settings, Teacher: j.cfg.TeacherName, Model: j.cfg.Model, Template: j.fp,
		Prompts: j.cfg.Prompts.Name(), Shard: j.cfg.Shard.String(), Samples: j.cfg.Samples, PerRequest: j.cfg.SamplesPerRequest, Params: j.cfg.Params,
		Budget: j.cfg.Budget, StartedAt: time.Unix(0, j.start.Load()).UTC(), EndedAt: time.Now().UTC(), Seconds: s.Elapsed.Seconds(),
		Stopped: s.Stopped, Journal: s.Journal, Cost: s.Cost, LatencyMS: s.LatencyMS, FailuresByKind: s.FailuresByKind, Adaptive: s.Adaptive, Batch: s.Batch,
	}
	m.Counts.Planned, m.Counts.DoneBefore, m.Counts.Written = s.Total, s.DoneBefore, s.Written
	m.Counts.Succeeded, m.Counts.Failed, m.Counts.Remaining = s.Succeeded, s.Failed, s.Remaining()
	m.Counts.Requests, m.Counts.Retries, m.Counts.RetriedFailed, m.Counts.Short = s.Requests, s.Retries, j.before.retried, s.Short
	m.Tokens.Prompt, m.Tokens.Completion, m.Tokens.Reasoning = s.PromptTokens, s.CompletionTokens, s.ReasoningTokens
	m.Tokens.PromptBefore, m.Tokens.CompletionBefore = s.PromptTokensBefore, s.CompletionTokensBefore
	m.Tokens.BatchPrompt, m.Tokens.BatchCompletion = s.BatchPromptTokens, s.BatchCompletionTokens
	if sec := s.Elapsed.Seconds(); sec > 0 {
		m.PerSecond.Completions = float64(s.Written) / sec
		m.PerSecond.Tokens = float64(s.PromptTokens+s.CompletionTokens) / sec
	}
	if err := atomicfile.WriteJSON(s.Manifest, m); err != nil {
		return fmt.Errorf("sampler: manifest: %w", err)
	}
	return nil
}
