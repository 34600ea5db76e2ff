package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// serveFile answers every chat request with a recorded response body.
func serveFile(t *testing.T, path string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ct := "application/json"
	if strings.HasSuffix(path, ".sse") {
		ct = "text/event-stream"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "wrong route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func question() Request {
	return Request{Messages: []Message{{Role: "user", Content: "Natalia sold clips ... How many clips did Natalia sell altogether in April and May?"}}, Temperature: 0.6, TopP: 0.95}
}

// TestOpenAIRecorded parses each recorded server response, streaming and
// not, and compares with testdata/parsed.golden.json.
func TestOpenAIRecorded(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	sse, _ := filepath.Glob("testdata/*.sse")
	files = append(files, sse...)
	sort.Strings(files)
	got := map[string]Response{}
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		srv := serveFile(t, f)
		c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Stream: strings.HasSuffix(f, ".sse")})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Complete(context.Background(), question())
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		got[filepath.Base(f)] = resp
		if !strings.Contains(resp.Content, `\boxed{72}`) || strings.Contains(resp.Content, "think>") ||
			!strings.HasPrefix(resp.Reasoning, "Okay") || !strings.HasSuffix(resp.Reasoning, "Yes.") {
			t.Errorf("%s: reasoning %q content %q", f, resp.Reasoning, resp.Content)
		}
	}
	golden := "testdata/parsed.golden.json"
	b, _ := json.MarshalIndent(got, "", "  ")
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./teacher -run Recorded -update)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("parsed responses differ from %s (rerun with -update if intended):\n%s", golden, b)
	}
}

// TestOpenAIRequestBody checks what the client sends.
func TestOpenAIRequestBody(t *testing.T) {
	var got map[string]any
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1/", Model: "deepseek-reasoner", APIKey: "sk-test-123", Stream: true})
	seed := int64(7)
	req := question()
	req.MaxTokens, req.Seed = 512, &seed
	if _, err := c.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"model": "deepseek-reasoner", "temperature": 0.6, "top_p": 0.95, "max_tokens": 512.0, "seed": 7.0, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
		"messages":       []any{map[string]any{"role": "user", "content": req.Messages[0].Content}},
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("request body\n got %s\nwant %s", gb, wb)
	}
	if auth != "Bearer sk-test-123" {
		t.Errorf("Authorization %q", auth)
	}
}

// TestOpenAIFailures maps each failure a server or the network can produce.
func TestOpenAIFailures(t *testing.T) {
	const key = "sk-secret-key-42"
	jsonErr := func(status int, body string, headers ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	ok := `{"choices":[{"message":{"content":"\\boxed{1}"},"finish_reason":"stop"}]}`
	tests := []struct {
		name      string
		stream    bool
		timeout   time.Duration
		h         http.HandlerFunc
		status    int
		kind      string
		retryable bool
		after     time.Duration
		msg       string
	}{
		{name: "429 Retry-After", h: jsonErr(429, `{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}`, "Retry-After", "7"),
			status: 429, kind: "rate_limit", retryable: true, after: 7 * time.Second, msg: "Rate limit reached"},
		{name: "429 Retry-After-Ms", h: jsonErr(429, `{"error":{"message":"slow down"}}`, "Retry-After-Ms", "1500", "Retry-After", "2"),
			status: 429, kind: "rate_limit", retryable: true, after: 1500 * time.Millisecond, msg: "slow down"},
		{name: "500", h: jsonErr(500, `{"error":{"message":"internal error"}}`), status: 500, kind: "server", retryable: true, msg: "internal error"},
		{name: "502 html", h: jsonErr(502, "<html><body>502 Bad Gateway</body></html>"), status: 502, kind: "server", retryable: true, msg: "502 Bad Gateway"},
		{name: "503 Retry-After", h: jsonErr(503, `{"error":{"message":"Server overloaded"}}`, "Retry-After", "3"),
			status: 503, kind: "server", retryable: true, after: 3 * time.Second, msg: "overloaded"},
		{name: "400 vLLM top-level message", h: jsonErr(400, `{"object":"error","message":"max_tokens must be at least 1, got 0.","type":"BadRequestError","param":null,"code":400}`),
			status: 400, kind: "client", msg: "max_tokens must be at least 1"},
		{name: "401 DeepSeek", h: jsonErr(401, `{"error":{"message":"Authentication Fails, Your api key: ****-42 is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}`),
			status: 401, kind: "auth", msg: "Authentication Fails"},
		{name: "401 echoing the key", h: jsonErr(401, `{"error":"invalid key `+key+`"}`), status: 401, kind: "auth", msg: "invalid key [redacted]"},
		{name: "402 DeepSeek", h: jsonErr(402, `{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}`),
			status: 402, kind: "billing", msg: "Insufficient Balance"},
		{name: "422 FastAPI detail", h: jsonErr(422, `{"detail":"messages: field required"}`), status: 422, kind: "client", msg: "field required"},
		{name: "empty 200", h: jsonErr(200, ""), kind: "parse", retryable: true, msg: "empty"},
		{name: "blank-line 200", h: jsonErr(200, "\n\n\n"), kind: "parse", retryable: true, msg: "empty"},
		{name: "truncated JSON", h: jsonErr(200, ok[:40]), kind: "parse", retryable: true, msg: "malformed JSON"},
		{name: "200 with error object", h: jsonErr(200, `{"error":{"message":"upstream died"}}`), kind: "server", retryable: true, msg: "upstream died"},
		{name: "no choices", h: jsonErr(200, `{"choices":[]}`), kind: "parse", retryable: true, msg: "no choices"},
		{name: "stream cut before DONE", stream: true, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, ": keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"reasoning_content\":\"1 + 1\"}}]}\n\n")
		}, kind: "stream", retryable: true, msg: "before [DONE] after 1 chunks"},
		{name: "stream truncated chunk", stream: true, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"1 + \n\n")
		}, kind: "parse", retryable: true, msg: "malformed stream chunk 1"},
		{name: "stream error event", stream: true, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"error\":{\"message\":\"engine dead\",\"code\":500}}\n\n")
		}, kind: "stream", retryable: true, msg: "engine dead"},
		{name: "connection dropped mid-body", h: func(w http.ResponseWriter, r *http.Request) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" + ok[:30])
			buf.Flush()
			conn.Close()
		}, kind: "stream", retryable: true, msg: "EOF"},
		{name: "timeout", timeout: 100 * time.Millisecond, h: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, kind: "timeout", retryable: true, msg: "no complete answer within 100ms"},
		{name: "slow stream timeout", stream: true, timeout: 150 * time.Millisecond, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, ": keep-alive\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, kind: "timeout", retryable: true, msg: "no complete answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // the server notices a gone client only after the body
				tt.h(w, r)
			}))
			defer srv.Close()
			c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", APIKey: key, Stream: tt.stream, Timeout: tt.timeout})
			_, err := c.Complete(context.Background(), question())
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want *Error", err)
			}
			if te.Status != tt.status || te.Kind != tt.kind || te.Retryable != tt.retryable || te.RetryAfter != tt.after || !strings.Contains(te.Message, tt.msg) {
				t.Errorf("got %+v\nwant status %d kind %s retryable %v after %v message ~%q", te, tt.status, tt.kind, tt.retryable, tt.after, tt.msg)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error leaks the API key: %v", err)
			}
		})
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: "http://" + addr + "/v1"})
	_, err = c.Complete(context.Background(), question())
	var te *Error
	if !errors.As(err, &te) || !te.Retryable || te.Kind != "network" {
		t.Errorf("got %v, want a retryable network *Error", err)
	}
}

// TestOpenAICancel: the caller's own cancellation is not a teacher failure.
func TestOpenAICancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a gone client only after the body
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Complete(ctx, question()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's error", err)
	}
}

func TestNewOpenAIBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8000", "ftp://x/v1", "http:///v1"} {
		if _, err := NewOpenAI(OpenAIConfig{BaseURL: u}); err == nil {
			t.Errorf("NewOpenAI(%q) accepted", u)
		}
	}
}

func TestSplitThink(t *testing.T) {
	tests := []struct{ in, reasoning, content string }{
		{"<think>\na\nb\n</think>\n\n\\boxed{1}", "a\nb", `\boxed{1}`},
		{"a\nb\n</think>\n\n\\boxed{1}", "a\nb", `\boxed{1}`},
		{"\n<think>a</think>x", "a", "x"},
		{"<think>\nstill thinking when cut", "still thinking when cut", ""},
		{"no tags \\boxed{2}", "", `no tags \boxed{2}`},
		{"<think></think>\n\nx", "", "x"},
	}
	for _, tt := range tests {
		r := Response{Content: tt.in}
		r.normalize()
		if r.Reasoning != tt.reasoning || r.Content != tt.content {
			t.Errorf("%q: got %q / %q, want %q / %q", tt.in, r.Reasoning, r.Content, tt.reasoning, tt.content)
		}
	}
}

// TestOpenAILongStreamLine: one SSE line far longer than the read buffer
// (a whole long trace in one chunk) arrives intact.
func TestOpenAILongStreamLine(t *testing.T) {
	long := strings.Repeat("12 + 30 = 42\n", 20000) // 260 KB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"delta": map[string]any{"reasoning_content": long}}}})
		io.WriteString(w, "data: "+string(b)+"\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"\\\\boxed{42}\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Stream: true})
	resp, err := c.Complete(context.Background(), question())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Reasoning != strings.TrimSpace(long) || resp.Content != `\boxed{42}` || resp.FinishReason != "stop" {
		t.Errorf("long line garbled: %d bytes of reasoning, content %q", len(resp.Reasoning), resp.Content)
	}
}

// TestOpenAICompleteNRefused: a streaming client refuses n > 1 before
// sending anything, as a non-retryable client error.
func TestOpenAICompleteNRefused(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent.Add(1) }))
	defer srv.Close()
	for _, tt := range []struct {
		stream bool
		n      int
		msg    string
	}{{true, 2, "n 2 with streaming"}, {false, 0, "n 0: want at least 1"}} {
		c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Stream: tt.stream})
		_, _, err := c.CompleteN(context.Background(), question(), tt.n)
		var te *Error
		if !errors.As(err, &te) || te.Kind != "client" || te.Retryable || !strings.Contains(te.Message, tt.msg) {
			t.Errorf("stream=%v n=%d: %v, want a non-retryable client error with %q", tt.stream, tt.n, err, tt.msg)
		}
	}
	if sent.Load() != 0 {
		t.Errorf("%d requests sent", sent.Load())
	}
}

// A base URL with a query (gateways that take ?api_key=) keeps it after the
// route; it was appended after the query and the route was lost.
func TestOpenAIBaseURLWithQuery(t *testing.T) {
	var path, query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query = r.URL.Path, r.URL.RawQuery
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1?api_key=k1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Complete(context.Background(), question()); err != nil {
		t.Fatal(err)
	}
	if path != "/v1/chat/completions" || query != "api_key=k1" {
		t.Errorf("request went to %s?%s, want /v1/chat/completions?api_key=k1", path, query)
	}
	if _, err := NewOpenAI(OpenAIConfig{BaseURL: "ftp://user:pw-secret@x/v1"}); err == nil || strings.Contains(err.Error(), "pw-secret") {
		t.Errorf("bad URL error %v: want one without the URL's password", err)
	}
}
