package teacher

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandlerRoundTrip serves the builtin teacher and reads it back with the
// client in every wire shape: the answer must survive unchanged.
func TestHandlerRoundTrip(t *testing.T) {
	b := NewBuiltin(DefaultBuiltinConfig())
	srv := httptest.NewServer(NewHandler(b, []string{BuiltinModel}))
	defer srv.Close()
	s, _ := OpenSuite("builtin:arith:all", 5)
	for _, stream := range []bool{false, true} {
		for _, format := range []string{"", "deepseek", "reasoning", "none"} {
			c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: BuiltinModel, Stream: stream, ReasoningFormat: format})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 60 {
				seed := int64(i)
				req := Request{Messages: []Message{{Role: "user", Content: s.At(i).Problem + "\n" + r1Suffix}}, Seed: &seed, MaxTokens: 200}
				want, _ := b.Complete(context.Background(), req)
				got, err := c.Complete(context.Background(), req)
				if err != nil {
					t.Fatalf("stream=%v format=%q: %v", stream, format, err)
				}
				if format == "none" && want.Reasoning != "" {
					// Inline tags come back through splitThink, which trims.
					want.Content = strings.TrimSpace(want.Content)
				}
				if got != want {
					t.Fatalf("stream=%v format=%q %q:\n got %+v\nwant %+v", stream, format, req.Messages[0].Content, got, want)
				}
			}
		}
	}
}

// TestHandlerWire checks the raw bytes a plain OpenAI client would see.
func TestHandlerWire(t *testing.T) {
	srv := httptest.NewServer(NewHandler(NewBuiltin(BuiltinConfig{}), []string{BuiltinModel}))
	defer srv.Close()
	post := func(body string) (int, http.Header, string) {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	q := `"messages":[{"role":"user","content":[{"type":"text","text":"What is 69 + 66 × 3?"}]}]`

	status, _, body := post(`{"model":"builtin",` + q + `}`)
	var v struct {
		Object  string
		Choices []struct {
			Message struct {
				Role, Content    string
				ReasoningContent string `json:"reasoning_content"`
			}
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens             int `json:"total_tokens"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		}
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != 200 {
		t.Fatalf("%d %v: %s", status, err, body)
	}
	if v.Object != "chat.completion" || v.Choices[0].Message.Role != "assistant" || v.Choices[0].Message.Content != `\boxed{267}` ||
		v.Choices[0].Message.ReasoningContent != "66 × 3 = 198\n69 + 198 = 267" || v.Choices[0].FinishReason != "stop" ||
		v.Usage.TotalTokens == 0 || v.Usage.CompletionTokensDetails.ReasoningTokens == 0 {
		t.Errorf("unexpected completion: %s", body)
	}

	_, _, body = post(`{"model":"builtin","max_tokens":8,"reasoning_format":"none",` + q + `}`)
	if !strings.Contains(body, `"content":"<think>\n66 × 3 =`) || strings.Contains(body, "</think>") || !strings.Contains(body, `"finish_reason":"length"`) {
		t.Errorf("a trace cut while thinking should have no closing tag: %s", body)
	}

	status, h, body := post(`{"model":"builtin","stream":true,"stream_options":{"include_usage":true},` + q + `}`)
	if status != 200 || h.Get("Content-Type") != "text/event-stream" || !strings.HasSuffix(body, "data: [DONE]\n\n") ||
		!strings.Contains(body, `"choices":[],"usage":{`) || !strings.Contains(body, `"delta":{"reasoning_content":"66 × 3 = 198\n69 + 198 = 267"}`) {
		t.Errorf("unexpected stream (%d %s):\n%s", status, h.Get("Content-Type"), body)
	}

	for _, tt := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"model":"builtin",`, 400, "invalid JSON"},
		{`{"model":"builtin","messages":[]}`, 400, "at least one message"},
		{`{"model":"gpt-5",` + q + `}`, 404, `model \"gpt-5\" not found`},
		{`{"model":"builtin","reasoning_format":"xml",` + q + `}`, 400, "reasoning_format"},
		{`{"model":"builtin","messages":[{"role":"user","content":"Tell me a joke."}]}`, 422, "no arithmetic problem"},
	} {
		status, _, body := post(tt.body)
		var e struct {
			Error struct {
				Message string
				Code    int
			}
		}
		json.Unmarshal([]byte(body), &e)
		if status != tt.status || e.Error.Code != tt.status || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: got %d %s, want %d ~%q", tt.body, status, body, tt.status, tt.msg)
		}
	}

	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var models struct{ Data []struct{ ID string } }
	if json.Unmarshal(b, &models) != nil || len(models.Data) != 1 || models.Data[0].ID != "builtin" {
		t.Errorf("/v1/models: %s", b)
	}
}

// teacherFunc adapts a function to Teacher, to make the handler fail in
// chosen ways.
type teacherFunc func(context.Context, Request) (Response, error)

func (f teacherFunc) Complete(ctx context.Context, req Request) (Response, error) { return f(ctx, req) }

// TestHandlerErrorMapping: *Error from any Teacher reaches a client as the
// same *Error.
func TestHandlerErrorMapping(t *testing.T) {
	for _, want := range []*Error{
		{Status: 429, Kind: "rate_limit", Message: "too many", Retryable: true, RetryAfter: 2 * time.Second},
		{Status: 422, Kind: "client", Message: "cannot read the problem"},
		{Status: 503, Kind: "server", Message: "loading weights", Retryable: true},
	} {
		srv := httptest.NewServer(NewHandler(teacherFunc(func(context.Context, Request) (Response, error) { return Response{}, want }), []string{"m"}))
		for _, stream := range []bool{false, true} {
			c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Stream: stream})
			_, err := c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "x"}}})
			var got *Error
			if !errors.As(err, &got) || *got != *want {
				t.Errorf("stream=%v: got %+v, want %+v", stream, got, want)
			}
		}
		srv.Close()
	}
}

// TestHandlerClientGone: a client that hangs up cancels the teacher's work.
func TestHandlerClientGone(t *testing.T) {
	cancelled := make(chan struct{})
	srv := httptest.NewServer(NewHandler(teacherFunc(func(ctx context.Context, _ Request) (Response, error) {
		<-ctx.Done()
		close(cancelled)
		return Response{}, ctx.Err()
	}), []string{"m"}))
	defer srv.Close()
	c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Timeout: 50 * time.Millisecond})
	c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "x"}}})
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("teacher context not cancelled after the client left")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "nl\n\r\t\x00\x1f", "66 × 3 = 198 我们", "bad\xffutf8", "<think>&</think>"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, got, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q: round trip gives %q", s, back)
		}
	}
}

// BenchmarkServeLoopback measures completions per second through the
// handler and the client over loopback at concurrency 256. The "plain"
// case is the reference for the same run: a bare net/http handler writing a
// fixed body and a bare http.Post client, i.e. what net/http costs alone.
func BenchmarkServeLoopback(b *testing.B) {
	bt := NewBuiltin(DefaultBuiltinConfig())
	srv := httptest.NewServer(NewHandler(bt, []string{BuiltinModel}))
	defer srv.Close()
	fixed := []byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"\\boxed{267}","reasoning_content":"66 × 3 = 198\n69 + 198 = 267"},"finish_reason":"stop"}]}`)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixed)
	}))
	defer plain.Close()
	s, _ := OpenSuite("builtin:arith", 1)
	run := func(b *testing.B, do func(i int64) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		b.ResetTimer()
		for range 256 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					if err := do(i); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "completions/s")
	}
	b.Run("plain", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
		body := `{"model":"builtin","messages":[{"role":"user","content":"What is 69 + 66 × 3?"}]}`
		run(b, func(int64) error {
			resp, err := hc.Post(plain.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				return err
			}
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			return err
		})
	})
	for _, stream := range []bool{false, true} {
		name := "json"
		if stream {
			name = "sse"
		}
		b.Run(name, func(b *testing.B) {
			c, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: BuiltinModel, Stream: stream})
			run(b, func(i int64) error {
				_, err := c.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: s.At(int(i)).Problem + "\n" + r1Suffix}}, Seed: &i})
				return err
			})
		})
	}
}

// TestHandlerN asks the real handler for several choices with the real
// client: each choice is the builtin's answer for the request's seed plus
// its index, and usage counts the prompt once and every completion.
func TestHandlerN(t *testing.T) {
	b := NewBuiltin(BuiltinConfig{WrongRate: 0.5, CheckRate: 0.5})
	srv := httptest.NewServer(NewHandler(b, []string{BuiltinModel}))
	defer srv.Close()
	c, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: BuiltinModel})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := OpenSuite("builtin:arith:all", 3)
	for _, tt := range []struct {
		n    int
		seed *int64
	}{{1, nil}, {3, nil}, {4, new(int64(41))}, {7, new(int64(-3))}} {
		req := Request{Messages: []Message{{Role: "user", Content: s.At(tt.n).Problem + "\n" + r1Suffix}}, Seed: tt.seed}
		got, u, err := c.CompleteN(context.Background(), req, tt.n)
		if err != nil {
			t.Fatalf("n=%d: %v", tt.n, err)
		}
		if len(got) != tt.n {
			t.Fatalf("n=%d: %d choices", tt.n, len(got))
		}
		var want Usage
		for i := range tt.n {
			r := req
			if i > 0 {
				seed := int64(i)
				if tt.seed != nil {
					seed += *tt.seed
				}
				r.Seed = &seed
			}
			w, _ := b.Complete(context.Background(), r)
			if i == 0 {
				want.PromptTokens = w.Usage.PromptTokens
			}
			want.CompletionTokens += w.Usage.CompletionTokens
			want.ReasoningTokens += w.Usage.ReasoningTokens
			w.Usage = Usage{}
			if got[i] != w {
				t.Errorf("n=%d choice %d:\n got %+v\nwant %+v", tt.n, i, got[i], w)
			}
		}
		if u != want {
			t.Errorf("n=%d: usage %+v, want %+v", tt.n, u, want)
		}
	}
}

// TestHandlerNRefused: n out of range, or n > 1 with streaming, is a 400.
func TestHandlerNRefused(t *testing.T) {
	srv := httptest.NewServer(NewHandler(NewBuiltin(BuiltinConfig{}), []string{BuiltinModel}))
	defer srv.Close()
	for _, tt := range []struct{ body, msg string }{
		{`{"messages":[{"role":"user","content":"What is 1 + 2?"}],"n":0}`, "n 0: want 1 to 128"},
		{`{"messages":[{"role":"user","content":"What is 1 + 2?"}],"n":129}`, "n 129: want 1 to 128"},
		{`{"messages":[{"role":"user","content":"What is 1 + 2?"}],"n":2,"stream":true}`, "n > 1 with stream"},
	} {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tt.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tt.body, resp.StatusCode, b, tt.msg)
		}
	}
}
