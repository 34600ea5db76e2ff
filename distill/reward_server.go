package distill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/record"
)

// RewardServerOptions are the options of `distill reward-server`.
type RewardServerOptions struct {
	Addr     string // listen address; loopback by default
	Timeouts HTTPTimeouts

	// Out receives the "serving at" line; nil means stdout.
	Out io.Writer
	// Listening, if set, is called with the base URL (http://HOST:PORT)
	// once the listener is bound, so tests can use port 0.
	Listening func(baseURL string)
}

// DefaultRewardServerAddr is where the reward server listens, and where
// python/distill_reward.py looks for it, unless told otherwise.
const DefaultRewardServerAddr = "127.0.0.1:8377"

// rewardMaxBody bounds a request: a batch of 1024 completions of 32k tokens
// is about 128 MiB of text.
const rewardMaxBody = 256 << 20

func init() {
	register(&cli.Command{
		Name:      "reward-server",
		Usage:     "serve distill's reward functions over HTTP, so TRL's and verl's GRPO reward with distill's verifiers",
		UsageText: "distill reward-server [--addr 127.0.0.1:8377]",
		Description: `Serves the registered rewards (` + strings.Join(reward.Names(), ", ") + `) on a loopback
address until Ctrl-C. python/distill_reward.py is the client the TRL and verl jobs import.

  POST /v1/rewards  {"rewards": {"accuracy": 1, "format": 0.2},
                     "items": [{"prompt": "...", "completion": "...", "reference": "...", "task": "math",
                                "finish_reason": "stop", "completion_tokens": 12, "max_tokens": 256}]}
                 →  {"rewards": {"accuracy": [1], "format": [1]}, "total": [1.2]}
  GET  /v1/rewards  the reward names;  GET /healthz  ok

"rewards" defaults to {"accuracy": 1}; zero weights are dropped, as in distill rl. Item fields may
be left out: task defaults to math's verifier, finish_reason to stop, completion_tokens and
max_tokens to 0 (unknown: the length reward is then 0, or -1 for a cut-off with a known max_tokens).
An unparseable reference gets no accuracy reward. Errors are 400 {"error": "..."}.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "addr", Value: DefaultRewardServerAddr, Usage: "listen address (loopback by default; port 0 picks a free one)"},
		}, httpTimeoutFlags()...),
		Action: func(c *cli.Context) error {
			return runRewardServer(c.Context, RewardServerOptions{Addr: c.String("addr"), Timeouts: httpTimeoutsFrom(c)})
		},
	})
}

// runRewardServer serves until ctx is cancelled, then shuts down cleanly.
func runRewardServer(ctx context.Context, opts RewardServerOptions) error {
	if opts.Addr == "" {
		opts.Addr = DefaultRewardServerAddr
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("reward-server: --addr %s: %w", opts.Addr, err)
	}
	srv := newHTTPServer(rewardHandler(), opts.Timeouts)
	base := "http://" + ln.Addr().String()
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "distill reward-server: rewards %s at %s/v1/rewards (Ctrl-C stops)\n", strings.Join(reward.Names(), ", "), base)
	warnIfExposed(out, "reward-server", ln.Addr())
	if opts.Listening != nil {
		opts.Listening(base)
	}
	if err := serveUntil(ctx, srv, ln, 10*time.Second); err != nil {
		return fmt.Errorf("reward-server: %w", err)
	}
	return nil
}

// rewardRequest is the body of POST /v1/rewards.
type rewardRequest struct {
	Rewards map[string]float64 `json:"rewards"`
	Items   []rewardItem       `json:"items"`
}

// rewardItem is one completion to score.
type rewardItem struct {
	Prompt           string `json:"prompt"`
	Completion       string `json:"completion"`
	Reference        string `json:"reference"`
	Task             string `json:"task"`
	FinishReason     string `json:"finish_reason"`
	CompletionTokens int    `json:"completion_tokens"`
	MaxTokens        int    `json:"max_tokens"`
}

// rewardResponse has one score per item for each reward in use, and their
// weighted sum.
type rewardResponse struct {
	Rewards map[string][]float64 `json:"rewards"`
	Total   []float64            `json:"total"`
}

func rewardHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /v1/rewards", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"rewards": reward.Names()})
	})
	mux.HandleFunc("POST /v1/rewards", func(w http.ResponseWriter, r *http.Request) {
		req, ws, err := rewardDecode(http.MaxBytesReader(w, r.Body, rewardMaxBody))
		if err != nil {
			status := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				status = http.StatusRequestEntityTooLarge
			}
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		resp, err := rewardScore(r.Context(), ws, req.Items)
		if err != nil {
			return // the client went away
		}
		writeJSON(w, http.StatusOK, resp)
	})
	return mux
}

// rewardDecode reads and checks a request: strict JSON (an unknown field is
// an error, not a silently missing reward), known reward names, counts ≥ 0.
func rewardDecode(body io.Reader) (*rewardRequest, []reward.Weighted, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req rewardRequest
	if err := dec.Decode(&req); err != nil {
		return nil, nil, fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("request body: more than one JSON value")
	}
	if req.Items == nil {
		return nil, nil, errors.New(`request body: no "items"`)
	}
	if len(req.Rewards) == 0 {
		req.Rewards = reward.Default()
	}
	ws, err := reward.Resolve(req.Rewards)
	if err != nil {
		return nil, nil, err
	}
	for i, it := range req.Items {
		if it.CompletionTokens < 0 || it.MaxTokens < 0 {
			return nil, nil, fmt.Errorf("items[%d]: completion_tokens %d and max_tokens %d must be ≥ 0", i, it.CompletionTokens, it.MaxTokens)
		}
	}
	return &req, ws, nil
}

// rewardScore scores the items on up to GOMAXPROCS goroutines.
func rewardScore(ctx context.Context, ws []reward.Weighted, items []rewardItem) (*rewardResponse, error) {
	resp := &rewardResponse{Rewards: map[string][]float64{}, Total: make([]float64, len(items))}
	per := make([][]float64, len(ws))
	for k, w := range ws {
		per[k] = make([]float64, len(items))
		resp.Rewards[w.Name] = per[k]
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Go(func() {
			scores := make([]float64, len(ws))
			for i := int(next.Add(1)) - 1; i < len(items) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				s := items[i].sample()
				resp.Total[i] = reward.Score(ws, &s, scores)
				for k, v := range scores {
					per[k][i] = v
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return resp, nil
}

// sample is the item as the reward functions see it.
func (it *rewardItem) sample() reward.Sample {
	fr := it.FinishReason
	if fr == "" {
		fr = "stop"
	}
	return reward.Sample{
		Prompt:       record.Prompt{Problem: it.Prompt, Answer: it.Reference, Task: it.Task},
		Content:      it.Completion,
		FinishReason: fr,
		Tokens:       it.CompletionTokens,
		MaxTokens:    it.MaxTokens,
	}
}
