package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Reasoning formats a client may ask the server for with the request field
// "reasoning_format" (named after llama.cpp's option):
//
//	"deepseek" (default, also "" and "auto"): reasoning in reasoning_content
//	"reasoning": reasoning in the field vLLM ≥ 0.11 and Ollama use
//	"none" or "think": inline in content as "<think>\n…\n</think>\n\nanswer"
const (
	formatDeepSeek  = "deepseek"
	formatReasoning = "reasoning"
	formatThink     = "none"
)

type handler struct {
	t      Teacher
	models []string
	seq    atomic.Uint64
	// modelsJSON is the /v1/models answer, built once.
	modelsJSON []byte
}

// NewHandler serves t as an OpenAI-compatible API: POST /v1/chat/completions
// (JSON or, with "stream": true, server-sent events ending in [DONE]) and GET
// /v1/models. models are the names it answers to; the first is the default
// and a request naming another gets 404. Errors of type *Error keep their
// status; the response body is the usual {"error": {...}} object.
func NewHandler(t Teacher, models []string) http.Handler {
	h := &handler{t: t, models: models}
	b := []byte(`{"object":"list","data":[`)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, m)
		b = append(b, `,"object":"model","created":0,"owned_by":"distill"}`...)
	}
	h.modelsJSON = append(b, "]}\n"...)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", h.chat)
	mux.HandleFunc("GET /v1/models", h.listModels)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Kind: "not_found", Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

func (h *handler) listModels(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.modelsJSON)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	var in wireRequest
	// Read to EOF: only then does net/http watch the connection and cancel
	// r.Context() when the client goes away during a long completion.
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // let the rare huge buffer go
			bufPool.Put(bp)
		}
	}()
	buf := bytes.NewBuffer((*bp)[:0])
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 32<<20))
	*bp = buf.Bytes()
	if err == nil {
		err = json.Unmarshal(buf.Bytes(), &in)
	}
	if err != nil {
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: "client", Message: "invalid JSON request body: " + err.Error()})
		return
	}
	if len(in.Messages) == 0 {
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: "client", Message: "messages: at least one message is required"})
		return
	}
	model := in.Model
	if model == "" && len(h.models) > 0 {
		model = h.models[0]
	}
	if len(h.models) > 0 && !contains(h.models, model) {
		writeError(w, &Error{Status: http.StatusNotFound, Kind: "client", Message: fmt.Sprintf("model %q not found (this server has %s)", model, strings.Join(h.models, ", "))})
		return
	}
	format := in.ReasoningFormat
	switch format {
	case "", "auto", formatDeepSeek:
		format = formatDeepSeek
	case "think":
		format = formatThink
	case formatReasoning, formatThink:
	default:
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: "client", Message: fmt.Sprintf("reasoning_format %q: want deepseek, reasoning or none", in.ReasoningFormat)})
		return
	}
	req := Request{Model: model, Temperature: 1, TopP: 1, Seed: in.Seed}
	if in.Temperature != nil {
		req.Temperature = *in.Temperature
	}
	if in.TopP != nil {
		req.TopP = *in.TopP
	}
	if in.MaxTokens != nil {
		req.MaxTokens = *in.MaxTokens
	}
	if in.MaxCompletionTokens != nil {
		req.MaxTokens = *in.MaxCompletionTokens
	}
	req.Messages = make([]Message, len(in.Messages))
	for i, m := range in.Messages {
		req.Messages[i] = Message{Role: m.Role, Content: string(m.Content)}
	}
	n := 1
	if in.N != nil {
		n = *in.N
	}
	switch {
	case n < 1 || n > maxChoices:
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: "client", Message: fmt.Sprintf("n %d: want 1 to %d", n, maxChoices)})
		return
	case n > 1 && in.Stream:
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: "client", Message: "n > 1 with stream: this server streams one choice; drop stream to get several"})
		return
	}

	resps, usage, err := h.completeN(r.Context(), req, n)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		writeError(w, err)
		return
	}
	for i := range resps {
		resps[i].Model = model // the name it was served under, as a client asked for it
		if format == formatThink {
			resps[i] = inlineThink(resps[i])
		}
	}
	field := "reasoning_content"
	if format == formatReasoning {
		field = "reasoning"
	}
	id := "chatcmpl-distill-" + strconv.FormatUint(h.seq.Add(1), 10)
	created := time.Now().Unix()

	b := (*bp)[:0]
	if in.Stream {
		includeUsage := in.StreamOptions != nil && in.StreamOptions.IncludeUsage
		b = appendStream(b, id, created, field, resps[0], includeUsage)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		b = appendCompletion(b, id, created, field, model, resps, usage)
		w.Header().Set("Content-Type", "application/json")
	}
	// A known length spares the client chunked decoding.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	*bp = b
}

// maxChoices bounds n: each choice is a full completion.
const maxChoices = 128

// completeN answers n choices one after another, choice i with the request's
// seed plus i (a teacher that is a function of its seed, like the builtin,
// would otherwise answer n times the same), and sums their usage as the
// OpenAI API does: the prompt once, completion and reasoning tokens over
// all choices.
func (h *handler) completeN(ctx context.Context, req Request, n int) ([]Response, Usage, error) {
	var base int64
	if req.Seed != nil {
		base = *req.Seed
	}
	resps := make([]Response, n)
	var u Usage
	for i := range resps {
		if i > 0 {
			s := base + int64(i)
			req.Seed = &s
		}
		resp, err := h.t.Complete(ctx, req)
		if err != nil {
			return nil, Usage{}, err
		}
		if i == 0 {
			u.PromptTokens = resp.Usage.PromptTokens
		}
		u.CompletionTokens += resp.Usage.CompletionTokens
		u.ReasoningTokens += resp.Usage.ReasoningTokens
		resps[i] = resp
	}
	return resps, u, nil
}

// inlineThink moves the reasoning into the content as <think>…</think>.
func inlineThink(resp Response) Response {
	if resp.Reasoning == "" {
		return resp
	}
	if resp.FinishReason == "length" && resp.Content == "" {
		// Cut off while thinking: the closing tag was never written.
		resp.Content = "<think>\n" + resp.Reasoning
	} else {
		resp.Content = "<think>\n" + resp.Reasoning + "\n</think>\n\n" + resp.Content
	}
	resp.Reasoning = ""
	return resp
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// appendCompletion writes a chat.completion object by hand: the server
// must answer thousands of requests a second on two cores.
func appendCompletion(b []byte, id string, created int64, field, model string, resps []Response, u Usage) []byte {
	b = appendHead(b, id, "chat.completion", created, model)
	b = append(b, `"choices":[`...)
	for i, resp := range resps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		b = appendJSONString(b, resp.Content)
		if resp.Reasoning != "" {
			b = append(b, `,"`...)
			b = append(b, field...)
			b = append(b, `":`...)
			b = appendJSONString(b, resp.Reasoning)
		}
		b = append(b, `},"finish_reason":`...)
		b = appendJSONString(b, resp.FinishReason)
		b = append(b, '}')
	}
	b = append(b, `],`...)
	b = appendUsage(b, u)
	return append(b, "}\n"...)
}

// appendStream writes the whole answer as SSE chunks: the role, the
// reasoning, the content, the finish reason, usage when asked for, then
// [DONE]. The teacher answers whole, so one chunk per part keeps the
// per-chunk cost (a JSON decode on the client) low.
func appendStream(b []byte, id string, created int64, field string, resp Response, includeUsage bool) []byte {
	chunk := func(b []byte, delta func([]byte) []byte, finish string) []byte {
		b = append(b, "data: "...)
		b = appendHead(b, id, "chat.completion.chunk", created, resp.Model)
		b = append(b, `"choices":[{"index":0,"delta":{`...)
		b = delta(b)
		b = append(b, `},"finish_reason":`...)
		if finish == "" {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, finish)
		}
		return append(b, "}]}\n\n"...)
	}
	b = chunk(b, func(b []byte) []byte { return append(b, `"role":"assistant","content":""`...) }, "")
	for _, part := range []struct{ key, text string }{{field, resp.Reasoning}, {"content", resp.Content}} {
		if part.text == "" {
			continue
		}
		b = chunk(b, func(b []byte) []byte {
			b = append(b, '"')
			b = append(b, part.key...)
			b = append(b, `":`...)
			return appendJSONString(b, part.text)
		}, "")
	}
	b = chunk(b, func(b []byte) []byte { return b }, resp.FinishReason)
	if includeUsage {
		b = append(b, "data: "...)
		b = appendHead(b, id, "chat.completion.chunk", created, resp.Model)
		b = append(b, `"choices":[],`...)
		b = appendUsage(b, resp.Usage)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

func appendHead(b []byte, id, object string, created int64, model string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, model)
	return append(b, ',')
}

func appendUsage(b []byte, u Usage) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(u.ReasoningTokens), 10)
	return append(b, "}}"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping what JSON requires
// and replacing invalid UTF-8, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// writeError answers with err's status and an OpenAI-style error object.
func writeError(w http.ResponseWriter, err error) {
	var te *Error
	if !errors.As(err, &te) {
		te = &Error{Status: http.StatusInternalServerError, Kind: "server", Message: err.Error()}
		if errors.Is(err, context.DeadlineExceeded) {
			te.Status, te.Kind = http.StatusGatewayTimeout, "timeout"
		}
	}
	status := te.Status
	if status == 0 {
		status = http.StatusInternalServerError
		if te.Retryable {
			status = http.StatusServiceUnavailable
		}
	}
	if te.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((te.RetryAfter+time.Second-1)/time.Second), 10))
		w.Header().Set("Retry-After-Ms", strconv.FormatInt(te.RetryAfter.Milliseconds(), 10))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := append([]byte(`{"error":{"message":`), nil...)
	b = appendJSONString(b, te.Message)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, te.Kind)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	w.Write(append(b, "}}\n"...))
}
