package distill

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/distill-dev/distill/teacher"
	"github.com/urfave/cli/v2"
)

// ServeOptions are the options of `distill serve`.
type ServeOptions struct {
	Teacher string // builtin or local:DIR (a student checkpoint)
	Addr    string // listen address; loopback by default
	Model   string // the model name to answer to; default builtin, or DIR's base name
	Builtin teacher.BuiltinConfig

	// APIKeyEnv names the environment variable holding the key every
	// request must bear (Authorization: Bearer KEY); empty: no key.
	APIKeyEnv string
	// Insecure allows a non-loopback Addr without a key.
	Insecure bool
	// MaxConcurrent caps the requests in flight; the next get 429 at once.
	// 0: no cap.
	MaxConcurrent int
	Timeouts      HTTPTimeouts

	// Out receives the "serving at" line; nil means stdout.
	Out io.Writer
	// Listening, if set, is called with the base URL (http://HOST:PORT/v1)
	// once the listener is bound, so tests can use port 0.
	Listening func(baseURL string)
}

func init() {
	d := teacher.DefaultBuiltinConfig()
	register(&cli.Command{
		Name:  "serve",
		Usage: "serve a teacher as an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models)",
		Description: `Serves the builtin teacher (or a student checkpoint, --teacher local:DIR)
on a loopback address until Ctrl-C. Reasoning is returned in reasoning_content;
a request may ask for "reasoning_format": "reasoning" (vLLM's field) or "none"
(inline <think>…</think> in content).

With --api-key-env VAR every request must send "Authorization: Bearer $VAR"
(distill generate --api-key-env VAR does); others get 401. An address other
machines can reach is refused without a key unless --insecure is given.
Requests over --max-concurrent get 429 with Retry-After, which distill
generate honours.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "teacher", Value: "builtin", Usage: "builtin, or local:DIR for a student checkpoint"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8000", Usage: "listen address (loopback by default; port 0 picks a free one)"},
			&cli.StringFlag{Name: "model", Usage: "model name to answer to (default: builtin, or the checkpoint directory's name)"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "builtin teacher: seed of its imperfections"},
			&cli.Float64Flag{Name: "wrong-rate", Value: d.WrongRate, Usage: "builtin teacher: share of wrong final answers"},
			&cli.Float64Flag{Name: "truncate-rate", Value: d.TruncateRate, Usage: "builtin teacher: share cut off mid-reasoning (finish_reason length)"},
			&cli.Float64Flag{Name: "language-mix-rate", Value: d.LanguageMixRate, Usage: "builtin teacher: share with a Chinese phrase in the reasoning"},
			&cli.Float64Flag{Name: "repeat-rate", Value: d.RepeatRate, Usage: "builtin teacher: share with overlong, repetitive reasoning"},
			&cli.Float64Flag{Name: "missing-tags-rate", Value: d.MissingTagsRate, Usage: "builtin teacher: share with no think tags (all in content)"},
			&cli.Float64Flag{Name: "check-rate", Value: d.CheckRate, Usage: "builtin teacher: share of correct traces ending with a self-check"},
			&cli.BoolFlag{Name: "perfect", Usage: "builtin teacher: no imperfections at all (overrides the rates)"},
			&cli.StringFlag{Name: "api-key-env", Usage: "environment variable `VAR` holding the key every request must send as Authorization: Bearer KEY"},
			&cli.BoolFlag{Name: "insecure", Usage: "serve an address other machines can reach without --api-key-env"},
			&cli.IntFlag{Name: "max-concurrent", Value: defaultServeMaxConcurrent, Usage: "requests in flight; more are answered 429 with Retry-After at once (0: no limit)"},
		}, httpTimeoutFlags()...),
		Action: func(c *cli.Context) error {
			opts := ServeOptions{
				Teacher:       c.String("teacher"),
				Addr:          c.String("addr"),
				Model:         c.String("model"),
				APIKeyEnv:     c.String("api-key-env"),
				Insecure:      c.Bool("insecure"),
				MaxConcurrent: c.Int("max-concurrent"),
				Timeouts:      httpTimeoutsFrom(c),
				Builtin: teacher.BuiltinConfig{
					Seed:            c.Uint64("seed"),
					WrongRate:       c.Float64("wrong-rate"),
					TruncateRate:    c.Float64("truncate-rate"),
					LanguageMixRate: c.Float64("language-mix-rate"),
					RepeatRate:      c.Float64("repeat-rate"),
					MissingTagsRate: c.Float64("missing-tags-rate"),
					CheckRate:       c.Float64("check-rate"),
				},
			}
			if c.Bool("perfect") {
				opts.Builtin = opts.Builtin.Perfect()
			}
			return runServe(c.Context, opts)
		},
	})
}

// defaultServeMaxConcurrent is the concurrency distill generate is
// benchmarked at through distill serve: the cap guards against runaway
// clients, not against our own at the documented settings. A local
// checkpoint batches up to 64 requests per forward pass; the rest wait.
const defaultServeMaxConcurrent = 256

// runServe serves until ctx is cancelled, then shuts down cleanly.
func runServe(ctx context.Context, opts ServeOptions) error {
	key, err := serveKey(opts.APIKeyEnv)
	if err != nil {
		return err
	}
	if opts.MaxConcurrent < 0 {
		return fmt.Errorf("serve: --max-concurrent %d: want 0 (no limit) or more", opts.MaxConcurrent)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8000"
	}
	// Bind before loading a checkpoint, so a taken or refused address
	// fails at once.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("serve: --addr %s: %w", opts.Addr, err)
	}
	defer ln.Close()
	if _, ok := exposed(ln.Addr()); ok && key == "" && !opts.Insecure {
		return fmt.Errorf("serve: --addr %s is reachable from other machines: set --api-key-env VAR, or --insecure to serve it without a key", opts.Addr)
	}
	t, model, err := serveTeacher(opts)
	if err != nil {
		return err
	}
	srv := newHTTPServer(serveHandler(t, model, key, opts.MaxConcurrent), opts.Timeouts)
	base := "http://" + ln.Addr().String() + "/v1"
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	auth := ""
	if key != "" {
		auth = fmt.Sprintf(", key from $%s required", opts.APIKeyEnv)
	}
	fmt.Fprintf(out, "distill serve: %s teacher as model %q at %s%s (Ctrl-C stops)\n", serveTeacherName(opts.Teacher), model, base, auth)
	if key == "" {
		warnIfExposed(out, "serve", ln.Addr())
	}
	if opts.Listening != nil {
		opts.Listening(base)
	}
	// Let requests in flight finish, briefly: a builtin answer takes
	// microseconds, a checkpoint's may take longer than anyone wants to wait.
	if err := serveUntil(ctx, srv, ln, 5*time.Second); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// serveKey reads the API key from the variable env names; none is asked
// for when env is empty. The key itself never appears in a message.
func serveKey(env string) (string, error) {
	if env == "" {
		return "", nil
	}
	key := os.Getenv(env)
	if key == "" {
		return "", fmt.Errorf("serve: --api-key-env %s: $%s is empty or unset", env, env)
	}
	return key, nil
}

// serveHandler is t's API behind the key check (when key is set) and the
// cap on requests in flight (when limit > 0). The key is checked first, so
// that clients without it take no slot.
func serveHandler(t teacher.Teacher, model, key string, limit int) http.Handler {
	h := teacher.NewHandler(t, []string{model})
	if limit > 0 {
		h = limitInFlight(h, limit)
	}
	if key != "" {
		h = requireKey(h, key)
	}
	return h
}

// requireKey answers 401 to a request without "Authorization: Bearer key".
// Both sides are hashed before the constant-time comparison, so that its
// time tells nothing about the key, not even its length.
func requireKey(h http.Handler, key string) http.Handler {
	want := sha256.Sum256([]byte(key))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		msg := "missing API key: send it as Authorization: Bearer KEY"
		if scheme, got, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
				h.ServeHTTP(w, r)
				return
			}
			msg = "incorrect API key"
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeAPIError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", msg)
	})
}

// limitInFlight answers 429 at once to a request over limit in flight,
// rather than queueing it where it would hold a connection and run down the
// client's timeout; the client retries after Retry-After.
func limitInFlight(h http.Handler, limit int) http.Handler {
	slots := make(chan struct{}, limit)
	msg := fmt.Sprintf("server busy: %d requests in flight (its --max-concurrent); retry after 1s", limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeAPIError(w, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", msg)
		}
	})
}

// writeAPIError answers with an OpenAI-style error object, which OpenAI
// clients (ours included) show.
func writeAPIError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeJSON(w, status, map[string]map[string]string{"error": {"message": msg, "type": typ, "code": code}})
}

// serveTeacher builds the teacher to serve and the model name it answers to.
func serveTeacher(opts ServeOptions) (teacher.Teacher, string, error) {
	switch spec := opts.Teacher; {
	case spec == "" || spec == "builtin":
		if err := opts.Builtin.Validate(); err != nil {
			return nil, "", fmt.Errorf("serve: %w", err)
		}
		model := opts.Model
		if model == "" {
			model = teacher.BuiltinModel
		}
		return teacher.NewBuiltin(opts.Builtin), model, nil
	case strings.HasPrefix(spec, "local:"):
		t, model, err := openLocal(strings.TrimPrefix(spec, "local:"), opts.Model)
		if err != nil {
			return nil, "", fmt.Errorf("serve: --teacher %s: %w", spec, err)
		}
		return t, model, nil
	default:
		return nil, "", fmt.Errorf("serve: --teacher %q: want builtin or local:DIR", spec)
	}
}

func serveTeacherName(spec string) string {
	if spec == "" {
		return "builtin"
	}
	return spec
}
