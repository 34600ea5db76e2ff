// Package teacher defines the Teacher interface and its implementations: an
// OpenAI-compatible HTTP client, the embedded builtin teacher, and an HTTP
// server that exposes any Teacher.
//
// Of ours it may import only `internal/tokens`. Otherwise a leaf: a
// checkpoint teacher is a type student/local provides and distill wires in.
package teacher

import (
	"context"
	"fmt"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one chat completion request.
type Request struct {
	Model       string
	Messages    []Message
	Temperature float64
	TopP        float64
	MaxTokens   int
	Seed        *int64
}

// Usage is the token accounting of one completion.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	ReasoningTokens  int
}

// Response is one completion, with the reasoning separated from the answer.
type Response struct {
	Model        string
	Reasoning    string
	Content      string
	FinishReason string
	Usage        Usage
}

// Teacher answers chat requests. Implementations must be safe for
// concurrent use.
type Teacher interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Error is a failed request as the server described it. Retryable errors
// (429, 5xx, timeouts, cut streams, malformed bodies) may succeed when sent
// again; the others (400, 401, 402, 422, ...) will not.
type Error struct {
	Status     int    // HTTP status, 0 for transport and parse failures
	Kind       string // short class for counting: "rate_limit", "server", "timeout", "parse", "stream", "client", ...
	Message    string // the server's message
	Retryable  bool
	RetryAfter time.Duration // from Retry-After / Retry-After-Ms, 0 if absent
	Usage      Usage         // tokens billed despite the failure, if known
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("teacher: HTTP %d (%s): %s", e.Status, e.Kind, e.Message)
	}
	return fmt.Sprintf("teacher: %s: %s", e.Kind, e.Message)
}
