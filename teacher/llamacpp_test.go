package teacher

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenAIRecordedLlamaCpp parses the responses recorded from
// llama-cpp-python's server (testdata/README.md): the reasoning comes out
// of the <think> tags in the content, streamed or not; a stream cut by
// max_tokens keeps its reasoning so far with an empty answer; and a stream
// the server interrupted for a newer request ([DONE] without a
// finish_reason) is a retryable error, not an empty answer.
func TestOpenAIRecordedLlamaCpp(t *testing.T) {
	for _, tc := range []struct {
		file               string
		reasoning, content string
		finish             string
		usage              Usage
		retryable          bool // the response is a retryable error
	}{
		{"chat.json", "12 + 34 = 46", `\boxed{46}`, "stop", Usage{PromptTokens: 35, CompletionTokens: 28}, false},
		{"chat.sse", "12 + 34 = 46", `\boxed{46}`, "stop", Usage{}, false},
		{"length.sse", "12 + 3", "", "length", Usage{}, false},
		{"interrupted.sse", "", "", "", Usage{}, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "llamacpp", tc.file)
			srv := serveFile(t, path)
			c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "arith-nano", Stream: strings.HasSuffix(path, ".sse")})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "What is 12 + 34?"}}, Temperature: 0.6, TopP: 0.95, MaxTokens: 64})
			if tc.retryable {
				var e *Error
				if !errors.As(err, &e) || !e.Retryable || e.Kind != "stream" {
					t.Fatalf("err %v (%+v), want a retryable stream error", err, resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Reasoning != tc.reasoning || resp.Content != tc.content || resp.FinishReason != tc.finish || resp.Model != "arith-nano" {
				t.Errorf("reasoning %q content %q finish %q model %q, want %q %q %q arith-nano", resp.Reasoning, resp.Content, resp.FinishReason, resp.Model, tc.reasoning, tc.content, tc.finish)
			}
			if resp.Usage.PromptTokens != tc.usage.PromptTokens || resp.Usage.CompletionTokens != tc.usage.CompletionTokens {
				t.Errorf("usage %+v, want %+v", resp.Usage, tc.usage)
			}
		})
	}
}
