package teacher

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAIConfig configures a client for an OpenAI-compatible server.
type OpenAIConfig struct {
	BaseURL string // e.g. http://127.0.0.1:8000/v1 or https://api.deepseek.com/v1
	Model   string // used when a Request names none
	APIKey  string // sent as a bearer token; never logged or put in errors
	Stream  bool   // ask for server-sent events
	// ReasoningFormat, when set, is sent as "reasoning_format" (llama.cpp,
	// distill serve): "deepseek", "reasoning" or "none" (inline <think>).
	ReasoningFormat string
	// Timeout bounds one request from sending to the last byte of the
	// answer; 0 means 10 minutes (long reasoning takes that long).
	Timeout time.Duration
	// MaxConns caps connections to the server; 0 means 1024. It should be
	// at least the caller's concurrency, or requests queue for a connection.
	MaxConns int
	// HTTPClient replaces the tuned default client (tests, proxies).
	HTTPClient *http.Client
}

// OpenAI is a Teacher behind an OpenAI-compatible chat-completions API. It
// is hand-written rather than built on openai-go because its failure modes
// are the point: openai-go ends a stream cut before [DONE] without an error,
// caps SSE lines at 64 KiB, keeps reasoning fields only as raw extra JSON, and
// hides Retry-After inside its own retry loop, while the sampler owns retries.
type OpenAI struct {
	cfg    OpenAIConfig
	url    string
	client *http.Client
}

// NewOpenAI checks cfg and returns a client.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("teacher: base URL: want http(s)://HOST[:PORT]/v1")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	// JoinPath keeps a query (?api_key=…) after the path.
	c := &OpenAI{cfg: cfg, url: u.JoinPath("chat", "completions").String(), client: cfg.HTTPClient}
	if c.client == nil {
		c.client = &http.Client{Transport: &http.Transport{
			Proxy:       http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			// Keep a connection per concurrent request alive: the default of
			// 2 idle per host makes a 256-way pool redial constantly.
			MaxIdleConns:          cfg.MaxConns,
			MaxIdleConnsPerHost:   cfg.MaxConns,
			MaxConnsPerHost:       cfg.MaxConns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   15 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}}
	}
	return c, nil
}

// errTimeout is the cause of the per-request deadline, to tell it from the
// caller's own.
var errTimeout = errors.New("request timed out")

// maxBody bounds what is read of one answer (a 64k-token trace is ~300 KB).
const maxBody = 64 << 20

// Complete sends req and returns the answer with reasoning separated. Errors
// from the server or the wire are *Error; a cancelled ctx returns ctx's error.
func (c *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	resps, u, err := c.complete(ctx, req, 1)
	if err != nil {
		return Response{}, err
	}
	resp := resps[0]
	resp.Usage = u
	return resp, nil
}

// CompleteN asks for n samples of req in one request (the API's "n"), so
// the server reads the prompt once. It returns the choices in index order,
// with zero Usage each, and the usage of the whole request: prompt tokens
// once, completion tokens summed. A server may return fewer than n choices
// (some ignore n); the caller sees how many came. Streaming answers carry
// one choice here, so n > 1 with Stream is refused as a client error.
func (c *OpenAI) CompleteN(ctx context.Context, req Request, n int) ([]Response, Usage, error) {
	if n < 1 {
		return nil, Usage{}, &Error{Kind: "client", Message: fmt.Sprintf("n %d: want at least 1", n)}
	}
	if n > 1 && c.cfg.Stream {
		return nil, Usage{}, &Error{Kind: "client", Message: fmt.Sprintf("n %d with streaming: several samples per request need a non-streaming client", n)}
	}
	return c.complete(ctx, req, n)
}

func (c *OpenAI) complete(ctx context.Context, req Request, n int) ([]Response, Usage, error) {
	body, err := c.encode(req, n)
	if err != nil {
		return nil, Usage{}, err
	}
	rctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, errTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, Usage{}, fmt.Errorf("teacher: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.cfg.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	if c.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	hresp, err := c.client.Do(hreq)
	if err != nil {
		return nil, Usage{}, c.transportError(ctx, rctx, "network", err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode/100 != 2 {
		return nil, Usage{}, c.statusError(hresp)
	}
	var resps []Response
	var u Usage
	if isEventStream(hresp.Header.Get("Content-Type")) {
		var resp Response
		resp, err = c.readStream(hresp.Body)
		resps, u = []Response{resp}, resp.Usage
	} else {
		resps, u, err = c.readJSON(hresp.Body, hresp.ContentLength, n)
	}
	if err != nil {
		var te *Error
		if !errors.As(err, &te) {
			err = c.transportError(ctx, rctx, "stream", err)
		}
		return nil, Usage{}, err
	}
	for i := range resps {
		resps[i].Usage = Usage{}
		resps[i].normalize()
	}
	return resps, u, nil
}

// encode writes the request body by hand, like the server's answers: at
// thousands of requests a second reflection is a visible share of the CPU.
func (c *OpenAI) encode(req Request, n int) ([]byte, error) {
	if req.Model == "" {
		req.Model = c.cfg.Model
	}
	return appendRequest(nil, req, n, c.cfg.Stream, c.cfg.ReasoningFormat)
}

// appendRequest appends req's chat-completions body: the one body the live
// client sends and batch files carry.
func appendRequest(b []byte, req Request, n int, stream bool, reasoningFormat string) ([]byte, error) {
	if math.IsNaN(req.Temperature) || math.IsInf(req.Temperature, 0) || math.IsNaN(req.TopP) || math.IsInf(req.TopP, 0) {
		return nil, fmt.Errorf("teacher: temperature %v / top_p %v: not a number", req.Temperature, req.TopP)
	}
	size := 128
	for _, m := range req.Messages {
		size += len(m.Content) + len(m.Role) + 32
	}
	b = slices.Grow(b, size)
	b = append(b, `{"model":`...)
	b = appendJSONString(b, req.Model)
	b = append(b, `,"messages":[`...)
	for i, m := range req.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = appendJSONString(b, m.Role)
		b = append(b, `,"content":`...)
		b = appendJSONString(b, m.Content)
		b = append(b, '}')
	}
	b = append(b, `],"temperature":`...)
	b = strconv.AppendFloat(b, req.Temperature, 'g', -1, 64)
	if req.TopP > 0 {
		b = append(b, `,"top_p":`...)
		b = strconv.AppendFloat(b, req.TopP, 'g', -1, 64)
	}
	if req.MaxTokens > 0 {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, int64(req.MaxTokens), 10)
	}
	if req.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *req.Seed, 10)
	}
	if n > 1 {
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	if reasoningFormat != "" {
		b = append(b, `,"reasoning_format":`...)
		b = appendJSONString(b, reasoningFormat)
	}
	return append(b, '}'), nil
}

func isEventStream(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "text/event-stream"
}

// transportError classifies a failure to send or read: the caller's own
// cancellation passes through, our deadline is a retryable timeout, anything
// else (refused, reset, cut) is retryable too.
func (c *OpenAI) transportError(parent, rctx context.Context, kind string, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(rctx), errTimeout) {
		return &Error{Kind: "timeout", Message: fmt.Sprintf("no complete answer within %s", c.cfg.Timeout), Retryable: true}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		kind = "timeout"
	}
	return &Error{Kind: kind, Message: c.redact(err.Error()), Retryable: true}
}

// statusError maps a non-2xx answer to *Error with the server's message.
func (c *OpenAI) statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return statusErr(resp.StatusCode, c.redact(errorMessage(body)), retryAfter(resp.Header))
}

// statusErr classifies a failed HTTP status, live or in a batch result.
func statusErr(status int, msg string, after time.Duration) *Error {
	e := &Error{Status: status, Message: msg, RetryAfter: after}
	switch s := status; {
	case s == 429:
		e.Kind, e.Retryable = "rate_limit", true
	case s == 408 || s == 504:
		e.Kind, e.Retryable = "timeout", true
	case s == 409 || s >= 500:
		e.Kind, e.Retryable = "server", true
	case s == 401 || s == 403:
		e.Kind = "auth"
	case s == 402:
		e.Kind = "billing"
	default:
		e.Kind = "client"
	}
	return e
}

// retryAfter reads Retry-After-Ms (OpenAI, milliseconds) or Retry-After
// (seconds or an HTTP date).
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// redact keeps the API key out of messages that servers may echo.
func (c *OpenAI) redact(s string) string {
	if len(c.cfg.APIKey) >= 4 {
		s = strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
	}
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

func parseError(format string, args ...any) *Error {
	return &Error{Kind: "parse", Message: fmt.Sprintf(format, args...), Retryable: true}
}

// readJSON reads a whole chat.completion: its first n choices in index
// order and the request's usage. DeepSeek sends blank lines while a
// non-streaming answer is being generated; JSON allows leading whitespace.
func (c *OpenAI) readJSON(r io.Reader, size int64, n int) ([]Response, Usage, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(max(size+1, 512), maxBody)))
	if _, err := buf.ReadFrom(io.LimitReader(r, maxBody)); err != nil {
		return nil, Usage{}, err
	}
	return decodeCompletion(buf.Bytes(), n, c.redact)
}

// decodeCompletion parses a chat.completion body, live or from a batch
// result, into its first n choices (not yet normalized) and its usage.
func decodeCompletion(body []byte, n int, redact func(string) string) ([]Response, Usage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, Usage{}, parseError("empty 200 response body")
	}
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, Usage{}, parseError("malformed JSON body (%d bytes): %v", len(body), err)
	}
	if w.Error != nil {
		return nil, Usage{}, &Error{Kind: "server", Message: redact(w.Error.Message), Retryable: true}
	}
	slices.SortStableFunc(w.Choices, func(a, b wireChoice) int { return cmp.Compare(a.Index, b.Index) })
	var resps []Response
	for _, ch := range w.Choices {
		if ch.Message == nil {
			return nil, Usage{}, parseError("response choice %d has no message", ch.Index)
		}
		resp := Response{Model: w.Model, Reasoning: ch.Message.reasoning(), Content: ch.Message.content()}
		if ch.FinishReason != nil {
			resp.FinishReason = *ch.FinishReason
		}
		resps = append(resps, resp)
	}
	if len(resps) == 0 {
		return nil, Usage{}, parseError("response has no choices[0].message")
	}
	var u Usage
	if w.Usage != nil {
		u = w.Usage.usage()
	}
	return resps[:min(len(resps), n)], u, nil
}

// readStream reads server-sent chat.completion.chunk events up to [DONE].
// Comments (": keep-alive") and blank lines are skipped; a stream that ends
// before [DONE], or reaches [DONE] without any choice having a
// finish_reason, is a retryable "stream" error, whatever it carried.
// llama-cpp-python's server ends a stream the second way when a newer
// request interrupts it (its default), so the text so far is not an answer.
func (c *OpenAI) readStream(r io.Reader) (Response, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var (
		resp               Response
		reasoning, content strings.Builder
		data               []byte
		chunks             int
	)
	handle := func() (done bool, err error) {
		defer func() { data = data[:0] }()
		d := bytes.TrimSpace(data)
		if len(d) == 0 {
			return false, nil
		}
		if bytes.Equal(d, []byte("[DONE]")) {
			return true, nil
		}
		chunks++
		var w wireResponse
		if err := json.Unmarshal(d, &w); err != nil {
			return false, parseError("malformed stream chunk %d: %v", chunks, err)
		}
		if w.Error != nil {
			return false, &Error{Kind: "stream", Message: c.redact(w.Error.Message), Retryable: true}
		}
		if w.Model != "" {
			resp.Model = w.Model
		}
		if w.Usage != nil {
			resp.Usage = w.Usage.usage()
		}
		for _, ch := range w.Choices {
			if ch.Delta != nil {
				reasoning.WriteString(ch.Delta.reasoning())
				content.WriteString(ch.Delta.content())
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				resp.FinishReason = *ch.FinishReason
			}
		}
		return false, nil
	}
	finish := func(herr error) (Response, error) {
		if herr == nil && resp.FinishReason == "" {
			return Response{}, &Error{Kind: "stream", Message: fmt.Sprintf("stream reached [DONE] after %d chunks without a finish_reason", chunks), Retryable: true}
		}
		resp.Reasoning, resp.Content = reasoning.String(), content.String()
		return resp, herr
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: gather it whole.
			long := append([]byte(nil), line...) // ReadSlice's bytes are reused by the next read
			var rest []byte
			rest, err = br.ReadBytes('\n')
			line = append(long, rest...)
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0: // end of an event
			if done, herr := handle(); herr != nil || done {
				return finish(herr)
			}
		case line[0] == ':': // comment, e.g. keep-alive
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(line[len("data:"):], []byte(" "))
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, v...)
		}
		if err != nil {
			if err == io.EOF {
				if done, herr := handle(); herr != nil || done {
					return finish(herr)
				}
				return Response{}, &Error{Kind: "stream", Message: fmt.Sprintf("stream ended before [DONE] after %d chunks", chunks), Retryable: true}
			}
			return Response{}, err
		}
	}
}
