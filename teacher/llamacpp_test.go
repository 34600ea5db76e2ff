package teacher

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenAIRecordedLlamaCpp parses the responses recorded from
// llama-cpp-python's server (testdata/README.md): the reasoning comes out
// of the <think> tags in the content, streamed or not, and a stream cut by
// max_tokens keeps its reasoning so far with an empty answer.
func TestOpenAIRecordedLlamaCpp(t *testing.T) {
	for _, tc := range []struct {
		file               string
		reasoning, content string
		finish             string
		usage              Usage
	}{
		{"chat.json", "12 + 34 = 46", `\boxed{46}`, "stop", Usage{PromptTokens: 35, CompletionTokens: 28}},
		{"chat.sse", "12 + 34 = 46", `\boxed{46}`, "stop", Usage{}},
		{"length.sse", "12 + 3", "", "length", Usage{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "llamacpp", tc.file)
			srv := serveFile(t, path)
			c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "arith-nano", Stream: strings.HasSuffix(path, ".sse")})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "What is 12 + 34?"}}, Temperature: 0.6, TopP: 0.95, MaxTokens: 64})
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
