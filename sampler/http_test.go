package sampler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distill-dev/distill/teacher"
)

// faultProxy sits between the client and a real teacher server and breaks
// a fixed share of requests the ways real servers do.
type faultProxy struct {
	upstream string
	n        atomic.Int64
	faults   atomic.Int64
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := p.n.Add(1)
	body, _ := io.ReadAll(r.Body)
	fault := ""
	switch {
	case i == 3:
		fault = "429-seconds" // the only long pause: the whole pool must wait it out
	case i%13 == 1:
		fault = "429"
	case i%13 == 4:
		fault = "500"
	case i%13 == 6:
		fault = "502-empty"
	case i%13 == 8:
		fault = "cut"
	case i%13 == 10:
		fault = "slow"
	case i%29 == 12:
		fault = "timeout"
	}
	if fault != "" && fault != "slow" {
		p.faults.Add(1) // each of these fails one attempt
	}
	switch fault {
	case "429-seconds":
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
		return
	case "429":
		w.Header().Set("Retry-After-Ms", "5")
		http.Error(w, `{"error":{"message":"rate limited"}}`, http.StatusTooManyRequests)
		return
	case "500":
		http.Error(w, `{"error":{"message":"internal"}}`, http.StatusInternalServerError)
		return
	case "502-empty":
		w.WriteHeader(http.StatusBadGateway)
		return
	case "slow":
		time.Sleep(30 * time.Millisecond)
	case "timeout":
		time.Sleep(700 * time.Millisecond) // past the client's 500ms timeout
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.Path, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if fault == "cut" {
		// Half the answer, then the connection drops: truncated JSON, or an
		// event stream without [DONE].
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.Write(data)
}

// Every sample arrives exactly once through a server that rate limits,
// fails, cuts and stalls, streaming and not.
func TestThroughFaultyServer(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of waiting on Retry-After")
	}
	upstream := httptest.NewServer(teacher.NewHandler(teacher.NewBuiltin(teacher.DefaultBuiltinConfig()), []string{"builtin"}))
	defer upstream.Close()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			proxy := &faultProxy{upstream: upstream.URL}
			front := httptest.NewServer(proxy)
			defer front.Close()
			client, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: front.URL + "/v1", Model: "builtin", Stream: stream, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cfg := testConfig(t, dir, 100, 2)
			cfg.Teacher, cfg.TeacherName = client, front.URL+"/v1"
			cfg.Concurrency = 16
			cfg.Retry = RetryPolicy{MaxRetries: 10, Base: 2 * time.Millisecond, Max: 20 * time.Millisecond}
			start := time.Now()
			s := run(t, cfg)
			if s.Succeeded != 200 || s.Failed != 0 {
				t.Fatalf("summary %+v failures %v", s, s.FailuresByKind)
			}
			// A loaded machine may time out more than the injected stalls.
			if s.Retries < proxy.faults.Load() || proxy.faults.Load() < 20 {
				t.Fatalf("%d retries for %d injected faults; %d requests sent, %d received", s.Retries, proxy.faults.Load(), s.Requests, proxy.n.Load())
			}
			if time.Since(start) < time.Second {
				t.Fatalf("finished in %v: the pool did not honour Retry-After: 1", time.Since(start))
			}
			for _, tr := range checkExactlyOnce(t, dir, 200) {
				if tr.Content == "" && tr.FinishReason != "length" {
					t.Fatalf("empty answer %+v", tr)
				}
			}
		})
	}
}

// dropLastChoice is a server that answers n > 1 with one choice fewer than
// asked for, as some OpenAI-compatible servers do.
func dropLastChoice(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var body map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		if ch, _ := body["choices"].([]any); len(ch) > 1 {
			body["choices"] = ch[:len(ch)-1]
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		json.NewEncoder(w).Encode(body)
	})
}

// TestSamplesPerRequest sends n through the real client to the real
// handler, whole and behind a server that drops choices: every sample is
// written exactly once, the missing ones asked for again, and the prompt
// tokens billed once a request add up in the records.
func TestSamplesPerRequest(t *testing.T) {
	handler := teacher.NewHandler(teacher.NewBuiltin(teacher.BuiltinConfig{WrongRate: 0.4, CheckRate: 0.1}), []string{"builtin"})
	for _, tt := range []struct {
		name                 string
		drop                 bool
		samples, n, k        int
		wantRequestsAPrompt  int // fixed sampling only
		wantShortAnswersOver int64
	}{
		{"whole", false, 5, 3, 0, 2, -1}, // 3 + 2
		{"short", true, 5, 3, 0, 3, 0},   // 3→2, 3→2, 1
		{"whole until 2", false, 6, 3, 2, 0, -1},
		{"short until 2", true, 6, 4, 2, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := handler
			if tt.drop {
				h = dropLastChoice(handler)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			client, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "builtin"})
			if err != nil {
				t.Fatal(err)
			}
			const prompts = 40
			dir := t.TempDir()
			cfg := testConfig(t, dir, prompts, tt.samples)
			cfg.Teacher, cfg.TeacherName, cfg.SamplesPerRequest = client, srv.URL+"/v1", tt.n
			if tt.k > 0 {
				cfg.UntilCorrect, cfg.Correct = tt.k, boxedCorrect
			}
			s := run(t, cfg)
			traces := checkExactlyOnce(t, dir, int(s.Written))
			if tt.k > 0 {
				checkStopRule(t, traces, prompts, tt.k, tt.samples)
			} else if s.Written != prompts*int64(tt.samples) || (!tt.drop && s.Requests != prompts*int64(tt.wantRequestsAPrompt)) {
				t.Fatalf("%d traces in %d requests, want %d in %d", s.Written, s.Requests, prompts*tt.samples, prompts*tt.wantRequestsAPrompt)
			}
			if (s.Short > 0) != tt.drop {
				t.Fatalf("%d short answers (drop=%v)", s.Short, tt.drop)
			}
			// Prompt tokens: once a request, on the request's first record.
			var promptTok, complTok int64
			perPrompt := map[string]int{}
			withPrompt := map[string]int{}
			for _, tr := range traces {
				promptTok += int64(tr.Usage.PromptTokens)
				complTok += int64(tr.Usage.CompletionTokens)
				perPrompt[tr.PromptID] = max(perPrompt[tr.PromptID], tr.Usage.PromptTokens)
				if tr.Usage.PromptTokens > 0 {
					withPrompt[tr.PromptID]++
				}
				if tr.Usage.CompletionTokens == 0 {
					t.Fatalf("%s#%d: no completion tokens", tr.PromptID, tr.Sample)
				}
			}
			if promptTok != s.PromptTokens || complTok != s.CompletionTokens {
				t.Fatalf("records hold %d prompt / %d completion tokens, the run counted %d / %d", promptTok, complTok, s.PromptTokens, s.CompletionTokens)
			}
			requests := 0
			for id, n := range withPrompt {
				requests += n
				if n == 0 || perPrompt[id] == 0 {
					t.Fatalf("%s: no prompt tokens", id)
				}
			}
			if int64(requests) != s.Requests {
				t.Fatalf("prompt tokens on %d records, want one a request (%d)", requests, s.Requests)
			}
		})
	}
}
