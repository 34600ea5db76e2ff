package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distill-dev/distill/teacher"
)

// startServer runs a server command until the test ends: run gets the
// context and the Listening callback. stop cancels it and returns its error.
func startServer(t *testing.T, run func(ctx context.Context, listening func(string)) error) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(u string) { urls <- u }) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("server did not stop on cancel")
		}
	})
	t.Cleanup(func() { stop() })
	select {
	case base = <-urls:
	case err := <-done:
		done <- err // for stop
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return base, stop
}

// startServe runs runServe on opts until the test ends; out is what it
// printed once listening.
func startServe(t *testing.T, opts ServeOptions) (base string, out *bytes.Buffer, stop func() error) {
	t.Helper()
	out = new(bytes.Buffer)
	opts.Out = out
	base, stop = startServer(t, func(ctx context.Context, listening func(string)) error {
		opts.Listening = listening
		return runServe(ctx, opts)
	})
	return base, out, stop
}

var serveQuestion = []teacher.Message{{Role: "user", Content: "What is 69 + 66 × 3?\nPlease reason step by step, and put your final answer within \\boxed{}."}}

// TestServe starts the real server on a loopback port, asks it with the
// real client, streaming and not, then stops it with the context.
func TestServe(t *testing.T) {
	base, out, stop := startServe(t, ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", Builtin: teacher.BuiltinConfig{}.Perfect()})
	if !strings.Contains(out.String(), base) || strings.Contains(out.String(), "warning") {
		t.Errorf("printed %q, want the URL %s and no warning", out.String(), base)
	}
	seed := int64(1)
	for _, stream := range []bool{false, true} {
		c, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: base, Model: "builtin", Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Complete(context.Background(), teacher.Request{Messages: serveQuestion, Seed: &seed})
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if resp.Reasoning != "66 × 3 = 198\n69 + 198 = 267" || resp.Content != `\boxed{267}` || resp.FinishReason != "stop" || resp.Model != "builtin" {
			t.Errorf("stream=%v: %+v", stream, resp)
		}
		_, err = c.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "Write a haiku."}}})
		var te *teacher.Error
		if !errors.As(err, &te) || te.Status != 422 || te.Retryable {
			t.Errorf("stream=%v: non-arithmetic prompt gave %v, want a 422", stream, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("runServe after cancel: %v", err)
	}
	c, _ := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: base, Timeout: 2 * time.Second})
	if _, err := c.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "What is 1 + 1?"}}}); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServeBadOptions(t *testing.T) {
	t.Setenv("DISTILL_TEST_EMPTY_KEY", "")
	t.Setenv("DISTILL_TEST_UNSET_KEY", "")
	os.Unsetenv("DISTILL_TEST_UNSET_KEY")
	for _, tt := range []struct {
		opts ServeOptions
		msg  string
	}{
		{ServeOptions{Teacher: "gpt-5", Addr: "127.0.0.1:0"}, `--teacher "gpt-5"`},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:99999"}, "--addr 127.0.0.1:99999"},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", Builtin: teacher.BuiltinConfig{WrongRate: -0.1}}, "wrong-rate -0.1"},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", APIKeyEnv: "DISTILL_TEST_EMPTY_KEY"}, "--api-key-env DISTILL_TEST_EMPTY_KEY: $DISTILL_TEST_EMPTY_KEY is empty or unset"},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", APIKeyEnv: "DISTILL_TEST_UNSET_KEY"}, "--api-key-env DISTILL_TEST_UNSET_KEY: $DISTILL_TEST_UNSET_KEY is empty or unset"},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", MaxConcurrent: -1}, "--max-concurrent -1"},
		{ServeOptions{Addr: "0.0.0.0:0"}, "serve: --addr 0.0.0.0:0 is reachable from other machines: set --api-key-env VAR, or --insecure"},
	} {
		// Should one be served after all, it stops at once and fails.
		ctx, cancel := context.WithCancel(context.Background())
		tt.opts.Out, tt.opts.Listening = io.Discard, func(string) { cancel() }
		err := runServe(ctx, tt.opts)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: got %v, want one line ~%q", tt.opts, err, tt.msg)
		}
	}
}

// An address other machines can reach is served with a key, or with
// --insecure, which keeps the warning (TestServeBadOptions: refused with
// neither).
func TestServeExposure(t *testing.T) {
	t.Setenv("DISTILL_TEST_SERVE_KEY", "sk-exposure-0123")
	for _, tt := range []struct {
		name    string
		opts    ServeOptions
		warning bool
	}{
		{"all interfaces, --insecure", ServeOptions{Addr: "0.0.0.0:0", Insecure: true}, true},
		{"all interfaces, key", ServeOptions{Addr: "0.0.0.0:0", APIKeyEnv: "DISTILL_TEST_SERVE_KEY"}, false},
		{"loopback, no key", ServeOptions{Addr: "127.0.0.1:0"}, false},
	} {
		_, out, stop := startServe(t, tt.opts)
		if got := strings.Contains(out.String(), "is reachable from other machines and has no authentication"); got != tt.warning {
			t.Errorf("%s: printed %q, want a warning: %v", tt.name, out.String(), tt.warning)
		}
		if err := stop(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
}

// With --api-key-env every route needs the bearer key; the key is never
// printed or echoed.
func TestServeAPIKey(t *testing.T) {
	const key = "sk-serve-test-0123456789"
	t.Setenv("DISTILL_TEST_SERVE_KEY", key)
	base, out, _ := startServe(t, ServeOptions{Addr: "127.0.0.1:0", APIKeyEnv: "DISTILL_TEST_SERVE_KEY", Builtin: teacher.BuiltinConfig{}.Perfect()})
	if strings.Contains(out.String(), key) || !strings.Contains(out.String(), "key from $DISTILL_TEST_SERVE_KEY required") {
		t.Errorf("printed %q, want the variable's name and not the key", out.String())
	}
	chat := `{"model":"builtin","messages":[{"role":"user","content":"What is 2 + 3?"}]}`
	for _, tt := range []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no key", "POST", "/chat/completions", "", 401},
		{"wrong key", "POST", "/chat/completions", "Bearer sk-wrong", 401},
		{"key and more", "POST", "/chat/completions", "Bearer " + key + "x", 401},
		{"key's prefix", "POST", "/chat/completions", "Bearer " + key[:len(key)-1], 401},
		{"other scheme", "POST", "/chat/completions", "Basic " + key, 401},
		{"bare key", "POST", "/chat/completions", key, 401},
		{"right key", "POST", "/chat/completions", "Bearer " + key, 200},
		{"scheme in lower case", "POST", "/chat/completions", "bearer " + key, 200},
		{"models, no key", "GET", "/models", "", 401},
		{"models, right key", "GET", "/models", "Bearer " + key, 200},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(chat))
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, resp.StatusCode, body, tt.status)
			continue
		}
		if tt.status != 401 {
			continue
		}
		var e struct {
			Error struct{ Message, Type, Code string }
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Type != "invalid_request_error" || e.Error.Code != "invalid_api_key" || e.Error.Message == "" {
			t.Errorf("%s: body %s, want an OpenAI error with code invalid_api_key", tt.name, body)
		}
		if resp.Header.Get("WWW-Authenticate") != "Bearer" || strings.Contains(string(body), key[3:]) {
			t.Errorf("%s: WWW-Authenticate %q, body %s", tt.name, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}

// distill generate --api-key-env VAR works against distill serve
// --api-key-env VAR, and a wrong key fails every pair with the 401.
func TestServeGenerateWithKey(t *testing.T) {
	t.Setenv("DISTILL_TEST_SERVE_KEY", "sk-pair-0123456789")
	t.Setenv("DISTILL_TEST_WRONG_KEY", "sk-pair-9876543210")
	base, _, _ := startServe(t, ServeOptions{Addr: "127.0.0.1:0", APIKeyEnv: "DISTILL_TEST_SERVE_KEY"})
	for _, tt := range []struct {
		env, err string
	}{
		{"DISTILL_TEST_SERVE_KEY", ""},
		{"DISTILL_TEST_WRONG_KEY", "teacher: HTTP 401 (auth): incorrect API key"},
	} {
		out := t.TempDir()
		opts := DefaultGenerateOptions()
		opts.Teacher, opts.Model, opts.APIKeyEnv = base, "builtin", tt.env
		opts.NumPrompts, opts.Samples, opts.Out, opts.Quiet = 10, 2, out, true
		if err := runGenerate(context.Background(), opts); err != nil {
			t.Fatalf("%s: %v", tt.env, err)
		}
		for _, tr := range genExactlyOnce(t, out, 20) {
			if tr.Error != tt.err || (tt.err == "" && !strings.Contains(tr.Content, `\boxed{`)) {
				t.Fatalf("%s: %s#%d: error %q, content %q; want error %q", tt.env, tr.PromptID, tr.Sample, tr.Error, tr.Content, tt.err)
			}
		}
	}
}

// gatedTeacher holds its first request until release is closed; entered is
// closed once that request is in flight.
type gatedTeacher struct {
	teacher.Teacher
	entered, release chan struct{}
	once             sync.Once
}

func newGatedTeacher() *gatedTeacher {
	return &gatedTeacher{Teacher: teacher.NewBuiltin(teacher.BuiltinConfig{}.Perfect()), entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedTeacher) Complete(ctx context.Context, req teacher.Request) (teacher.Response, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	if first {
		select {
		case <-g.release:
		case <-ctx.Done():
			return teacher.Response{}, ctx.Err()
		}
	}
	return g.Teacher.Complete(ctx, req)
}

// A request over --max-concurrent is answered 429 at once, with a
// Retry-After our client reads; the slot comes back when a request ends.
func TestServeMaxConcurrent(t *testing.T) {
	for _, tt := range []struct {
		limit  int
		second int // status of a request while the first is held
	}{
		{1, 429},
		{2, 200},
		{0, 200}, // no limit
	} {
		g := newGatedTeacher()
		srv := httptest.NewServer(serveHandler(g, "builtin", "", tt.limit))
		c, _ := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "builtin"})
		first := make(chan error, 1)
		go func() {
			_, err := c.Complete(context.Background(), teacher.Request{Messages: serveQuestion})
			first <- err
		}()
		<-g.entered
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":"What is 2 + 3?"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.second {
			t.Errorf("limit %d: second request got %d (%s), want %d", tt.limit, resp.StatusCode, body, tt.second)
		}
		if tt.second == 429 {
			var e struct {
				Error struct{ Message, Type, Code string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "rate_limit_exceeded" || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("limit %d: 429 with Retry-After %q and body %s", tt.limit, resp.Header.Get("Retry-After"), body)
			}
			_, err := c.Complete(context.Background(), teacher.Request{Messages: serveQuestion})
			var te *teacher.Error
			if !errors.As(err, &te) || te.Status != 429 || te.Kind != "rate_limit" || !te.Retryable || te.RetryAfter != time.Second {
				t.Errorf("limit %d: the client read the 429 as %#v, want a retryable rate_limit after 1s", tt.limit, err)
			}
		}
		close(g.release)
		if err := <-first; err != nil {
			t.Errorf("limit %d: held request: %v", tt.limit, err)
		}
		if _, err := c.Complete(context.Background(), teacher.Request{Messages: serveQuestion}); err != nil {
			t.Errorf("limit %d: a request after the held one ended: %v", tt.limit, err)
		}
		srv.Close()
	}
}

// distill generate at a concurrency over the server's cap gets 429s, waits
// them out and ends with every pair once, none failed.
func TestServeMaxConcurrentGenerate(t *testing.T) {
	g := newGatedTeacher()
	h := serveHandler(g, "builtin", "", 1)
	var turnedAway atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		// Only the cap's 429 carries Retry-After: the held request may go
		// on once the other has been turned away.
		if w.Header().Get("Retry-After") != "" && turnedAway.Add(1) == 1 {
			close(g.release)
		}
	}))
	defer srv.Close()
	out := t.TempDir()
	opts := DefaultGenerateOptions()
	opts.Teacher, opts.Model = srv.URL+"/v1", "builtin"
	opts.NumPrompts, opts.Concurrency, opts.Out, opts.Quiet = 2, 2, out, true
	opts.Timeout = 20 * time.Second // without a cap the held request is released only by this
	if err := runGenerate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, tr := range genExactlyOnce(t, out, 2) {
		if tr.Error != "" {
			t.Errorf("%s: %s", tr.PromptID, tr.Error)
		}
		attempts += tr.Attempts
	}
	if turnedAway.Load() != 1 || attempts != 3 {
		t.Errorf("%d turned away, %d attempts for 2 pairs; want 1 and 3", turnedAway.Load(), attempts)
	}
}

// The read timeout cuts off a client that sends headers and then stalls
// the body, on both of distill's servers.
func TestServerReadTimeout(t *testing.T) {
	short := HTTPTimeouts{Read: 100 * time.Millisecond, Write: time.Minute, Idle: time.Minute}
	for _, tt := range []struct {
		name, path string
		run        func(ctx context.Context, listening func(string)) error
	}{
		{"serve", "/v1/chat/completions", func(ctx context.Context, listening func(string)) error {
			return runServe(ctx, ServeOptions{Addr: "127.0.0.1:0", Timeouts: short, Out: io.Discard, Listening: listening})
		}},
		{"reward-server", "/v1/rewards", func(ctx context.Context, listening func(string)) error {
			return runRewardServer(ctx, RewardServerOptions{Addr: "127.0.0.1:0", Timeouts: short, Out: io.Discard, Listening: listening})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, _ := startServer(t, tt.run)
			host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/v1")
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "POST "+tt.path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"items")
			// Far longer than the read timeout: only a server that never
			// gives up on the body runs into it.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("server still waiting for the body: %v (read %q)", err, got)
			}
			if !strings.HasPrefix(string(got), "HTTP/1.1 400") || !strings.Contains(string(got), "timeout") {
				t.Errorf("answer %q, want a 400 naming the timeout", got)
			}
		})
	}
}

// The write timeout bounds writing, not thinking: an answer that takes
// longer than it to compute still arrives, while a client that stops
// reading is cut off.
func TestServerWriteTimeout(t *testing.T) {
	const d = 50 * time.Millisecond
	writeErr := make(chan error, 1)
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(4 * d) // a checkpoint thinking
			io.WriteString(w, "answer")
			return
		}
		_, err := w.Write(make([]byte, 64<<20)) // more than the socket buffers hold
		writeErr <- err
	}), HTTPTimeouts{Write: d})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
	if err != nil {
		t.Fatalf("slow answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "answer" {
		t.Fatalf("slow answer: %q, %v", body, err)
	}

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("64 MiB written to a client that reads nothing")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a write to a client that reads nothing was not cut off")
	}
}
