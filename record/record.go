// Package record holds the small record types that cross stage boundaries:
// prompts and raw traces.
//
// It imports nothing of ours.
package record

import "time"

// Prompt is one problem to pose to a teacher or a student.
type Prompt struct {
	ID      string `json:"id"`
	Problem string `json:"problem"`
	Answer  string `json:"answer"` // reference answer, may be empty
	Source  string `json:"source"`
	Task    string `json:"task"`            // math, gsm8k, choice, builtin:arith, ...
	Level   string `json:"level,omitempty"` // difficulty where the set has one (builtin suites, MATH)
}

// Params are the sampling parameters of a request.
type Params struct {
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	MaxTokens   int     `json:"max_tokens"`
	Seed        *int64  `json:"seed,omitempty"`
}

// Usage counts tokens as the teacher reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	ReasoningTokens  int `json:"reasoning_tokens"`
}

// Trace is one raw teacher answer: one JSON line per (prompt_id, sample).
type Trace struct {
	PromptID     string    `json:"prompt_id"`
	Sample       int       `json:"sample"`
	Prompt       string    `json:"prompt"` // the full user message sent
	Reference    string    `json:"reference"`
	Task         string    `json:"task"`
	Source       string    `json:"source"`
	Teacher      string    `json:"teacher"`
	Model        string    `json:"model"`
	Params       Params    `json:"params"`
	Reasoning    string    `json:"reasoning"`
	Content      string    `json:"content"`
	FinishReason string    `json:"finish_reason"`
	Usage        Usage     `json:"usage"`
	LatencyMS    int64     `json:"latency_ms"`
	Attempts     int       `json:"attempts"`
	Error        string    `json:"error"`
	CreatedAt    time.Time `json:"created_at"`
	// Batch marks an answer imported from a batch file: its tokens cost
	// the batch prices.
	Batch bool `json:"batch,omitempty"`
}
