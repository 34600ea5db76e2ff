package distill

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
(inline <think>…</think> in content).`,
		Flags: []cli.Flag{
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
		},
		Action: func(c *cli.Context) error {
			opts := ServeOptions{
				Teacher: c.String("teacher"),
				Addr:    c.String("addr"),
				Model:   c.String("model"),
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

// runServe serves until ctx is cancelled, then shuts down cleanly.
func runServe(ctx context.Context, opts ServeOptions) error {
	t, model, err := serveTeacher(opts)
	if err != nil {
		return err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8000"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("serve: --addr %s: %w", opts.Addr, err)
	}
	srv := &http.Server{
		Handler:           teacher.NewHandler(t, []string{model}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	base := "http://" + ln.Addr().String() + "/v1"
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "distill serve: %s teacher as model %q at %s (Ctrl-C stops)\n", serveTeacherName(opts.Teacher), model, base)
	warnIfExposed(out, "serve", ln.Addr())
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
		dir := strings.TrimPrefix(spec, "local:")
		if localTeacher == nil {
			return nil, "", fmt.Errorf("serve: --teacher %s: local checkpoint teachers are not available in this build", spec)
		}
		t, err := localTeacher(dir)
		if err != nil {
			return nil, "", fmt.Errorf("serve: --teacher %s: %w", spec, err)
		}
		model := opts.Model
		if model == "" {
			model = filepath.Base(filepath.Clean(dir))
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
