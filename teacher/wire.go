package teacher

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The OpenAI chat-completions wire format, as far as the client and the
// server need it. Pointers tell absent fields from empty ones.

type wireRequest struct {
	Model               string         `json:"model"`
	Messages            []wireMessage  `json:"messages"`
	Temperature         *float64       `json:"temperature,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Seed                *int64         `json:"seed,omitempty"`
	N                   *int           `json:"n,omitempty"` // choices to return; 1 when absent
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
	ReasoningFormat     string         `json:"reasoning_format,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// wireMessage accepts content as a string or as an array of text parts.
type wireMessage struct {
	Role    string      `json:"role"`
	Content wireContent `json:"content"`
}

type wireContent string

func (c *wireContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		for _, p := range parts {
			sb.WriteString(p.Text)
		}
		*c = wireContent(sb.String())
		return nil
	case bytes.Equal(b, []byte("null")):
		*c = ""
		return nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	*c = wireContent(s)
	return err
}

// wireResponse is a chat.completion or a chat.completion.chunk.
type wireResponse struct {
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Error   *wireError   `json:"error"`
}

type wireChoice struct {
	Index        int        `json:"index"`
	Message      *wireReply `json:"message"`
	Delta        *wireReply `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

// wireReply carries reasoning in whichever field the server uses:
// reasoning_content (DeepSeek, SGLang, llama.cpp) or reasoning (vLLM ≥ 0.11,
// Ollama).
type wireReply struct {
	Content          *string `json:"content"`
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
}

func (r *wireReply) reasoning() string {
	if r.ReasoningContent != nil && *r.ReasoningContent != "" {
		return *r.ReasoningContent
	}
	if r.Reasoning != nil {
		return *r.Reasoning
	}
	return ""
}

func (r *wireReply) content() string {
	if r.Content != nil {
		return *r.Content
	}
	return ""
}

type wireUsage struct {
	PromptTokens            int `json:"prompt_tokens"`
	CompletionTokens        int `json:"completion_tokens"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *wireUsage) usage() Usage {
	out := Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	if u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

// wireError is the error object. Servers disagree on its shape: OpenAI and
// DeepSeek nest it under "error", older vLLM puts "message" at the top level,
// some send "error" as a plain string, FastAPI sends "detail".
type wireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

func (e *wireError) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Message)
	}
	type plain wireError
	return json.Unmarshal(b, (*plain)(e))
}

// errorMessage pulls the human-readable message out of an error body.
func errorMessage(body []byte) string {
	var v struct {
		Error   *wireError      `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		switch {
		case v.Error != nil && v.Error.Message != "":
			return v.Error.Message
		case v.Message != "":
			return v.Message
		case len(v.Detail) > 0:
			var s string
			if json.Unmarshal(v.Detail, &s) == nil {
				return s
			}
			return string(v.Detail)
		}
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "(empty body)"
	}
	return s
}
