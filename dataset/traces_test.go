package dataset

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// builtinTraces answers nPrompts problems of the builtin arithmetic suite
// samples times each with the real builtin teacher, whose default
// imperfection rates give every filter work.
func builtinTraces(t testing.TB, nPrompts, samples int) []record.Trace {
	t.Helper()
	suite, err := teacher.OpenSuite("builtin:arith:all", 7)
	if err != nil {
		t.Fatal(err)
	}
	cfg := teacher.DefaultBuiltinConfig()
	cfg.Seed = 11
	tch := teacher.NewBuiltin(cfg)
	var out []record.Trace
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < nPrompts; i++ {
		p := suite.At(i)
		for s := 0; s < samples; s++ {
			seed := int64(s)
			req := teacher.Request{Model: "builtin", Messages: []teacher.Message{{Role: "user", Content: p.Problem}},
				Temperature: 0.6, TopP: 0.95, MaxTokens: 4096, Seed: &seed}
			resp, err := tch.Complete(context.Background(), req)
			tr := record.Trace{PromptID: p.ID, Sample: s, Prompt: p.Problem, Reference: p.Answer, Task: p.Task,
				Source: p.Source, Teacher: "builtin", Model: resp.Model,
				Params:    record.Params{Temperature: 0.6, TopP: 0.95, MaxTokens: 4096, Seed: &seed},
				Reasoning: resp.Reasoning, Content: resp.Content, FinishReason: resp.FinishReason,
				Usage: record.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
					ReasoningTokens: resp.Usage.ReasoningTokens},
				LatencyMS: 1, Attempts: 1, CreatedAt: created}
			if err != nil {
				tr.Error = err.Error()
			}
			out = append(out, tr)
		}
	}
	return out
}

func writeJSONL(t testing.TB, path string, traces []record.Trace) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for i := range traces {
		if err := enc.Encode(&traces[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readStats(t testing.TB, dir string) *Stats {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}
