package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/distill-dev/distill/internal/repotest"
)

const (
	rsRight = `"<think>\n2 + 3 = 5\n</think>\n\n\\boxed{5}"`
	rsWrong = `"<think>\n2 + 3 = 6\n</think>\n\n\\boxed{6}"`
)

// TestRewardServerAPI checks every route of the handler, scores and errors.
func TestRewardServerAPI(t *testing.T) {
	srv := httptest.NewServer(rewardHandler())
	defer srv.Close()
	item := func(completion, reference string) string {
		return `{"prompt": "What is 2 + 3?", "completion": ` + completion + `, "reference": "` + reference + `", "task": "builtin:arith"}`
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string // the JSON answer, or a substring of the error
	}{
		{"weighted batch", "POST", "/v1/rewards",
			`{"rewards": {"accuracy": 1.0, "format": 0.2}, "items": [` + item(rsRight, "5") + `, ` + item(rsWrong, "5") + `]}`,
			200, `{"rewards": {"accuracy": [1, 0], "format": [1, 1]}, "total": [1.2, 0.2]}`},
		{"accuracy by default; an unparseable reference gets nothing", "POST", "/v1/rewards",
			`{"items": [` + item(rsRight, "5") + `, ` + item(rsRight, "five-ish") + `, ` + item(rsRight, "") + `]}`,
			200, `{"rewards": {"accuracy": [1, 0, 0]}, "total": [1, 0, 0]}`},
		{"zero weights are dropped", "POST", "/v1/rewards",
			`{"rewards": {"accuracy": 1, "language": 0}, "items": [` + item(rsRight, "5") + `]}`,
			200, `{"rewards": {"accuracy": [1]}, "total": [1]}`},
		{"optional fields left out: math verifier, stop, unknown lengths", "POST", "/v1/rewards",
			`{"rewards": {"accuracy": 1, "format": 1, "length": 1}, "items": [{"completion": "<think>\nx\n</think>\n\n\\boxed{\\frac{1}{2}}", "reference": "0.5"}]}`,
			200, `{"rewards": {"accuracy": [1], "format": [1], "length": [0]}, "total": [2]}`},
		{"length with a budget", "POST", "/v1/rewards",
			`{"rewards": {"length": 1}, "items": [{"completion": "x", "completion_tokens": 90, "max_tokens": 100}, {"completion": "x", "finish_reason": "length", "max_tokens": 100}]}`,
			200, `{"rewards": {"length": [-0.6, -1]}, "total": [-0.6, -1]}`},
		{"empty batch", "POST", "/v1/rewards", `{"items": []}`, 200, `{"rewards": {"accuracy": []}, "total": []}`},
		{"names", "GET", "/v1/rewards", "", 200, `{"rewards": ["accuracy", "format", "language", "length"]}`},
		{"health", "GET", "/healthz", "", 200, `{"status": "ok"}`},
		{"unknown reward", "POST", "/v1/rewards", `{"rewards": {"acuracy": 1}, "items": []}`, 400, `reward \"acuracy\": unknown reward (have accuracy, format`},
		{"all weights zero", "POST", "/v1/rewards", `{"rewards": {"accuracy": 0}, "items": []}`, 400, "no reward with a non-zero weight"},
		{"malformed JSON", "POST", "/v1/rewards", `{"items": [`, 400, "request body: unexpected EOF"},
		{"unknown field", "POST", "/v1/rewards", `{"items": [{"completion": "x", "referance": "5"}]}`, 400, `unknown field \"referance\"`},
		{"no items", "POST", "/v1/rewards", `{"rewards": {"accuracy": 1}}`, 400, `no \"items\"`},
		{"two values", "POST", "/v1/rewards", `{"items": []} {}`, 400, "more than one JSON value"},
		{"negative count", "POST", "/v1/rewards", `{"items": [{"completion": "x", "max_tokens": -1}]}`, 400, "items[0]: completion_tokens 0 and max_tokens -1 must be ≥ 0"},
		{"wrong method", "DELETE", "/v1/rewards", "", 405, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.status != 200 {
			if !strings.Contains(string(body), tc.want) || bytes.Count(bytes.TrimSpace(body), []byte("\n")) != 0 {
				t.Errorf("%s: %s, want one line containing %q", tc.name, body, tc.want)
			}
			continue
		}
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, body)
		}
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(roundFloats(got), roundFloats(want)) {
			t.Errorf("%s: got %s, want %s", tc.name, body, tc.want)
		}
	}
}

// roundFloats rounds the numbers of a decoded JSON value to 1e-9, so that
// 1.2 from 1 + 0.2·1 compares equal.
func roundFloats(v any) any {
	switch x := v.(type) {
	case float64:
		return math.Round(x*1e9) / 1e9
	case []any:
		for i := range x {
			x[i] = roundFloats(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = roundFloats(x[k])
		}
	}
	return v
}

// TestRewardServerFromPython starts the real server on a loopback port and
// calls it through python/distill_reward.py from the venv, as TRL's reward
// functions and verl's compute_score do; then stops it with the context.
func TestRewardServerFromPython(t *testing.T) {
	py := repotest.Python(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- runRewardServer(ctx, RewardServerOptions{Addr: "127.0.0.1:0", Out: &out, Listening: func(u string) { urls <- u }})
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("runRewardServer: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	if !strings.Contains(out.String(), base+"/v1/rewards") {
		t.Errorf("printed %q, want the URL %s/v1/rewards", out.String(), base)
	}

	cmd := exec.CommandContext(ctx, py, repotest.Path(t, "python/check_distill_reward.py"))
	cmd.Env = append(os.Environ(), "DISTILL_REWARD_URL="+base)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("check_distill_reward.py: %v\n%s", err, stderr.String())
	}
	var got struct {
		Names            []string  `json:"names"`
		TRLAccuracy      []float64 `json:"trl_accuracy"`
		TRLFormat        []float64 `json:"trl_format"`
		TRLLength        []float64 `json:"trl_length"`
		TRLConvAccuracy  []float64 `json:"trl_conv_accuracy"`
		TRLConvFormat    []float64 `json:"trl_conv_format"`
		Verl             []float64 `json:"verl"`
		VerlWeighted     float64   `json:"verl_weighted"`
		Error            string    `json:"error"`
		MissingReference string    `json:"missing_reference"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"TRL function names", got.Names, []string{"accuracy", "format", "length"}},
		// right, wrong, unparseable reference
		{"TRL accuracy", got.TRLAccuracy, []float64{1, 0, 0}},
		// the third used all 8 tokens of max_tokens: cut off
		{"TRL format", got.TRLFormat, []float64{1, 1, 0}},
		{"TRL length", got.TRLLength, []float64{0, 0, -1}},
		{"TRL conversational accuracy", got.TRLConvAccuracy, []float64{1, 0}},
		{"TRL conversational format (reasoning_content put back)", got.TRLConvFormat, []float64{1, 1}},
		// right, wrong, unparseable reference, and math without extra_info
		{"verl compute_score", got.Verl, []float64{1, 0, 0, 1}},
		{"verl weighted", roundFloats(got.VerlWeighted), 1.2},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if !strings.Contains(got.Error, `400: rewards: reward "acuracy": unknown reward`) {
		t.Errorf("unknown reward raised %q, want the server's message", got.Error)
	}
	if !strings.Contains(got.MissingReference, "no `reference` column") {
		t.Errorf("missing reference column raised %q", got.MissingReference)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runRewardServer after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop on cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestRewardServerBadAddr(t *testing.T) {
	err := runRewardServer(context.Background(), RewardServerOptions{Addr: "127.0.0.1:99999", Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "reward-server: --addr 127.0.0.1:99999") {
		t.Errorf("got %v, want an error naming --addr", err)
	}
}

// A batch larger than GOMAXPROCS comes back in the order it was sent.
func TestRewardServerBatchOrder(t *testing.T) {
	srv := httptest.NewServer(rewardHandler())
	defer srv.Close()
	var items []string
	var want []float64
	for i := range 500 {
		items = append(items, fmt.Sprintf(`{"completion": "\\boxed{3}", "reference": "%d", "task": "gsm8k"}`, i%7))
		score := 0.0
		if i%7 == 3 {
			score = 1
		}
		want = append(want, score)
	}
	resp, err := http.Post(srv.URL+"/v1/rewards", "application/json", strings.NewReader(`{"items": [`+strings.Join(items, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got rewardResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Total, want) || !reflect.DeepEqual(got.Rewards["accuracy"], want) {
		t.Errorf("scores out of order: %v", got.Total[:20])
	}
}
