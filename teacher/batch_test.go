package teacher

import (
	"strings"
	"testing"
)

func TestParseBatchResult(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       Response
		kind       string // of BatchResult.Err; "" when the request succeeded
		status     int
		bad        string // the line is malformed
	}{
		{"ok with reasoning_content", `{"id":"r1","custom_id":"p#0","response":{"status_code":200,"body":{"model":"m","choices":[{"index":0,"message":{"content":" 4 ","reasoning_content":"2+2"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"completion_tokens_details":{"reasoning_tokens":3}}}},"error":null}`,
			Response{Model: "m", Reasoning: "2+2", Content: "4", FinishReason: "stop", Usage: Usage{5, 7, 3}}, "", 0, ""},
		{"ok with <think>", `{"custom_id":"p#1","response":{"status_code":200,"body":{"choices":[{"message":{"content":"<think>\nhm\n</think>\n\n4"},"finish_reason":"length"}]}}}`,
			Response{Reasoning: "hm", Content: "4", FinishReason: "length"}, "", 0, ""},
		{"status 400", `{"custom_id":"p#2","response":{"status_code":400,"body":{"error":{"message":"bad max_tokens"}}},"error":null}`, Response{}, "client", 400, ""},
		{"status 500", `{"custom_id":"p#2","response":{"status_code":500,"body":{"error":{"message":"oops"}}}}`, Response{}, "server", 500, ""},
		{"expired", `{"custom_id":"p#3","response":null,"error":{"code":"batch_expired","message":"not run"}}`, Response{}, "batch_expired", 0, ""},
		{"no choices", `{"custom_id":"p#4","response":{"status_code":200,"body":{"choices":[]}}}`, Response{}, "parse", 0, ""},
		{"not JSON", `{"custom_id":`, Response{}, "", 0, "malformed batch result"},
		{"no custom_id", `{"response":null,"error":{"message":"x"}}`, Response{}, "", 0, "without custom_id"},
	} {
		r, err := ParseBatchResult([]byte(tt.line))
		switch {
		case tt.bad != "":
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.bad)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.kind != "":
			if r.Err == nil || r.Err.Kind != tt.kind || r.Err.Status != tt.status {
				t.Errorf("%s: error %+v, want kind %s status %d", tt.name, r.Err, tt.kind, tt.status)
			}
		case r.Err != nil || r.Response != tt.want:
			t.Errorf("%s: %+v %v, want %+v", tt.name, r.Response, r.Err, tt.want)
		}
	}
}

// A batch line's body is the live client's body for the same request.
func TestAppendBatchRequest(t *testing.T) {
	seed := int64(9)
	req := Request{Model: "m", Messages: []Message{{Role: "user", Content: "2+2? <b>"}}, Temperature: 0.6, TopP: 0.95, MaxTokens: 100, Seed: &seed}
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: "http://x/v1"})
	live, err := c.encode(req, 1)
	if err != nil {
		t.Fatal(err)
	}
	line, err := AppendBatchRequest(nil, "id#0", req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"custom_id":"id#0","method":"POST","url":"/v1/chat/completions","body":` + string(live) + "}\n"
	if string(line) != want {
		t.Fatalf("line\n%s\nwant\n%s", line, want)
	}
}
